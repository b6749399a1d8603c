"""A virtual Movella DOT on the virtual BLE link, built from the specification (XD0506P).

Device control (32 bytes; visit-index writes change only the selected fields; the output
rate cannot change while measuring, as on the device), measurement control (readable:
type, started, mode), medium-payload "rate quantities" notifications zero-padded to 40
bytes with a µs clock that wraps at 2³², device report (button clicks through
:meth:`press_button`), battery (level, charging). Advertises as "Movella DOT".
"""

from __future__ import annotations

import asyncio

import numpy as np
from bumble import gatt
from bumble.device import Connection

from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.devices.twin_base import TwinBase
from firmware_bridge.profile.wire import MalformedPacket
from firmware_bridge.virtual_link import VirtualLink
from firmware_bridge.virtual_sensor_source import SampleSource

_P = gatt.Characteristic.Properties
_RW = gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE


class MovellaDotTwin(TwinBase):
    def __init__(
        self,
        link: VirtualLink,
        source: SampleSource,
        *,
        speed: float = 1.0,
        clock_start_us: int = (1 << 32) - 2_000_000,  # the µs clock wraps 2 s in
        battery_pct: int = 76,
    ) -> None:
        self.control = codec.DeviceControl(output_rate_hz=20)  # not the default 60
        self.measuring = False
        self.mode = codec.RATE_QUANTITIES
        self.device_control = gatt.Characteristic(
            codec.DEVICE_CONTROL, _P.READ | _P.WRITE, _RW,
            gatt.CharacteristicValue(read=lambda _c: bytes(self.control),
                                     write=self._on_device_control),
        )  # fmt: skip
        self.report = gatt.Characteristic(codec.DEVICE_REPORT, _P.NOTIFY,
                                          gatt.Characteristic.READABLE, b"")  # fmt: skip
        self.meas_control = gatt.Characteristic(
            codec.MEASUREMENT_CONTROL, _P.READ | _P.WRITE, _RW,
            gatt.CharacteristicValue(
                read=lambda _c: bytes([codec.MEASUREMENT, int(self.measuring), self.mode]),
                write=self._on_measurement),
        )  # fmt: skip
        self.payload = gatt.Characteristic(codec.MEDIUM_PAYLOAD, _P.NOTIFY,
                                           gatt.Characteristic.READABLE, b"")  # fmt: skip
        battery = gatt.Characteristic(
            codec.BATTERY, _P.READ | _P.NOTIFY, gatt.Characteristic.READABLE,
            bytes([battery_pct, 0]),
        )  # fmt: skip
        services = [
            gatt.Service(codec.CONFIG_SERVICE, [self.device_control, self.report]),
            gatt.Service(codec.MEASUREMENT_SERVICE, [self.meas_control, self.payload]),
            gatt.Service(codec.BATTERY_SERVICE, [battery]),
        ]
        super().__init__(link, source, name="Movella DOT", service_uuid=codec.CONFIG_SERVICE,
                         services=services, speed=speed)  # fmt: skip
        self.clock_start_us = clock_start_us
        self.measurement_writes: list[bytes] = []
        self.sent: list[tuple[int, np.ndarray, np.ndarray]] = []
        """(timestamp µs as sent, acc g, gyr °/s) of every notification."""
        self._origin_loop_s: float | None = None
        self._t0_us = clock_start_us

    @property
    def rate_hz(self) -> int:
        return self.control.output_rate_hz

    async def start(self) -> None:
        self._origin_loop_s = asyncio.get_running_loop().time()
        await super().start()

    def device_time_us(self) -> int:
        """The twin's free-running µs clock (unwrapped, before the 2³² wrap): at
        ``clock_start_us`` when the twin powers on, running ``speed`` times real time."""
        now = asyncio.get_running_loop().time()
        origin = now if self._origin_loop_s is None else self._origin_loop_s
        return self.clock_start_us + round((now - origin) * self.speed * 1e6)

    def _on_device_control(self, _c: Connection, value: bytes) -> None:
        try:
            req = codec.DeviceControl.from_bytes(bytes(value))
        except MalformedPacket:
            return  # the device ignores malformed writes
        cur = self.control
        rate, tag = cur.output_rate_hz, cur.tag
        rate_ok = req.output_rate_hz in codec.RATES_HZ and not self.measuring
        if req.visit_index & codec.VISIT_OUTPUT_RATE and rate_ok:
            rate = req.output_rate_hz
        if req.visit_index & codec.VISIT_TAG:
            tag = req.tag
        self.control = codec.DeviceControl(timeouts=cur.timeouts, tag=tag, output_rate_hz=rate,
                                           filter_index=cur.filter_index)  # fmt: skip

    def _on_measurement(self, _c: Connection, value: bytes) -> None:
        self.measurement_writes.append(bytes(value))
        try:
            start, mode = codec.parse_measurement(bytes(value))
        except MalformedPacket:
            return
        if start and mode == codec.RATE_QUANTITIES:
            self.mode, self.measuring = mode, True
            step = max(1, round(self.source.rate_hz / self.rate_hz))
            self._t0_us = self.device_time_us()
            self.start_stream(self._send, per_packet=step)
        elif not start:
            self.measuring = False
            self.stop_stream()

    async def _send(self, i: int, _j: int) -> None:
        d = self.source.device_time_s
        ts = self._t0_us + round((d[i] - d[0]) * 1e6)
        acc = self.source.acc_g[i]
        gyr = self.source.gyr_dps[i] if self.source.gyr_dps is not None else np.zeros(3)
        value = codec.encode_rate_quantities(ts, acc, gyr)
        self.sent.append((ts % codec.TIME_MODULO_US, acc.copy(), np.asarray(gyr, float).copy()))
        await self.notify(self.payload, value)

    async def press_button(self, clicks: int = 1) -> int:
        """Send a button report as the device does; returns its ms timestamp."""
        ms = self.device_time_us() // 1000
        await self.notify(self.report, codec.encode_button_report(clicks, ms))
        return ms % (1 << 32)
