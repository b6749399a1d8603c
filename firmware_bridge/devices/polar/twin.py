"""A virtual Polar Verity Sense on the virtual BLE link: PMD control point and data.

Offers ACC (±8 g, 16 bit) and GYRO (±2000 °/s) at the source's rate, answers feature
reads, settings queries, start and stop like the device (responses by indication), and
streams delta-compressed frames (type 0) whose timestamp is the last sample's, in ns
since 2000-01-01 on its own clock.
"""

from __future__ import annotations

import numpy as np
from bumble import gatt
from bumble.device import Connection

from firmware_bridge.devices.polar import pmd
from firmware_bridge.devices.twin_base import TwinBase
from firmware_bridge.virtual_link import VirtualLink
from firmware_bridge.virtual_sensor_source import SampleSource

_P = gatt.Characteristic.Properties
ACC_RANGE_G = 8
GYR_RANGE_DPS = 2000
SAMPLES_PER_FRAME = 9
CLOCK_ORIGIN_NS = 800_000_000 * 10**9  # the twin's clock reads 2025-05 at sample 0


class PolarTwin(TwinBase):
    def __init__(
        self,
        link: VirtualLink,
        source: SampleSource,
        *,
        serial: str = "0A1B2C3D",
        speed: float = 1.0,
        gyro: bool = True,
    ) -> None:
        self.rate_hz = round(source.rate_hz)
        self.gyro = gyro
        self.cp = gatt.Characteristic(
            pmd.CONTROL_POINT,
            _P.READ | _P.WRITE | _P.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=self._read_cp, write=self._on_write),
        )
        self.data = gatt.Characteristic(pmd.DATA, _P.NOTIFY, gatt.Characteristic.READABLE, b"")
        service = gatt.Service(pmd.SERVICE, [self.cp, self.data])
        super().__init__(
            link, source, name=f"Polar Sense {serial}", service_uuid=pmd.SERVICE,
            services=[service], speed=speed,
        )  # fmt: skip
        self.requests: list[bytes] = []
        self.active: set[int] = set()
        self.factor = {pmd.ACC: ACC_RANGE_G / 32768.0, pmd.GYRO: GYR_RANGE_DPS / 32768.0}

    def _types(self) -> set[int]:
        return {pmd.ACC, pmd.GYRO} if self.gyro else {pmd.ACC}

    def _read_cp(self, _c: Connection) -> bytes:
        return pmd.encode_features(self._types())

    def offered(self, meas: int) -> dict[int, list[float]]:
        rng = [2, 4, 8, 16] if meas == pmd.ACC else [250, 500, 1000, 2000]
        return {pmd.SAMPLE_RATE: [self.rate_hz], pmd.RESOLUTION: [16], pmd.RANGE: rng,
                pmd.CHANNELS: [3]}  # fmt: skip

    async def _on_write(self, _c: Connection, value: bytes) -> None:
        self.requests.append(bytes(value))
        op = value[0] if value else 0
        meas = value[1] if len(value) > 1 else 0
        status, settings = 0, {}
        if op not in (pmd.OP_GET_SETTINGS, pmd.OP_START, pmd.OP_STOP) or len(value) < 2:
            status = 1  # invalid op code
        elif meas not in self._types():
            status = 2  # invalid measurement type
        elif op == pmd.OP_GET_SETTINGS:
            settings = self.offered(meas)
        elif op == pmd.OP_START:
            try:
                asked = pmd.decode_settings(bytes(value[2:]))
            except ValueError:
                asked = None
            if asked is None or asked.get(pmd.SAMPLE_RATE, [0])[0] != self.rate_hz:
                status = 8  # invalid sample rate
            elif meas in self.active:
                status = 6  # already in state
            else:
                self.active.add(meas)
                settings = {pmd.FACTOR: [self.factor[meas]]}
                if not self.streaming:
                    self.start_stream(self._send, per_packet=SAMPLES_PER_FRAME)
        elif op == pmd.OP_STOP:
            self.active.discard(meas)
            if not self.active:
                self.stop_stream()
        await self.indicate(self.cp, bytes(pmd.Response(op, meas, status, False, settings)))

    def timestamp_ns(self, k: int) -> int:
        d = self.source.device_time_s
        return CLOCK_ORIGIN_NS + round((d[k] - d[0]) * 1e9)

    async def _send(self, i: int, j: int) -> None:
        ts = self.timestamp_ns(j - 1)
        if pmd.ACC in self.active:
            raw = np.rint(self.source.acc_g[i:j] / self.factor[pmd.ACC]).astype(np.int64)
            await self.notify(self.data, pmd.encode_frame(pmd.ACC, ts, np.clip(raw, -32768, 32767)))
        if pmd.GYRO in self.active and self.source.gyr_dps is not None:
            raw = np.rint(self.source.gyr_dps[i:j] / self.factor[pmd.GYRO]).astype(np.int64)
            await self.notify(
                self.data, pmd.encode_frame(pmd.GYRO, ts, np.clip(raw, -32768, 32767))
            )
