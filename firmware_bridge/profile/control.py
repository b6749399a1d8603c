"""Control characteristic: one command per write (write with response).

Every command is ``opcode u8`` followed by its parameters, little-endian, and fits the
20-byte write of the default ATT MTU. The device answers each write with an
:class:`~firmware_bridge.profile.status.Ack` notification on the status characteristic.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import ClassVar

from firmware_bridge.profile.imu_packet import ACC_RANGE_G, GYR_RANGE_DPS
from firmware_bridge.profile.wire import U8, U16, U32, MalformedPacket, Reader

OP_START = 0x01
OP_STOP = 0x02
OP_SET_RATE = 0x03
OP_SET_RANGES = 0x04
OP_HAPTIC = 0x05
OP_TIME_SYNC = 0x06
OP_SET_PLACEMENT = 0x07
OP_BACKFILL = 0x08

HAPTIC_MAX_SEGMENTS = 8
"""Pattern entries per HAPTIC write: 3 + 2*8 = 19 bytes fits a 20-byte write."""
HAPTIC_MAX_SEGMENT_MS = 10_000
PLACEMENT_MAX_BYTES = 15
"""Longest placement; ``hipfirst-XXXX-`` + 15 = 29 characters, one scan-response field."""
PLACEMENT_RE = re.compile(r"[a-z0-9_]*")


def _reader(data: bytes | bytearray | memoryview, opcode: int, what: str) -> Reader:
    r = Reader(data, what)
    (op,) = r.take(U8)
    if op != opcode:
        raise r.error(f"opcode 0x{op:02x}, expected 0x{opcode:02x}")
    return r


@dataclass(frozen=True, slots=True)
class StartStream:
    """Start IMU notifications (the host must have subscribed first)."""

    OPCODE: ClassVar[int] = OP_START

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> StartStream:
        r = _reader(data, cls.OPCODE, "START")
        r.done()
        return cls()

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE])


@dataclass(frozen=True, slots=True)
class StopStream:
    """Stop IMU notifications; the sequence number keeps counting on the next start."""

    OPCODE: ClassVar[int] = OP_STOP

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> StopStream:
        r = _reader(data, cls.OPCODE, "STOP")
        r.done()
        return cls()

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE])


@dataclass(frozen=True, slots=True)
class SetRate:
    """Ask for a sample rate; the device picks its nearest and acks the period in µs."""

    rate_hz: int
    OPCODE: ClassVar[int] = OP_SET_RATE

    def __post_init__(self) -> None:
        if not 16 <= self.rate_hz <= 0xFFFF:
            raise MalformedPacket(f"SET_RATE: rate {self.rate_hz} Hz outside 16..65535")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SetRate:
        r = _reader(data, cls.OPCODE, "SET_RATE")
        (rate_hz,) = r.take(U16)
        r.done()
        return cls(rate_hz=rate_hz)

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE]) + U16.pack(self.rate_hz)


@dataclass(frozen=True, slots=True)
class SetRanges:
    """Set accel and gyro full-scale range codes (see ``imu_packet.ACC_RANGE_G``)."""

    acc_range: int
    gyr_range: int
    OPCODE: ClassVar[int] = OP_SET_RANGES

    def __post_init__(self) -> None:
        if self.acc_range not in ACC_RANGE_G:
            raise MalformedPacket(f"SET_RANGES: unknown accel range code {self.acc_range}")
        if self.gyr_range not in GYR_RANGE_DPS:
            raise MalformedPacket(f"SET_RANGES: unknown gyro range code {self.gyr_range}")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SetRanges:
        r = _reader(data, cls.OPCODE, "SET_RANGES")
        acc, gyr = r.take(struct.Struct("<BB"))
        r.done()
        return cls(acc_range=acc, gyr_range=gyr)

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE, self.acc_range, self.gyr_range])


@dataclass(frozen=True, slots=True)
class Haptic:
    """Play a vibration pattern: durations in ms alternating on, off, on, ... (starts on)."""

    intensity_pct: int
    pattern_ms: tuple[int, ...]
    OPCODE: ClassVar[int] = OP_HAPTIC

    def __post_init__(self) -> None:
        if not 0 <= self.intensity_pct <= 100:
            raise MalformedPacket(f"HAPTIC: intensity {self.intensity_pct}% outside 0..100")
        if not 1 <= len(self.pattern_ms) <= HAPTIC_MAX_SEGMENTS:
            raise MalformedPacket(
                f"HAPTIC: {len(self.pattern_ms)} pattern entries, need 1..{HAPTIC_MAX_SEGMENTS}"
            )
        for ms in self.pattern_ms:
            if not 0 <= ms <= HAPTIC_MAX_SEGMENT_MS:
                raise MalformedPacket(f"HAPTIC: duration {ms} ms outside 0..10000")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Haptic:
        r = _reader(data, cls.OPCODE, "HAPTIC")
        intensity, n = r.take(struct.Struct("<BB"))
        if n > HAPTIC_MAX_SEGMENTS:
            raise r.error(f"{n} pattern entries, at most {HAPTIC_MAX_SEGMENTS}")
        pattern = tuple(r.take(U16)[0] for _ in range(n))
        r.done()
        return cls(intensity_pct=intensity, pattern_ms=pattern)

    def __bytes__(self) -> bytes:
        n = len(self.pattern_ms)
        return bytes([self.OPCODE, self.intensity_pct, n]) + struct.pack(f"<{n}H", *self.pattern_ms)

    @property
    def total_ms(self) -> int:
        return sum(self.pattern_ms)


@dataclass(frozen=True, slots=True)
class TimeSync:
    """Time probe: the ack echoes ``token`` and stamps the device time when handled."""

    token: int
    OPCODE: ClassVar[int] = OP_TIME_SYNC

    def __post_init__(self) -> None:
        if not 0 <= self.token <= 0xFFFFFFFF:
            raise MalformedPacket(f"TIME_SYNC: token {self.token} outside u32")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> TimeSync:
        r = _reader(data, cls.OPCODE, "TIME_SYNC")
        (token,) = r.take(U32)
        r.done()
        return cls(token=token)

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE]) + U32.pack(self.token)


@dataclass(frozen=True, slots=True)
class SetPlacement:
    """Name where the sensor is worn (``lumbar``, ``sacrum``, ``thigh``, ...); empty clears."""

    name: str
    OPCODE: ClassVar[int] = OP_SET_PLACEMENT

    def __post_init__(self) -> None:
        if len(self.name) > PLACEMENT_MAX_BYTES or not PLACEMENT_RE.fullmatch(self.name):
            raise MalformedPacket(
                f"SET_PLACEMENT: {self.name!r} is not 0..{PLACEMENT_MAX_BYTES} of [a-z0-9_]"
            )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SetPlacement:
        r = _reader(data, cls.OPCODE, "SET_PLACEMENT")
        raw = r.rest()
        if len(raw) > PLACEMENT_MAX_BYTES:
            raise r.error(f"placement of {len(raw)} bytes, at most {PLACEMENT_MAX_BYTES}")
        try:
            name = raw.decode("ascii")
        except UnicodeDecodeError:
            raise r.error("placement is not ASCII") from None
        return cls(name=name)

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE]) + self.name.encode("ascii")


@dataclass(frozen=True, slots=True)
class Backfill:
    """Re-send up to ``count`` packets starting at ``from_seq`` from the device's buffer."""

    from_seq: int
    count: int
    OPCODE: ClassVar[int] = OP_BACKFILL

    def __post_init__(self) -> None:
        if not 0 <= self.from_seq <= 0xFFFF:
            raise MalformedPacket(f"BACKFILL: from_seq {self.from_seq} outside u16")
        if not 1 <= self.count <= 0xFF:
            raise MalformedPacket(f"BACKFILL: count {self.count} outside 1..255")

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Backfill:
        r = _reader(data, cls.OPCODE, "BACKFILL")
        from_seq, count = r.take(struct.Struct("<HB"))
        r.done()
        return cls(from_seq=from_seq, count=count)

    def __bytes__(self) -> bytes:
        return bytes([self.OPCODE]) + struct.pack("<HB", self.from_seq, self.count)


Command = (
    StartStream | StopStream | SetRate | SetRanges | Haptic | TimeSync | SetPlacement | Backfill
)

COMMANDS: dict[int, type[Command]] = {
    c.OPCODE: c
    for c in (StartStream, StopStream, SetRate, SetRanges, Haptic, TimeSync, SetPlacement, Backfill)
}


def decode_command(data: bytes | bytearray | memoryview) -> Command:
    """Decode one control write; raises :class:`MalformedPacket` for anything else."""
    r = Reader(data, "control write")
    (op,) = r.take(U8)
    cls = COMMANDS.get(op)
    if cls is None:
        raise r.error(f"unknown opcode 0x{op:02x}")
    return cls.from_bytes(data)
