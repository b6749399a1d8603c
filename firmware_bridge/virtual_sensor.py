"""A virtual hipfirst sensor: a Bumble GATT peripheral implementing PROFILE.md.

It advertises on a :class:`~firmware_bridge.virtual_link.VirtualLink`, serves the
Battery and Device Information services, obeys control writes and, while
streaming, notifies IMU packets fed from a :class:`SampleSource` in real time or
``speed`` times faster. The source's clock runs from :meth:`VirtualSensor.start`
whether or not anyone listens, like a worn sensor: samples taken while not
streaming are never sent. With ``source_from_start=True`` the source (and the
device clock with it) instead restarts at the first START, so the whole source
is streamed from its first sample (handy for replaying a session end to end).
With ``wait_for_go=True`` the wearer stands still (the source's first sample) until
:meth:`VirtualSensor.go`, as a lifter waits for the app to say it is ready.

Tests reach in through the fault hooks (:meth:`corrupt_next`, :meth:`drop_link`,
:meth:`notify_status`), the button (:meth:`press_button`) and the records
(:attr:`haptic_log`, :attr:`commands`, :attr:`stats`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import math
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from bumble.device import Connection, Device
from bumble.hci import HCI_CONNECTION_TIMEOUT_ERROR

from firmware_bridge.profile import control, imu_packet, status
from firmware_bridge.profile.control import Command
from firmware_bridge.profile.imu_packet import BACKFILL, ImuPacket, max_samples, pack_samples
from firmware_bridge.profile.naming import local_name
from firmware_bridge.profile.status import Ack, DeviceState, Result
from firmware_bridge.profile.wire import MalformedPacket
from firmware_bridge.virtual_link.link import VirtualLink
from firmware_bridge.virtual_sensor_gatt import (
    advertising_data,
    build_gatt,
    scan_response_data,
)
from firmware_bridge.virtual_sensor_source import SampleSource

CorruptMode = Literal["truncate", "version"]


@dataclass
class SensorStats:
    packets_sent: int = 0
    samples_sent: int = 0
    packets_corrupted: int = 0
    backfill_packets_sent: int = 0
    connections: int = 0
    source_exhausted: bool = False


@dataclass(frozen=True)
class HapticEvent:
    """A HAPTIC command as the motor would have played it (host loop time)."""

    time_s: float
    command: control.Haptic


@dataclass
class _Clock:
    """Maps host loop time <-> source sample index k (k may run past the source if looping)."""

    source: SampleSource
    speed: float
    origin_s: float
    loop: bool
    cycle_s: float = field(init=False)
    device_cycle_s: float = field(init=False)

    def __post_init__(self) -> None:
        src = self.source
        self.cycle_s = src.duration_s + float(np.median(np.diff(src.time_s)))
        self.device_cycle_s = float(src.device_time_s[-1] - src.device_time_s[0]) + src.period_s

    def true_time(self, k: int) -> float:
        cycle, i = divmod(k, self.source.samples)
        return float(self.source.time_s[i]) + cycle * self.cycle_s

    def device_time(self, k: int) -> float:
        cycle, i = divmod(k, self.source.samples)
        return float(self.source.device_time_s[i]) + cycle * self.device_cycle_s

    def host_time(self, k: int) -> float:
        return self.origin_s + (self.true_time(k) - float(self.source.time_s[0])) / self.speed

    def true_now(self, now_s: float) -> float:
        return float(self.source.time_s[0]) + (now_s - self.origin_s) * self.speed

    def index_at(self, now_s: float) -> int:
        """First sample not yet taken at host time ``now_s``."""
        t = self.true_now(now_s) - float(self.source.time_s[0])
        cycle = max(0, math.floor(t / self.cycle_s))  # past the end: the clock runs on
        within = float(self.source.time_s[0]) + t - cycle * self.cycle_s
        i = int(np.searchsorted(self.source.time_s, within, side="left"))
        return cycle * self.source.samples + i

    def device_now_us(self, now_s: float) -> int:
        t = self.true_now(now_s)
        cycle = max(0, math.floor((t - float(self.source.time_s[0])) / self.cycle_s))
        if not self.loop:
            cycle = 0
        d = self.source.device_time_at(t - cycle * self.cycle_s) + cycle * self.device_cycle_s
        return max(0, round(d * 1e6))


def _retrieve(task: asyncio.Task[None]) -> None:
    """A stream that ends because the link went away is not an error worth a warning."""
    if not task.cancelled():
        task.exception()


class VirtualSensor:
    """One virtual sensor on a virtual link. ``await start()``, then scan for it with bleak."""

    def __init__(
        self,
        link: VirtualLink,
        source: SampleSource,
        *,
        speed: float = 1.0,
        placement: str | None = None,
        address: str | None = None,
        rssi_dbm: int = -50,
        battery_pct: int = 87,
        acc_range: int = 1,
        gyr_range: int = 2,
        max_latency_s: float = 0.050,
        backfill_packets: int = 256,
        loop_source: bool = False,
        source_from_start: bool = False,
        wait_for_go: bool = False,
        has_haptic: bool = True,
        firmware_revision: str = "1.0.0",
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if source.device_time_s[0] < 0:
            raise ValueError(f"{source.name}: device clock starts below 0 s")
        self.link = link
        self.source = source
        self.speed = speed
        self.placement = placement or ""
        self.accel_only = source.gyr_dps is None
        self.acc_range = acc_range
        self.gyr_range = gyr_range
        self.max_latency_s = max_latency_s
        self.loop_source = loop_source
        self.source_from_start = source_from_start
        self._source_started = False
        self._resume_index: int | None = None
        self.wait_for_go = wait_for_go
        self._go_index: int | None = None if wait_for_go else 0
        self.has_haptic = has_haptic
        self.battery_pct = battery_pct
        self.stats = SensorStats()
        self.haptic_log: list[HapticEvent] = []
        self.commands: list[Command] = []
        self.button_presses = 0
        """Presses since power-on (the button event's ``count``, before wrapping)."""
        self._decimation = 1
        self._seq = 0
        self._backfill: collections.OrderedDict[int, ImuPacket] = collections.OrderedDict()
        self._backfill_size = backfill_packets
        self._corrupt: collections.deque[CorruptMode] = collections.deque()
        self._connection: Connection | None = None
        self._imu_subscribed = False
        self._stream_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._advertise_after_s = 0.0
        self._closed = False
        self._hci_ops: set[asyncio.Future[None]] = set()
        self._clock: _Clock | None = None
        self._gatt = build_gatt(
            read_status=lambda _c: bytes(self.state()),
            on_control=self._on_control,
            read_battery_pct=lambda _c: self.battery_pct,
            firmware_revision=firmware_revision,
        )
        self.address = address or link.allocate_address()
        self.device: Device = link.add_device(
            name=self.local_name, address=self.address, rssi_dbm=rssi_dbm
        )
        self.device.add_services(self._gatt.services)
        self._gatt.imu.on("subscription", self._on_imu_subscription)
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        link.on_close(self.close)

    # -- identity ---------------------------------------------------------------

    @property
    def device_id(self) -> str:
        return self.address.replace(":", "")[-4:]

    @property
    def local_name(self) -> str:
        return local_name(address_tail=int(self.device_id, 16), placement=self.placement)

    @property
    def streaming(self) -> bool:
        return self._stream_task is not None and not self._stream_task.done()

    @property
    def period_us(self) -> int:
        return round(self.source.period_s * self._decimation * 1e6)

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def state(self) -> DeviceState:
        caps = status.CAP_BACKFILL if self._backfill_size else 0
        caps |= status.CAP_ACCEL_ONLY if self.accel_only else 0
        caps |= status.CAP_HAPTIC if self.has_haptic else 0
        return DeviceState(
            streaming=self.streaming,
            period_us=self.period_us,
            acc_range=self.acc_range,
            gyr_range=self.gyr_range,
            capabilities=caps,
            next_seq=self._seq,
            device_time_us=self.device_time_us(),
            placement=self.placement,
        )

    def device_time_us(self) -> int:
        if self._clock is None:
            return 0
        return self._clock.device_now_us(asyncio.get_running_loop().time())

    # -- life cycle -------------------------------------------------------------

    async def start(self) -> None:
        """Power on, start the source clock and advertise."""
        await self.device.power_on()
        self._restart_source_clock()
        self._source_started = False
        self._resume_index = None
        self._go_index = None if self.wait_for_go else 0
        await self._advertise()

    def go(self, at_s: float | None = None) -> None:
        """With ``wait_for_go``: the wearer, standing still meanwhile (the source's first
        sample), starts the source's movement at host loop time ``at_s`` (default now).
        The device clock runs on unbroken; only what the IMU reads starts over."""
        if self._clock is None or self._go_index is not None:
            return
        self._go_index = self._clock.index_at(
            asyncio.get_running_loop().time() if at_s is None else at_s
        )

    @property
    def waiting(self) -> bool:
        """Started with ``wait_for_go`` and :meth:`go` not called yet."""
        return self._go_index is None

    def _restart_source_clock(self) -> None:
        self._source_started = True
        self._resume_index = 0
        now = asyncio.get_running_loop().time()
        self._clock = _Clock(self.source, self.speed, now, self.loop_source)

    async def _advertise(self) -> None:
        if not self.device.powered_on:
            return
        await self.device.start_advertising(
            advertising_data=advertising_data(),
            scan_response_data=scan_response_data(self.local_name),
            advertising_interval_min=20,
            advertising_interval_max=20,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._imu_subscribed = False
        self.stats.connections += 1
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._imu_subscribed = False
        self._stop_stream()
        if self._closed or self.link.closing:
            return
        delay = self._advertise_after_s - asyncio.get_running_loop().time()
        self._spawn(self._advertise_later(max(0.0, delay)))

    async def _advertise_later(self, delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if self._connection is None and not self._closed and not self.link.closing:
            # Shielded: cancelling a task mid-HCI-command would orphan the controller's reply.
            op = asyncio.ensure_future(self._advertise())
            self._hci_ops.add(op)
            op.add_done_callback(self._hci_ops.discard)
            await asyncio.shield(op)

    def _on_imu_subscription(self, _bearer: object, notify: bool, _indicate: bool) -> None:
        self._imu_subscribed = notify

    # -- fault hooks --------------------------------------------------------------

    def corrupt_next(self, n: int, mode: CorruptMode = "truncate") -> None:
        """Make the next ``n`` IMU packets malformed (they still use up a sequence number)."""
        self._corrupt.extend([mode] * n)

    async def drop_link(self, seconds: float) -> None:
        """Lose the connection (as if out of range) and stay silent for ``seconds``."""
        self._advertise_after_s = asyncio.get_running_loop().time() + seconds
        if self.device.is_advertising:
            await self.device.stop_advertising()
        connection = self._connection
        if connection is not None:
            await connection.disconnect(reason=HCI_CONNECTION_TIMEOUT_ERROR)
        else:
            self._spawn(self._advertise_later(seconds))

    async def press_button(self, presses: int = 1, *, gap_s: float = 0.15) -> list[int]:
        """Press the button ``presses`` times, ``gap_s`` apart (on the device clock): one
        status event per press (PROFILE.md, Event 0x01: press count, device time at the
        press). Unconnected, presses count but nothing is sent. Returns the presses'
        device times in µs."""
        stamps = []
        for i in range(presses):
            if i:
                await asyncio.sleep(gap_s / self.speed)
            self.button_presses += 1
            t_us = self.device_time_us()
            stamps.append(t_us)
            event = status.DeviceEvent(
                event=status.EVENT_BUTTON, count=self.button_presses % 0x10000, device_time_us=t_us
            )
            await self.notify_status(bytes(event))
        return stamps

    async def notify_status(self, raw: bytes) -> None:
        """Notify ``raw`` on the status characteristic (to a subscribed host), e.g.
        hand-written or malformed event bytes."""
        if self._connection is not None:
            await self.device.notify_subscriber(self._connection, self._gatt.status, raw)

    async def set_battery(self, pct: int) -> None:
        self.battery_pct = pct
        if self._connection is not None:
            await self.device.notify_subscriber(self._connection, self._gatt.battery, pct)

    # -- control ------------------------------------------------------------------

    async def _on_control(self, connection: Connection, value: bytes) -> None:
        opcode = value[0] if value else 0
        if opcode not in control.COMMANDS:
            await self._ack(connection, Ack(opcode=opcode, result=Result.UNKNOWN_OPCODE))
            return
        try:
            command = control.decode_command(value)
        except MalformedPacket:
            await self._ack(connection, Ack(opcode=opcode, result=Result.BAD_COMMAND))
            return
        self.commands.append(command)
        result, ack_value = await self._apply(command, connection)
        await self._ack(connection, Ack(opcode=opcode, result=result, value=ack_value))

    async def _apply(self, command: Command, connection: Connection) -> tuple[Result, int]:
        match command:
            case control.StartStream():
                if not self._imu_subscribed:
                    return Result.WRONG_STATE, 0
                if max_samples(att_mtu=connection.att_mtu, accel_only=self.accel_only) < 1:
                    return Result.WRONG_STATE, 0
                if self.source_from_start and not self._source_started:
                    self._restart_source_clock()
                if not self.streaming:
                    self._stream_task = asyncio.ensure_future(self._stream(connection))
                    self._stream_task.add_done_callback(_retrieve)
                return Result.OK, 0
            case control.StopStream():
                self._stop_stream()
                return Result.OK, 0
            case control.SetRate(rate_hz=rate_hz):
                choices = [d for d in (1, 2, 4, 8, 16) if self.source.rate_hz / d >= 15.3]
                self._decimation = min(
                    choices, key=lambda d: abs(self.source.rate_hz / d - rate_hz)
                )
                return Result.OK, self.period_us
            case control.SetRanges(acc_range=acc, gyr_range=gyr):
                self.acc_range, self.gyr_range = acc, gyr
                return Result.OK, 0
            case control.Haptic():
                if not self.has_haptic:
                    return Result.UNSUPPORTED, 0
                now = asyncio.get_running_loop().time()
                self.haptic_log.append(HapticEvent(time_s=now, command=command))
                return Result.OK, 0
            case control.TimeSync(token=token):
                return Result.OK, token
            case control.SetPlacement(name=name):
                self.placement = name
                self.device.name = self.local_name
                return Result.OK, 0
            case control.Backfill(from_seq=from_seq, count=count):
                if not self._backfill_size:
                    return Result.UNSUPPORTED, 0
                sent = await self._resend(connection, from_seq, count)
                return (Result.OK if sent else Result.UNAVAILABLE), sent
        return Result.UNKNOWN_OPCODE, 0  # pragma: no cover - every command is matched above

    async def _ack(self, connection: Connection, ack: Ack) -> None:
        stamped = dataclasses.replace(ack, device_time_us=self.device_time_us())
        await self.device.notify_subscriber(connection, self._gatt.status, bytes(stamped))

    # -- streaming ----------------------------------------------------------------

    def _stop_stream(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    def _batch_size(self, connection: Connection) -> int:
        by_mtu = max_samples(att_mtu=connection.att_mtu, accel_only=self.accel_only)
        by_latency = max(1, math.floor(self.max_latency_s * 1e6 / self.period_us + 1e-9))
        return max(1, min(by_mtu, by_latency))

    async def _stream(self, connection: Connection) -> None:
        assert self._clock is not None
        clock = self._clock
        loop = asyncio.get_running_loop()
        k = clock.index_at(loop.time()) if self._resume_index is None else self._resume_index
        self._resume_index = None
        n_source = self.source.samples
        while True:
            step = self._decimation
            ks = [k + j * step for j in range(self._batch_size(connection))]
            if not self.loop_source and self._go_index is not None:
                ks = [i for i in ks if i - self._go_index < n_source]
                if not ks:
                    self.stats.source_exhausted = True
                    return
            # Behind schedule (CPU-bound at high speed-ups) still yields once per packet.
            await asyncio.sleep(max(0.0, clock.host_time(ks[-1]) - loop.time()))
            idx = self._source_index(np.asarray(ks))
            packet = pack_samples(
                seq=self._seq,
                t0_us=round(clock.device_time(ks[0]) * 1e6),
                period_us=self.period_us,
                acc_range=self.acc_range,
                gyr_range=self.gyr_range,
                acc_g=self.source.acc_g[idx],
                gyr_dps=None if self.source.gyr_dps is None else self.source.gyr_dps[idx],
            )
            self._seq = (self._seq + 1) % imu_packet.SEQ_MODULO
            self._remember(packet)
            await self._send(connection, packet)
            self.stats.samples_sent += packet.count
            k = ks[-1] + step

    def _source_index(self, ks: np.ndarray) -> np.ndarray:
        """Which source sample the IMU reads at clock index ``ks`` (the first one while
        waiting for :meth:`go`)."""
        if self._go_index is None:
            return np.zeros(len(ks), dtype=int)
        return np.maximum(ks - self._go_index, 0) % self.source.samples

    def _remember(self, packet: ImuPacket) -> None:
        if not self._backfill_size:
            return
        self._backfill.pop(packet.seq, None)
        self._backfill[packet.seq] = packet
        while len(self._backfill) > self._backfill_size:
            self._backfill.popitem(last=False)

    async def _send(self, connection: Connection, packet: ImuPacket) -> None:
        raw = bytes(packet)
        if self._corrupt:
            mode = self._corrupt.popleft()
            raw = raw[:-1] if mode == "truncate" else b"\xff" + raw[1:]
            self.stats.packets_corrupted += 1
        await self.device.notify_subscriber(connection, self._gatt.imu, raw)
        self.stats.packets_sent += 1

    async def _resend(self, connection: Connection, from_seq: int, count: int) -> int:
        sent = 0
        for i in range(count):
            packet = self._backfill.get((from_seq + i) % imu_packet.SEQ_MODULO)
            if packet is None:
                continue
            again = dataclasses.replace(packet, flags=packet.flags | BACKFILL)
            await self.device.notify_subscriber(connection, self._gatt.imu, bytes(again))
            sent += 1
        self.stats.backfill_packets_sent += sent
        return sent

    async def close(self) -> None:
        """Stop streaming and background tasks (the link powers the device off).

        The link calls this when it closes; calling it earlier is fine.
        """
        self._closed = True
        self._stop_stream()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*self._hci_ops, return_exceptions=True)
