"""A virtual WitMotion WT901BLE on the virtual BLE link.

Like the sensor: streams ``55 61`` frames (one per 20-byte notification) from the moment a
central connects, at the rate in register 0x03 (10 Hz out of the box), restarts at the
new rate when that register is written, answers register reads with ``55 71`` and ignores
what it does not understand. Its sample clock runs ``clock_error`` fast (an RC oscillator;
0.25 % by default). The source must be at a multiple of the rates asked for (200 Hz).
"""

from __future__ import annotations

import numpy as np
from bumble import gatt
from bumble.device import Connection

from firmware_bridge.devices.twin_base import TwinBase
from firmware_bridge.devices.witmotion import codec
from firmware_bridge.virtual_link import VirtualLink
from firmware_bridge.virtual_sensor_source import SampleSource

_P = gatt.Characteristic.Properties
READ_REGISTER = 0x27


class WitMotionTwin(TwinBase):
    def __init__(
        self,
        link: VirtualLink,
        source: SampleSource,
        *,
        name: str = "WT901BLE67",
        speed: float = 1.0,
        clock_error: float = 0.0025,
    ) -> None:
        self.notify_char = gatt.Characteristic(codec.NOTIFY, _P.NOTIFY,
                                               gatt.Characteristic.READABLE, b"")  # fmt: skip
        self.write_char = gatt.Characteristic(
            codec.WRITE, _P.WRITE | _P.WRITE_WITHOUT_RESPONSE, gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_write),
        )  # fmt: skip
        service = gatt.Service(codec.SERVICE, [self.notify_char, self.write_char])
        super().__init__(link, source, name=name, service_uuid=codec.SERVICE,
                         services=[service], speed=speed * (1 + clock_error))  # fmt: skip
        self.registers: dict[int, int] = {codec.REG_RATE: 0x06}  # 10 Hz out of the box
        self.writes: list[bytes] = []
        self.sent: list[tuple[float, np.ndarray, np.ndarray]] = []
        """(rate Hz, acc g, gyr °/s) of every data frame sent."""

    @property
    def rate_hz(self) -> float:
        return codec.RATE_CODES.get(self.registers[codec.REG_RATE], 0.0)

    def _on_connection(self, connection: Connection) -> None:
        super()._on_connection(connection)
        self._restart()

    def _restart(self) -> None:
        rate = self.rate_hz
        if rate > 0:
            step = max(1, round(self.source.rate_hz / rate))
            self.start_stream(lambda i, _j: self._send(i, rate), per_packet=step)

    async def _on_write(self, _c: Connection, value: bytes) -> None:
        self.writes.append(bytes(value))
        if len(value) != 5 or value[0] != 0xFF or value[1] != 0xAA:
            return
        reg = value[2]
        if reg == READ_REGISTER:
            start = value[3]
            vals = [self.registers.get(start + i, 0) for i in range(8)]
            await self.notify(self.notify_char, codec.encode_register_reply(start, vals))
            return
        self.registers[reg] = int.from_bytes(value[3:5], "little")
        if reg == codec.REG_RATE:
            self._restart()

    async def _send(self, i: int, rate_hz: float) -> None:
        acc = self.source.acc_g[i : i + 1]
        gyr = self.source.gyr_dps[i : i + 1] if self.source.gyr_dps is not None else acc * 0
        self.sent.append((rate_hz, acc[0].copy(), gyr[0].copy()))
        await self.notify(self.notify_char, codec.encode_data(acc, gyr))
