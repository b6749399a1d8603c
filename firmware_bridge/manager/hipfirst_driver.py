"""Driver for sensors speaking hipfirst's own GATT profile (``firmware_bridge/PROFILE.md``).

Button: the sensor sends one status event per press (device clock at the press, press
count). The driver groups presses at most ``CLICK_GAP_US`` apart on the device clock into
one click, as PROFILE.md says hosts do: 1 press = single, 2 = double, 3 or more = triple
click. A click is handed to ``on_button`` (a :class:`ButtonClick`, like the Movella DOT
driver's presses) once ``click_wait_s`` (host seconds) pass without another press, so a
single click acts ~0.7 s after it was pressed; its ``host_s`` is the arrival of the first
press. Malformed status notifications are counted (``bad_status``) and dropped.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from bleak import BleakClient

from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, Probe, SensorDriver, StreamInfo
from firmware_bridge.profile import (
    Ack,
    Haptic,
    ImuPacket,
    MalformedPacket,
    Result,
    SetRate,
    StartStream,
    StopStream,
    TimeSync,
    decode_status,
    parse_local_name,
    uuids,
)
from firmware_bridge.profile.control import Command
from firmware_bridge.profile.imu_packet import (
    BACKFILL,
    GAP_BEFORE,
    SEQ_MODULO,
    TIME_MODULO_US,
    acc_lsb_g,
    gyr_lsb_dps,
)
from firmware_bridge.profile.status import CLICK_GAP_US, DeviceEvent, DeviceState

ACK_TIMEOUT_S = 3.0
CLICK_WAIT_S = 0.7
"""Host seconds after the newest press before a click is final (no further press came)."""
MAX_CLICKS = 3


@dataclass(frozen=True, slots=True)
class ButtonClick:
    clicks: int
    """1, 2 or 3 (single, double, triple or more presses)."""
    device_time_us: int
    """The sensor's clock at the first press (µs)."""
    host_s: float
    """The driver's clock when the first press arrived."""
    count: int
    """The sensor's press counter at the last press (u16, since boot)."""

    @property
    def device_ms(self) -> int:
        return self.device_time_us // 1000


class _Presses:
    """Presses of one click still open for more."""

    def __init__(self, ev: DeviceEvent, host_s: float, n: int) -> None:
        self.first_us = self.last_us = ev.device_time_us
        self.host_s = host_s
        self.presses = n
        self.count = ev.count


class HipfirstDriver(SensorDriver):
    kind: ClassVar[str] = "hipfirst"
    seq_modulo: ClassVar[int | None] = SEQ_MODULO
    time_modulo_us: ClassVar[int | None] = TIME_MODULO_US
    supports_probe: ClassVar[bool] = True

    def __init__(self) -> None:
        self._pending: asyncio.Future[tuple[Ack, float]] | None = None
        self._pending_opcode = -1
        self._lock = asyncio.Lock()
        self._clock: Clock | None = None
        self._tokens = itertools.count(1)
        self.bad_status = 0
        """Malformed status notifications (acks, events) dropped."""
        self.on_button: Callable[[ButtonClick], None] | None = None
        self.click_wait_s = CLICK_WAIT_S
        self.clicks: list[ButtonClick] = []
        self.repeated_events = 0
        """Button events with the press count of the previous one (dropped)."""
        self._last_count: int | None = None
        self._open: _Presses | None = None
        self._click_timer: asyncio.TimerHandle | None = None

    @property
    def malformed_events(self) -> int:
        return self.bad_status

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        return uuids.SENSOR_SERVICE in [u.lower() for u in service_uuids] or (
            parse_local_name(name) is not None
        )

    @classmethod
    def advertised_placement(cls, name: str | None) -> str | None:
        parsed = parse_local_name(name)
        return parsed.placement if parsed else None

    # -- control with acks ----------------------------------------------------
    def _on_status(self, _char: object, data: bytearray) -> None:
        arrival = self._clock() if self._clock else 0.0
        try:
            msg = decode_status(data)
        except MalformedPacket:
            self.bad_status += 1
            return
        if isinstance(msg, DeviceEvent):
            self._on_press(msg, arrival)
            return
        fut = self._pending
        if (
            isinstance(msg, Ack)
            and fut is not None
            and not fut.done()
            and msg.opcode == self._pending_opcode
        ):
            fut.set_result((msg, arrival))

    # -- button ---------------------------------------------------------------
    def _on_press(self, ev: DeviceEvent, arrival: float) -> None:
        """One press event: join the open click if close enough on the device clock."""
        n = 1
        if self._last_count is not None:
            n = (ev.count - self._last_count) % 0x10000
            if n == 0:
                self.repeated_events += 1
                return
            if n > MAX_CLICKS:  # presses while away, or the sensor restarted: this one
                n = 1
        self._last_count = ev.count
        group = self._open
        gap_us = None if group is None else (ev.device_time_us - group.last_us) % (1 << 32)
        if group is not None and gap_us is not None and gap_us <= CLICK_GAP_US:
            group.presses += n
            group.last_us = ev.device_time_us
            group.count = ev.count
        else:
            self._close_click()
            self._open = _Presses(ev, arrival, n)
        if self._click_timer is not None:
            self._click_timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to wait in: final now
            self._close_click()
            return
        self._click_timer = loop.call_later(self.click_wait_s, self._close_click)

    def _close_click(self) -> None:
        group, self._open = self._open, None
        if self._click_timer is not None:
            self._click_timer.cancel()
            self._click_timer = None
        if group is None:
            return
        click = ButtonClick(
            clicks=min(group.presses, MAX_CLICKS),
            device_time_us=group.first_us,
            host_s=group.host_s,
            count=group.count,
        )
        self.clicks.append(click)
        if self.on_button is not None:
            self.on_button(click)

    async def _command(self, client: BleakClient, command: Command) -> tuple[Ack, float, float]:
        """Write one command, wait for its ack: (ack, host clock before write, at ack)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._pending = loop.create_future()
            self._pending_opcode = command.OPCODE
            sent = self._clock() if self._clock else 0.0
            try:
                await client.write_gatt_char(uuids.CONTROL, bytes(command), response=True)
                async with asyncio.timeout(ACK_TIMEOUT_S):
                    ack, arrival = await self._pending
            except TimeoutError as exc:
                raise BridgeError(
                    f"{client.address}: no answer to {type(command).__name__} within "
                    f"{ACK_TIMEOUT_S:g} s; switch the sensor off and on"
                ) from exc
            finally:
                self._pending = None
            return ack, sent, arrival

    async def _expect_ok(self, client: BleakClient, command: Command) -> Ack:
        ack, _, _ = await self._command(client, command)
        if ack.result != Result.OK:
            raise BridgeError(
                f"{client.address}: sensor refused {type(command).__name__} "
                f"({ack.result.name}); check its firmware matches PROFILE.md version 1"
            )
        return ack

    # -- stream ---------------------------------------------------------------
    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        self._clock = clock
        self._last_count = None  # presses made while away were never sent
        if client.mtu_size - 3 < 12 + 12:
            raise BridgeError(
                f"{client.address}: ATT MTU {client.mtu_size} is too small for six-axis "
                "samples (needs 27); update the adapter's firmware or the sensor's"
            )
        await client.start_notify(uuids.STATUS, self._on_status)
        try:
            state = DeviceState.from_bytes(await client.read_gatt_char(uuids.STATUS))
        except MalformedPacket as exc:  # a garbled read: the link retries the connection
            raise BridgeError(f"{client.address}: sensor state unreadable: {exc}") from exc
        ack = await self._expect_ok(client, SetRate(rate_hz=max(16, min(0xFFFF, round(rate_hz)))))
        await client.start_notify(uuids.IMU_DATA, lambda _c, data: on_data(bytes(data)))
        await self._expect_ok(client, StartStream())
        return StreamInfo(
            period_us=float(ack.value or state.period_us),
            accel_only=bool(state.capabilities & 0x01),
            device_time_us=state.device_time_us,
        )

    async def stop(self, client: BleakClient) -> None:
        self._close_click()  # a click still waiting for more presses is final now
        if client.is_connected:
            await self._command(client, StopStream())

    async def haptic(
        self, client: BleakClient, *, intensity_pct: int, pattern_ms: tuple[int, ...]
    ) -> bool:
        """HAPTIC on the control characteristic (PROFILE.md); True once the sensor acked it.
        A sensor without a motor answers UNSUPPORTED, which is False, not an error."""
        ack, _, _ = await self._command(
            client, Haptic(intensity_pct=intensity_pct, pattern_ms=pattern_ms)
        )
        return ack.result == Result.OK

    async def probe(self, client: BleakClient, clock: Clock) -> Probe | None:
        token = next(self._tokens) & 0xFFFFFFFF
        ack, sent, arrival = await self._command(client, TimeSync(token=token))
        if ack.result != Result.OK or ack.value != token:
            return None
        return Probe(sent, ack.device_time_us, arrival)

    def decode(self, data: bytes) -> Frame:
        p = ImuPacket.from_bytes(data)
        acc = np.asarray(p.acc_raw, dtype=float) * acc_lsb_g(p.acc_range)
        gyr = None if p.gyr_raw is None else np.asarray(p.gyr_raw, float) * gyr_lsb_dps(p.gyr_range)
        return Frame(
            t0_us=p.t0_us,
            period_us=float(p.period_us),
            acc_g=acc,
            gyr_dps=gyr,
            seq=p.seq,
            gap_before=bool(p.flags & GAP_BEFORE),
            backfill=bool(p.flags & BACKFILL),
        )
