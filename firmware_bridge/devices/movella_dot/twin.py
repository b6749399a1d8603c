"""A virtual Movella DOT: device control (output rate), measurement control and
"rate quantities" notifications with a wrapping µs timestamp, battery."""

from __future__ import annotations

from bumble import gatt
from bumble.device import Connection

from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.devices.twin_base import TwinBase
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
        clock_start_us: int = (1 << 32) - 2_000_000,  # wraps 2 s into the stream
    ) -> None:
        self.control_value = bytearray(codec.CONTROL_LEN)
        self.control_value[8:14] = b"hipDOT"
        self.control_value[24:26] = (20).to_bytes(2, "little")
        self.device_control = gatt.Characteristic(
            codec.DEVICE_CONTROL, _P.READ | _P.WRITE, _RW,
            gatt.CharacteristicValue(read=lambda _c: bytes(self.control_value),
                                     write=self._on_device_control),
        )  # fmt: skip
        self.meas_control = gatt.Characteristic(
            codec.MEASUREMENT_CONTROL, _P.READ | _P.WRITE, _RW,
            gatt.CharacteristicValue(read=lambda _c: bytes(3), write=self._on_measurement),
        )  # fmt: skip
        self.payload = gatt.Characteristic(codec.MEDIUM_PAYLOAD, _P.NOTIFY,
                                           gatt.Characteristic.READABLE, b"")  # fmt: skip
        battery = gatt.Characteristic(codec.BATTERY, _P.READ | _P.NOTIFY,
                                      gatt.Characteristic.READABLE, bytes([76, 0]))  # fmt: skip
        services = [
            gatt.Service(codec.CONFIG_SERVICE, [self.device_control]),
            gatt.Service(codec.MEASUREMENT_SERVICE, [self.meas_control, self.payload]),
            gatt.Service(codec.uuid(0x3000), [battery]),
        ]
        super().__init__(link, source, name="Movella DOT", service_uuid=codec.CONFIG_SERVICE,
                         services=services, speed=speed)  # fmt: skip
        self.clock_start_us = clock_start_us
        self.measurement_writes: list[bytes] = []
        self._step = 1

    @property
    def rate_hz(self) -> int:
        return codec.output_rate(bytes(self.control_value))

    def _on_device_control(self, _c: Connection, value: bytes) -> None:
        if len(value) >= codec.CONTROL_LEN and value[0] & codec.VISIT_OUTPUT_RATE:
            rate = codec.output_rate(value)
            if rate in codec.RATES_HZ:
                self.control_value[24:26] = value[24:26]

    def _on_measurement(self, _c: Connection, value: bytes) -> None:
        self.measurement_writes.append(bytes(value))
        try:
            start, mode = codec.parse_measurement(bytes(value))
        except ValueError:
            return
        if start and mode == codec.RATE_QUANTITIES:
            self._step = max(1, round(self.source.rate_hz / self.rate_hz))
            self.start_stream(self._send, per_packet=self._step)
        elif not start:
            self.stop_stream()

    async def _send(self, i: int, j: int) -> None:
        d = self.source.device_time_s
        ts = self.clock_start_us + round((d[i] - d[0]) * 1e6)
        gyr = (
            self.source.gyr_dps[i] if self.source.gyr_dps is not None else self.source.acc_g[i] * 0
        )
        await self.notify(self.payload, codec.encode_rate_quantities(ts, self.source.acc_g[i], gyr))
