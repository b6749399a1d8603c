"""A virtual Polar Verity Sense on the virtual BLE link: PMD control point and data.

What it does, as the device does it (see ``docs/devices/polar.md`` for the sources):

- Advertises as ``Polar Sense <serial>``; battery service; PMD control point (read =
  features ACC, GYRO, SDK mode) and data characteristic.
- Normal mode offers ACC 52 Hz ±8 g and GYRO 52 Hz ±2000 °/s (16 bit, 3 channels);
  SDK mode (start/stop of measurement 9) offers 26-416 Hz and all ranges. A start must
  echo offered values, else INVALID_SAMPLE_RATE / INVALID_RANGE / ...; a second start
  answers ALREADY_IN_STATE; SDK mode cannot change while streaming (INVALID_STATE).
- ACC frames are delta-compressed type 1 in mG with a start answer without parameters
  (current firmware, ``F0 02 02 00 00``); ``acc_compressed_type=0`` gives the older
  firmware's type 0 frames with a FACTOR (g per count) in the start answer. GYRO frames
  are compressed type 0 with a FACTOR (°/s per count) — that factor value is this
  twin's choice (range / 32768); the real one is not published.
- Samples are taken in real time (or ``speed`` times faster) from the
  :class:`SampleSource`, resampled to the started rate, quantised to int16 counts, and
  packed into one-block frames that grow until the next sample would not fit the ATT
  payload (MTU - 3) or 255 deltas; each frame is stamped with its last sample's device
  time in ns since 2000-01-01. ``sent`` keeps what went out (times and values in g/°/s).
- The sensor and its clock keep running from the first start: a restart (after a stop or
  a reconnect) streams from the sample due at that time, not from the beginning.
- :meth:`stop_by_device` sends ``01 [types]`` as the device does when put in its charger.

Not modelled: PPG/PPI/MAG/HR, offline recording, the security setting, time setting.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
from bumble import gatt
from bumble.device import Connection

from firmware_bridge.devices.polar import pmd_codec as pmd
from firmware_bridge.devices.twin_base import TwinBase
from firmware_bridge.profile.wire import MalformedPacket
from firmware_bridge.virtual_link import VirtualLink
from firmware_bridge.virtual_sensor_source import SampleSource

_P = gatt.Characteristic.Properties
ACC, GYRO, SDK_MODE = pmd.Measurement.ACC, pmd.Measurement.GYRO, pmd.Measurement.SDK_MODE
S = pmd.Setting
SDK_RATES = (26, 52, 104, 208, 416)
RANGES: dict[int, tuple[int, ...]] = {ACC: (2, 4, 8, 16), GYRO: (250, 500, 1000, 2000)}
DEFAULT_RANGE: dict[int, int] = {ACC: 8, GYRO: 2000}
CLOCK_ORIGIN_NS = 789_000_000 * 10**9  # the twin's clock reads early 2025 at sample 0


class _Packer:
    """Accumulates one stream's samples into frames that fit the payload."""

    def __init__(self, meas: int, frame_type: int, scale: float) -> None:
        self.meas, self.frame_type, self.scale = meas, frame_type, scale
        self.rows: list[list[int]] = []
        self.times: list[int] = []
        self.lo = self.hi = 0

    def fits(self, row: list[int], payload: int) -> bool:
        if not self.rows:
            return True
        d = [a - b for a, b in zip(row, self.rows[-1], strict=True)]
        lo, hi = min(self.lo, *d), max(self.hi, *d)
        width = max(1, max(hi, -lo - 1).bit_length() + 1)
        n = len(self.rows) + 1
        return n - 1 <= 255 and pmd.compressed_frame_bytes(n, width) <= payload

    def add(self, row: list[int], t_ns: int) -> None:
        if self.rows:
            d = [a - b for a, b in zip(row, self.rows[-1], strict=True)]
            self.lo, self.hi = min(self.lo, *d), max(self.hi, *d)
        self.rows.append(row)
        self.times.append(t_ns)

    def take(self) -> tuple[bytes, np.ndarray, np.ndarray]:
        raw = np.asarray(self.rows, dtype=np.int64)
        frame = pmd.encode_frame(self.meas, self.times[-1], raw, frame_type=self.frame_type,
                                 compressed=True)  # fmt: skip
        out = (frame, np.asarray(self.times, dtype=np.int64), raw * self.scale)
        self.rows, self.times, self.lo, self.hi = [], [], 0, 0
        return out


class PolarTwin(TwinBase):
    def __init__(
        self,
        link: VirtualLink,
        source: SampleSource,
        *,
        serial: str = "0A1B2C3D",
        speed: float = 1.0,
        gyro: bool = True,
        acc_compressed_type: int = 1,
        battery_pct: int = 81,
    ) -> None:
        if acc_compressed_type not in (0, 1):
            raise ValueError("acc_compressed_type must be 0 or 1")
        self.gyro = gyro and source.gyr_dps is not None
        self.acc_type = acc_compressed_type
        self.cp: gatt.Characteristic[bytes] = gatt.Characteristic(
            pmd.CONTROL_POINT, _P.READ | _P.WRITE | _P.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=self._read_cp, write=self._on_write),
        )  # fmt: skip
        self.data = gatt.Characteristic(pmd.DATA, _P.NOTIFY, gatt.Characteristic.READABLE, b"")
        battery = gatt.Service(gatt.GATT_BATTERY_SERVICE, [gatt.Characteristic(
            gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC, _P.READ, gatt.Characteristic.READABLE,
            bytes([battery_pct]))])  # fmt: skip
        super().__init__(
            link, source, name=f"Polar Sense {serial}", service_uuid=pmd.SERVICE,
            services=[gatt.Service(pmd.SERVICE, [self.cp, self.data]), battery], speed=speed,
        )  # fmt: skip
        self.sdk_mode = False
        self.active: dict[int, pmd.Settings] = {}
        self.requests: list[bytes] = []
        self.sent: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {ACC: [], GYRO: []}
        self.frame_bytes: list[int] = []
        self._packers: dict[int, _Packer] = {}
        self._origin: float | None = None

    # -- control point ---------------------------------------------------------
    def features(self) -> set[int]:
        return {ACC, GYRO, SDK_MODE} if self.gyro else {ACC, SDK_MODE}

    def _read_cp(self, _c: Connection) -> bytes:
        return pmd.encode_features(self.features())

    def offer(self, meas: int) -> pmd.Settings:
        rates = SDK_RATES if self.sdk_mode else (52,)
        ranges = RANGES[meas] if self.sdk_mode else (DEFAULT_RANGE[meas],)
        return {S.SAMPLE_RATE: rates, S.RESOLUTION: (16,), S.RANGE: ranges, S.CHANNELS: (3,)}

    def factor(self, meas: int, range_: float) -> float | None:
        if meas == ACC:
            return range_ / 32768 if self.acc_type == 0 else None
        return range_ / 32768

    async def _on_write(self, _c: Connection, value: bytes) -> None:
        self.requests.append(bytes(value))
        try:
            req = pmd.Request.from_bytes(bytes(value))
        except MalformedPacket:
            return
        status, params = self._handle(req)
        meas = 0 if req.measurement is None else req.measurement
        await self.indicate(self.cp, bytes(pmd.Response(req.op, meas, status, False, params)))
        started = req.op == pmd.Op.START and status == pmd.Status.SUCCESS
        if started and req.measurement != SDK_MODE and not self.streaming:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def _handle(self, req: pmd.Request) -> tuple[int, bytes]:
        meas = req.measurement
        if req.op not in (pmd.Op.GET_SETTINGS, pmd.Op.START, pmd.Op.STOP):
            return pmd.Status.NOT_SUPPORTED, b""
        if meas is None or meas & pmd.OFFLINE_BIT:
            return pmd.Status.INVALID_PARAMETER, b""
        if meas not in self.features():
            return pmd.Status.NOT_SUPPORTED, b""
        if meas == SDK_MODE:
            return self._sdk_mode(req.op), b""
        if req.op == pmd.Op.GET_SETTINGS:
            return pmd.Status.SUCCESS, pmd.encode_settings(self.offer(meas))
        if req.op == pmd.Op.STOP:
            if self.active.pop(meas, None) is None:
                return pmd.Status.ALREADY_IN_STATE, b""
            self._packers.pop(meas, None)
            if not self.active:
                self.stop_stream()
            return pmd.Status.SUCCESS, b""
        if meas in self.active:
            return pmd.Status.ALREADY_IN_STATE, b""
        try:
            asked = pmd.decode_settings(req.params)
        except MalformedPacket:
            return pmd.Status.INVALID_LENGTH, b""
        status = self._check(meas, asked)
        if status != pmd.Status.SUCCESS:
            return status, b""
        self.active[meas] = asked
        f = self.factor(meas, asked[S.RANGE][0])
        return pmd.Status.SUCCESS, b"" if f is None else pmd.encode_settings({S.FACTOR: (f,)})

    def _check(self, meas: int, asked: pmd.Settings) -> int:
        offer = self.offer(meas)
        errors = {S.SAMPLE_RATE: pmd.Status.INVALID_SAMPLE_RATE, S.RANGE: pmd.Status.INVALID_RANGE,
                  S.RESOLUTION: pmd.Status.INVALID_RESOLUTION,
                  S.CHANNELS: pmd.Status.INVALID_NUMBER_OF_CHANNELS}  # fmt: skip
        for kind, status in errors.items():
            got = asked.get(kind)
            if got is None or len(got) != 1 or got[0] not in offer[kind]:
                return status
        if set(asked) - set(errors):
            return pmd.Status.INVALID_PARAMETER
        other = next(iter(self.active.values()), None)  # one IMU: one rate for both
        if other is not None and other[S.SAMPLE_RATE] != asked[S.SAMPLE_RATE]:
            return pmd.Status.INVALID_SAMPLE_RATE
        return pmd.Status.SUCCESS

    def _sdk_mode(self, op: int) -> int:
        if op == pmd.Op.GET_SETTINGS:
            return pmd.Status.NOT_SUPPORTED
        on = op == pmd.Op.START
        if self.active:
            return pmd.Status.INVALID_STATE
        if self.sdk_mode == on:
            return pmd.Status.ALREADY_IN_STATE
        self.sdk_mode = on
        return pmd.Status.SUCCESS

    async def stop_by_device(self) -> None:
        """What the device does when put in its charger: end the streams, say so."""
        stopped = tuple(self.active)
        self.active.clear()
        self._packers.clear()
        self.stop_stream()
        await self.indicate(self.cp, bytes(pmd.DeviceStopped(stopped)))

    # -- streaming -------------------------------------------------------------
    def _grid(self, rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The source resampled to the started rate: host times, device ns, acc, gyro."""
        src = self.source
        if abs(src.rate_hz - rate_hz) < 1e-6 * rate_hz:
            gyr = src.gyr_dps if src.gyr_dps is not None else np.zeros_like(src.acc_g)
            dev_ns = CLOCK_ORIGIN_NS + np.rint((src.device_time_s - src.device_time_s[0]) * 1e9)
            return src.time_s, dev_ns.astype(np.int64), src.acc_g, gyr
        d = np.arange(src.device_time_s[0], src.device_time_s[-1], 1.0 / rate_hz)
        t = np.interp(d, src.device_time_s, src.time_s)

        def res(v: np.ndarray | None) -> np.ndarray:
            if v is None:
                return np.zeros((len(d), 3))
            return np.column_stack([np.interp(d, src.device_time_s, v[:, c]) for c in range(3)])

        dev_ns = CLOCK_ORIGIN_NS + np.rint((d - src.device_time_s[0]) * 1e9).astype(np.int64)
        return t, dev_ns, res(src.acc_g), res(src.gyr_dps)

    def _counts(self, meas: int, values: np.ndarray) -> tuple[np.ndarray, float]:
        """int16 counts and the unit per count (g or °/s)."""
        range_ = self.active[meas][S.RANGE][0]
        scale = self.factor(meas, range_) or 1e-3  # ACC type 1: mG
        counts = np.clip(np.rint(values / scale), -32768, 32767).astype(np.int64)
        return counts, scale

    async def _run(self) -> None:
        rate = self.active[next(iter(self.active))][S.SAMPLE_RATE][0]
        t, dev_ns, acc, gyr = self._grid(rate)
        loop = asyncio.get_running_loop()
        if self._origin is None:  # the IMU and clock run from the first start on
            self._origin = loop.time()
        origin = self._origin
        elapsed = (loop.time() - origin) * self.speed - 0.5 / rate
        k0 = int(np.searchsorted(t - t[0], elapsed))
        for k in range(k0, len(t)):
            due = origin + (t[k] - t[0]) / self.speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            if self.connection is None or not self.active:
                return
            streams: tuple[tuple[int, np.ndarray], ...] = ((ACC, acc), (GYRO, gyr))
            for meas, values in streams:
                if meas in self.active:
                    await self._sample(meas, values[k : k + 1], int(dev_ns[k]))
            self.samples_sent += 1
        for meas in list(self._packers):  # the source ran out: send what is held
            await self._flush(meas)

    async def _sample(self, meas: int, values: np.ndarray, t_ns: int) -> None:
        counts, scale = self._counts(meas, values)
        packer = self._packers.get(meas)
        if packer is None:
            frame_type = self.acc_type if meas == ACC else 0
            packer = self._packers[meas] = _Packer(meas, frame_type, scale)
        row = counts[0].tolist()
        payload = (self.connection.att_mtu if self.connection else 23) - 3
        if not packer.fits(row, payload):
            await self._flush(meas)
        packer.add(row, t_ns)

    async def _flush(self, meas: int) -> None:
        packer = self._packers.get(meas)
        if packer is None or not packer.rows:
            return
        frame, times, values = packer.take()
        self.sent[meas].append((times, values))
        self.frame_bytes.append(len(frame))
        with contextlib.suppress(Exception):
            await self.notify(self.data, frame)
