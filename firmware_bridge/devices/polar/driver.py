"""Driver for Polar Verity Sense / H10 / OH1 over PMD (see :mod:`.pmd`).

Start: read the features, subscribe to the control point (responses) and data, query ACC
settings, start ACC at the offered rate nearest the requested one with ±8 g (echoing the
settings the device offered), then the same for GYRO (±2000 °/s) when the device has one.
ACC and GYRO arrive as separate frames with their own timestamps; the driver holds each
ACC sample until gyro data covers its time and pairs them (gyro interpolated at the ACC
sample times), so the manager gets one six-axis stream. Devices without GYRO (H10, OH1)
are accelerometer-only.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

import numpy as np
from bleak import BleakClient

from firmware_bridge.devices.polar import pmd
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, SensorDriver, StreamInfo
from firmware_bridge.profile.wire import MalformedPacket

RESPONSE_TIMEOUT_S = 5.0
NAMES = ("Polar Sense", "Polar H10", "Polar OH1")


class _Stream:
    """Per-measurement sample times (ns) and values, with the previous frame's stamp."""

    def __init__(self) -> None:
        self.t_ns = np.zeros(0)
        self.val = np.zeros((0, 3))
        self.prev_ns: int | None = None

    def add(self, ts_ns: int, values: np.ndarray, period_ns: float) -> None:
        n = len(values)
        if self.prev_ns is not None and ts_ns > self.prev_ns:
            step = (ts_ns - self.prev_ns) / n
        else:
            step = period_ns
        t = ts_ns - step * np.arange(n - 1, -1, -1)
        self.prev_ns = ts_ns
        self.t_ns = np.concatenate([self.t_ns, t])
        self.val = np.concatenate([self.val, values])


class PolarDriver(SensorDriver):
    kind: ClassVar[str] = "polar"
    seq_modulo: ClassVar[int | None] = None
    time_modulo_us: ClassVar[int | None] = None

    def __init__(self, *, acc_range_g: int = 8, gyr_range_dps: int = 2000) -> None:
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps
        self.factor: dict[int, float] = {}
        self.rate_hz = 0.0
        self.gyro = False
        self._responses: asyncio.Queue[pmd.Response] = asyncio.Queue()
        self._acc = _Stream()
        self._gyr = _Stream()
        self.bad_responses = 0

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        return pmd.SERVICE in [u.lower() for u in service_uuids] or bool(
            name and name.startswith(NAMES)
        )

    def _on_cp(self, _char: object, data: bytearray) -> None:
        try:
            self._responses.put_nowait(pmd.Response.from_bytes(bytes(data)))
        except MalformedPacket:
            self.bad_responses += 1

    async def _ask(self, client: BleakClient, op: int, meas: int, settings=None) -> pmd.Response:  # type: ignore[no-untyped-def]
        await client.write_gatt_char(
            pmd.CONTROL_POINT, pmd.request(op, meas, settings), response=True
        )
        try:
            async with asyncio.timeout(RESPONSE_TIMEOUT_S):
                while True:
                    r = await self._responses.get()
                    if r.op == op and r.measurement == meas:
                        return r
        except TimeoutError as exc:
            raise BridgeError(f"{client.address}: Polar sensor did not answer (op {op})") from exc

    async def _start_one(self, client: BleakClient, meas: int, rate_hz: float, rng: int) -> float:
        offer = await self._ask(client, pmd.OP_GET_SETTINGS, meas)
        if offer.status != 0:
            raise BridgeError(f"{client.address}: Polar settings query failed ({offer.status})")
        rates = offer.settings.get(pmd.SAMPLE_RATE, [])
        if not rates:
            raise BridgeError(f"{client.address}: Polar sensor offered no sample rate")
        rate = min(rates, key=lambda r: abs(r - rate_hz))
        ranges = offer.settings.get(pmd.RANGE, [rng])
        chosen = {
            pmd.SAMPLE_RATE: [rate],
            pmd.RESOLUTION: offer.settings.get(pmd.RESOLUTION, [16])[:1],
            pmd.RANGE: [min(ranges, key=lambda r: abs(r - rng))],
            pmd.CHANNELS: offer.settings.get(pmd.CHANNELS, [3])[:1],
        }
        started = await self._ask(client, pmd.OP_START, meas, chosen)
        if started.status != 0:
            raise BridgeError(
                f"{client.address}: Polar sensor refused to start measurement {meas} "
                f"(status {started.status}); is it in a recording or charging?"
            )
        self.factor[meas] = started.settings.get(pmd.FACTOR, [1.0])[0]
        return float(rate)

    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        types = pmd.features(bytes(await client.read_gatt_char(pmd.CONTROL_POINT)))
        if pmd.ACC not in types:
            raise BridgeError(f"{client.address}: this Polar device has no accelerometer stream")
        self._acc, self._gyr = _Stream(), _Stream()
        await client.start_notify(pmd.CONTROL_POINT, self._on_cp)
        await client.start_notify(pmd.DATA, lambda _c, data: on_data(bytes(data)))
        self.rate_hz = await self._start_one(client, pmd.ACC, rate_hz, self.acc_range_g)
        self.gyro = pmd.GYRO in types
        if self.gyro:
            await self._start_one(client, pmd.GYRO, self.rate_hz, self.gyr_range_dps)
        return StreamInfo(
            period_us=1e6 / self.rate_hz, accel_only=not self.gyro, model="Polar (PMD)"
        )

    async def stop(self, client: BleakClient) -> None:
        if not client.is_connected:
            return
        for meas in (pmd.GYRO, pmd.ACC) if self.gyro else (pmd.ACC,):
            await self._ask(client, pmd.OP_STOP, meas)

    def decode(self, data: bytes) -> Frame | None:
        f = pmd.decode_frame(data)
        period_ns = 1e9 / self.rate_hz if self.rate_hz else 1e9 / 52
        if f.measurement == pmd.ACC:
            scale = self.factor.get(pmd.ACC, 1.0) if f.compressed else 1e-3  # raw: mG
            self._acc.add(f.timestamp_ns, f.samples * scale, period_ns)
        else:
            self._gyr.add(f.timestamp_ns, f.samples * self.factor.get(pmd.GYRO, 1.0), period_ns)
        return self._ready(period_ns)

    def _ready(self, period_ns: float) -> Frame | None:
        acc = self._acc
        if len(acc.t_ns) == 0:
            return None
        if not self.gyro:
            k = len(acc.t_ns)
            gyr = None
        else:
            g = self._gyr
            if len(g.t_ns) < 2:
                return None
            k = int(np.searchsorted(acc.t_ns, g.t_ns[-1] + 0.5 * period_ns, side="right"))
            if k == 0:
                return None
            gyr = np.column_stack([np.interp(acc.t_ns[:k], g.t_ns, g.val[:, c]) for c in range(3)])
            keep = g.t_ns >= acc.t_ns[k - 1] - 1e9  # a second of gyro history is plenty
            keep[-2:] = True
            g.t_ns, g.val = g.t_ns[keep], g.val[keep]
        t = acc.t_ns[:k]
        period_us = float(np.median(np.diff(t))) / 1e3 if k > 1 else period_ns / 1e3
        frame = Frame(t0_us=round(t[0] / 1e3), period_us=period_us, acc_g=acc.val[:k],
                      gyr_dps=gyr)  # fmt: skip
        acc.t_ns, acc.val = acc.t_ns[k:], acc.val[k:]
        return frame
