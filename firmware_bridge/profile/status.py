"""Status characteristic: an :class:`Ack` per control write, :class:`DeviceState` on read,
a :class:`DeviceEvent` per button press.

The first byte says which: ``0x01`` ack, ``0x02`` state, ``0x03`` event.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from firmware_bridge.profile.control import PLACEMENT_MAX_BYTES, PLACEMENT_RE
from firmware_bridge.profile.imu_packet import ACC_RANGE_G
from firmware_bridge.profile.wire import U8, MalformedPacket, Reader

KIND_ACK = 0x01
KIND_STATE = 0x02
KIND_EVENT = 0x03

EVENT_BUTTON = 0x01
"""The sensor's button was pressed once (PROFILE.md: one event per debounced press)."""
CLICK_GAP_US = 500_000
"""Presses at most this far apart on the device clock are one click (PROFILE.md: hosts
group them: 1 press = single click, 2 = double, 3 = triple)."""

CAP_ACCEL_ONLY = 0x01
"""The device has no gyroscope."""
CAP_BACKFILL = 0x02
"""The device keeps recent packets and honours BACKFILL."""
CAP_HAPTIC = 0x04
"""The device has a vibration motor."""


class Result(IntEnum):
    OK = 0
    UNKNOWN_OPCODE = 1
    BAD_COMMAND = 2
    """Wrong length or a value out of range."""
    WRONG_STATE = 3
    """E.g. START while not subscribed, or while the MTU is too small for one sample."""
    UNAVAILABLE = 4
    """E.g. BACKFILL for packets no longer buffered."""
    UNSUPPORTED = 5
    """The device lacks the feature (no haptic motor, no backfill buffer)."""


ACK = struct.Struct("<BBBIQ")


@dataclass(frozen=True, slots=True)
class Ack:
    """Answer to one control write, 15 bytes.

    ``device_time_us`` is the device clock (64-bit µs, the low 32 bits are what IMU
    packets carry) when the command was handled. ``value`` depends on the opcode:
    TIME_SYNC echoes the token, SET_RATE gives the period in µs now used, BACKFILL
    the number of packets re-sent; otherwise 0.
    """

    opcode: int
    result: Result
    value: int = 0
    device_time_us: int = 0
    KIND: ClassVar[int] = KIND_ACK

    def __post_init__(self) -> None:
        if not 0 <= self.opcode <= 0xFF:
            raise MalformedPacket(f"ack: opcode {self.opcode} outside u8")
        if not 0 <= self.value <= 0xFFFFFFFF:
            raise MalformedPacket(f"ack: value {self.value} outside u32")
        if not 0 <= self.device_time_us < 1 << 64:
            raise MalformedPacket(f"ack: device_time_us {self.device_time_us} outside u64")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Ack:
        r = Reader(data, "status ack")
        kind, opcode, result, value, device_time_us = r.take(ACK)
        r.done()
        if kind != KIND_ACK:
            raise r.error(f"kind 0x{kind:02x}, expected 0x{KIND_ACK:02x}")
        try:
            res = Result(result)
        except ValueError:
            raise r.error(f"unknown result code {result}") from None
        return cls(opcode=opcode, result=res, value=value, device_time_us=device_time_us)

    def __bytes__(self) -> bytes:
        return ACK.pack(KIND_ACK, self.opcode, int(self.result), self.value, self.device_time_us)


STATE = struct.Struct("<BBHBBBHQB")


@dataclass(frozen=True, slots=True)
class DeviceState:
    """Snapshot returned by a read of the status characteristic (19 bytes + placement)."""

    streaming: bool
    period_us: int
    acc_range: int
    gyr_range: int
    capabilities: int
    next_seq: int
    device_time_us: int
    placement: str = ""
    KIND: ClassVar[int] = KIND_STATE

    def __post_init__(self) -> None:
        if not 1 <= self.period_us <= 0xFFFF:
            raise MalformedPacket(f"state: period_us {self.period_us} outside 1..65535")
        if self.acc_range not in ACC_RANGE_G or not 0 <= self.gyr_range <= 0xFF:
            raise MalformedPacket(f"state: bad range codes {self.acc_range}/{self.gyr_range}")
        if not 0 <= self.capabilities <= 0xFF or not 0 <= self.next_seq <= 0xFFFF:
            raise MalformedPacket("state: capabilities or next_seq out of range")
        if not 0 <= self.device_time_us < 1 << 64:
            raise MalformedPacket(f"state: device_time_us {self.device_time_us} outside u64")
        if len(self.placement) > PLACEMENT_MAX_BYTES or not PLACEMENT_RE.fullmatch(self.placement):
            raise MalformedPacket(f"state: placement {self.placement!r} not [a-z0-9_]{{0,15}}")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> DeviceState:
        r = Reader(data, "status state")
        kind, streaming, period_us, acc, gyr, caps, next_seq, t_us, n = r.take(STATE)
        if kind != KIND_STATE:
            raise r.error(f"kind 0x{kind:02x}, expected 0x{KIND_STATE:02x}")
        if streaming > 1:
            raise r.error(f"streaming byte {streaming}, expected 0 or 1")
        raw = r.take_bytes(n)
        r.done()
        try:
            placement = raw.decode("ascii")
        except UnicodeDecodeError:
            raise r.error("placement is not ASCII") from None
        return cls(
            streaming=bool(streaming),
            period_us=period_us,
            acc_range=acc,
            gyr_range=gyr,
            capabilities=caps,
            next_seq=next_seq,
            device_time_us=t_us,
            placement=placement,
        )

    def __bytes__(self) -> bytes:
        name = self.placement.encode("ascii")
        head = STATE.pack(
            KIND_STATE,
            int(self.streaming),
            self.period_us,
            self.acc_range,
            self.gyr_range,
            self.capabilities,
            self.next_seq,
            self.device_time_us,
            len(name),
        )
        return head + name


EVENT = struct.Struct("<BBHQ")


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something that happened on the device (notify, 12 bytes): ``kind u8, event u8,
    count u16, device_time_us u64``. For ``EVENT_BUTTON``: one per press, ``count`` the
    presses since boot (wraps), ``device_time_us`` the device clock at the press."""

    event: int
    count: int
    device_time_us: int
    KIND: ClassVar[int] = KIND_EVENT

    def __post_init__(self) -> None:
        if self.event != EVENT_BUTTON:
            raise MalformedPacket(f"event: unknown event code {self.event}")
        if not 0 <= self.count <= 0xFFFF:
            raise MalformedPacket(f"event: count {self.count} outside u16")
        if not 0 <= self.device_time_us < 1 << 64:
            raise MalformedPacket(f"event: device_time_us {self.device_time_us} outside u64")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> DeviceEvent:
        r = Reader(data, "status event")
        kind, event, count, t_us = r.take(EVENT)
        r.done()
        if kind != KIND_EVENT:
            raise r.error(f"kind 0x{kind:02x}, expected 0x{KIND_EVENT:02x}")
        if event != EVENT_BUTTON:
            raise r.error(f"unknown event code {event}")
        return cls(event=event, count=count, device_time_us=t_us)

    def __bytes__(self) -> bytes:
        return EVENT.pack(KIND_EVENT, self.event, self.count, self.device_time_us)


StatusMessage = Ack | DeviceState | DeviceEvent


def decode_status(data: bytes | bytearray | memoryview) -> StatusMessage:
    """Decode a status read or notification by its kind byte."""
    r = Reader(data, "status")
    (kind,) = r.take(U8)
    if kind == KIND_ACK:
        return Ack.from_bytes(data)
    if kind == KIND_STATE:
        return DeviceState.from_bytes(data)
    if kind == KIND_EVENT:
        return DeviceEvent.from_bytes(data)
    raise r.error(f"unknown kind 0x{kind:02x}")
