"""Driver for the Movella DOT (see :mod:`.codec` for the specification it follows).

Start: set the output rate through device control (visit index b4) and read it back,
subscribe to the device report (button clicks) and the medium payload, then write "start,
rate quantities" to the measurement control (the spec's order: notifications first). One
sample per notification with the sensor's µs timestamp, which wraps at 2³²; the manager
unwraps it (``time_modulo_us``) and aligns it to the host clock like any device clock.

Button clicks (single/double/triple) arrive on the device report; they are handed to
``on_button`` (e.g. to mark the start or end of a set) with the host clock at arrival.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from bleak import BleakClient
from bleak.exc import BleakError

from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, SensorDriver, StreamInfo
from firmware_bridge.profile.wire import MalformedPacket

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ButtonPress:
    clicks: int
    """1, 2 or 3 (single, double, triple click)."""
    device_ms: int
    """The sensor's local clock at the first press (ms, wrapping at 2³²)."""
    host_s: float
    """The driver's clock when the report arrived (the device sends it after its cool-down:
    up to ~0.8 s after the last click)."""


class MovellaDotDriver(SensorDriver):
    kind: ClassVar[str] = "movella_dot"
    time_modulo_us: ClassVar[int | None] = codec.TIME_MODULO_US

    def __init__(self, *, on_button: Callable[[ButtonPress], None] | None = None) -> None:
        self.rate_hz = 60
        self.on_button = on_button
        self.button_presses: list[ButtonPress] = []
        self.bad_reports = 0
        self._clock: Clock | None = None

    @property
    def malformed_events(self) -> int:
        return self.bad_reports

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        uuids = [u.lower() for u in service_uuids]
        if codec.CONFIG_SERVICE in uuids or codec.MEASUREMENT_SERVICE in uuids:
            return True
        return bool(name and name.lower().startswith(("movella dot", "xsens dot")))

    # ------------------------------------------------------------------
    def _on_report(self, _char: object, data: bytearray) -> None:
        try:
            report = codec.decode_report(bytes(data))
        except MalformedPacket:
            self.bad_reports += 1
            return
        if report.kind != "button" or report.device_ms is None:
            log.info("Movella DOT report: %s", report.kind)
            return
        press = ButtonPress(report.clicks, report.device_ms, self._clock() if self._clock else 0.0)
        self.button_presses.append(press)
        if self.on_button is not None:
            self.on_button(press)

    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        self._clock = clock
        rate = codec.nearest_rate(rate_hz)
        try:
            current = bytes(await client.read_gatt_char(codec.DEVICE_CONTROL))
            await client.write_gatt_char(
                codec.DEVICE_CONTROL, codec.set_output_rate(current, rate), response=True
            )
            got = codec.output_rate(bytes(await client.read_gatt_char(codec.DEVICE_CONTROL)))
        except MalformedPacket as exc:
            raise BridgeError(
                f"{client.address}: Movella DOT device control not as specified ({exc}); "
                "update its firmware with the Movella DOT app"
            ) from exc
        if got != rate:
            raise BridgeError(
                f"{client.address}: Movella DOT kept output rate {got} Hz instead of {rate} Hz; "
                "stop any recording or sync in the Movella DOT app and reconnect"
            )
        self.rate_hz = rate
        with contextlib.suppress(BleakError):  # the report is optional for streaming
            await client.start_notify(codec.DEVICE_REPORT, self._on_report)
        await client.start_notify(codec.MEDIUM_PAYLOAD, lambda _c, d: on_data(bytes(d)))
        await client.write_gatt_char(
            codec.MEASUREMENT_CONTROL, codec.measurement(True), response=True
        )
        return StreamInfo(period_us=1e6 / rate, accel_only=False, model="Movella DOT")

    async def stop(self, client: BleakClient) -> None:
        if client.is_connected:
            await client.write_gatt_char(
                codec.MEASUREMENT_CONTROL, codec.measurement(False), response=True
            )
            with contextlib.suppress(BleakError):
                await client.stop_notify(codec.MEDIUM_PAYLOAD)

    async def read_battery(self, client: BleakClient) -> int | None:
        try:
            level, _charging = codec.decode_battery(
                bytes(await client.read_gatt_char(codec.BATTERY))
            )
        except MalformedPacket:
            return None
        return level

    def decode(self, data: bytes) -> Frame:
        ts, acc, gyr = codec.decode_rate_quantities(data)
        return Frame(t0_us=ts, period_us=1e6 / self.rate_hz, acc_g=acc[None, :],
                     gyr_dps=gyr[None, :])  # fmt: skip
