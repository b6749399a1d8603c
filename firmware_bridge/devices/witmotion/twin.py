"""A virtual WitMotion WT901BLE on the virtual BLE link.

Streams ``55 61`` frames (one per notification, as with a 23-byte MTU) at the commanded
rate — by default 0.25 % fast, like a sensor on an RC oscillator — and answers register
reads. The source must be at 200 Hz or a multiple of the rates asked for.
"""

from __future__ import annotations

from bumble import gatt
from bumble.device import Connection

from firmware_bridge.devices.twin_base import TwinBase
from firmware_bridge.devices.witmotion import codec
from firmware_bridge.virtual_link import VirtualLink
from firmware_bridge.virtual_sensor_source import SampleSource

_P = gatt.Characteristic.Properties


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
        self.registers = {codec.REG_RATE: 0x06}  # 10 Hz out of the box
        self.writes: list[bytes] = []
        self._step = 1

    async def _on_write(self, _c: Connection, value: bytes) -> None:
        self.writes.append(bytes(value))
        if len(value) != 5 or value[0] != 0xFF or value[1] != 0xAA:
            return  # the device ignores what it does not understand
        reg = value[2]
        if reg == 0x27:
            start = value[3]
            vals = [self.registers.get(start + i, 0) for i in range(8)]
            await self.notify(self.notify_char, codec.encode_register_reply(start, vals))
            return
        self.registers[reg] = int.from_bytes(value[3:5], "little")
        if reg == codec.REG_RATE:
            rate = codec.RATE_CODES.get(self.registers[reg], 0)
            if rate >= 50:
                self._step = max(1, round(self.source.rate_hz / rate))
                self.start_stream(self._send, per_packet=self._step)

    async def _send(self, i: int, j: int) -> None:
        acc = self.source.acc_g[i : i + 1]
        gyr = self.source.gyr_dps[i : i + 1] if self.source.gyr_dps is not None else acc * 0
        await self.notify(self.notify_char, codec.encode_data(acc, gyr))
