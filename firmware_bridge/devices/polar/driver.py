"""Driver for the Polar Verity Sense (and H10 / OH1 accelerometer) over PMD.

Start: read the features, subscribe to the control point (answers come as indications)
and the data, query the ACC settings; if the requested rate is not offered and the device
has SDK mode (Verity Sense: 52 Hz only without it, 26-416 Hz with it), switch SDK mode on
and query again. Then start ACC with one value of each setting the device offered (the
rate nearest the requested one, the range nearest ``acc_range_g``), remember the FACTOR
from the start response, and the same for GYRO at the ACC rate when the device has one.

Frames: ACC and GYRO arrive as separate frames, each stamped with the device time of its
last sample (ns since 2000-01-01). :mod:`.pairing` spreads the sample times back from the
stamps and hands the manager six-axis runs with GYRO interpolated at the ACC times.
Devices without GYRO (H10, OH1) stream accelerometer only.

If the device stops the streams itself (``01 [types]`` on the control point: put in its
charger, mode changed by another app), the driver disconnects so the manager reconnects
and the start answer says what is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import ClassVar

from bleak import BleakClient
from bleak.exc import BleakError

from firmware_bridge.devices.polar import pmd_codec as pmd
from firmware_bridge.devices.polar.pairing import FrameClock, Pairer
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, SensorDriver, StreamInfo
from firmware_bridge.profile.wire import MalformedPacket

log = logging.getLogger(__name__)

ACC, GYRO, SDK_MODE = pmd.Measurement.ACC, pmd.Measurement.GYRO, pmd.Measurement.SDK_MODE
NAME_PREFIXES = ("Polar Sense ", "Polar H10 ", "Polar OH1 ")
_ADVICE = {
    pmd.Status.DEVICE_IN_CHARGER: "take it out of its charger",
    pmd.Status.INVALID_STATE: "stop any recording or exercise on it (Polar Flow app)",
    pmd.Status.ALREADY_IN_STATE: "another app may be streaming from it; close it",
}


class PolarDriver(SensorDriver):
    kind: ClassVar[str] = "polar"
    seq_modulo: ClassVar[int | None] = None
    time_modulo_us: ClassVar[int | None] = None  # 64-bit ns stamps: never wrap

    def __init__(
        self,
        *,
        acc_range_g: int = 8,
        gyr_range_dps: int = 2000,
        sdk_mode: bool | None = None,
        response_timeout_s: float = 5.0,
    ) -> None:
        """``sdk_mode``: None = switch it on only when the requested rate needs it."""
        self.acc_range_g = acc_range_g
        self.gyr_range_dps = gyr_range_dps
        self.sdk_mode = sdk_mode
        self.response_timeout_s = response_timeout_s
        self.features: set[int] = set()
        self.factor: dict[int, float] = {}
        self.rate_hz: dict[int, float] = {}
        self.gyro = False
        self.sdk_mode_on = False
        """This driver switched SDK mode on (kept across reconnects; stop() switches it off)."""
        self.device_stopped = 0
        self.bad_indications = 0
        self._responses: asyncio.Queue[pmd.Response] = asyncio.Queue()
        self._clocks: dict[int, FrameClock] = {}
        self._pairer: Pairer | None = None
        self._client: BleakClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        if name and name.startswith(NAME_PREFIXES):
            return True
        return pmd.SERVICE in (u.lower() for u in service_uuids)

    @property
    def unpaired_acc(self) -> int:
        return self._pairer.unpaired_acc if self._pairer else 0

    # -- control point ----------------------------------------------------------
    def _on_cp(self, _char: object, data: bytearray) -> None:
        try:
            msg = pmd.decode_cp(bytes(data))
        except MalformedPacket:
            self.bad_indications += 1
            return
        if isinstance(msg, pmd.DeviceStopped):
            self.device_stopped += 1
            log.warning("Polar sensor stopped streams %s by itself", list(msg.measurements))
            if self._client is not None:
                task = asyncio.get_running_loop().create_task(self._drop(self._client))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return
        if msg.ok and msg.op == pmd.Op.START and not msg.more and msg.measurement in (ACC, GYRO):
            # set before any data frame of this stream is decoded
            with contextlib.suppress(MalformedPacket):
                self.factor[msg.measurement] = msg.settings().get(pmd.Setting.FACTOR, (1.0,))[0]
        self._responses.put_nowait(msg)

    @staticmethod
    async def _drop(client: BleakClient) -> None:
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            await client.disconnect()

    async def _ask(self, client: BleakClient, request: pmd.Request) -> pmd.Response:
        """Write one request and collect its answer (joining ``more`` parts)."""
        while not self._responses.empty():  # stale answers from an earlier exchange
            self._responses.get_nowait()
        await client.write_gatt_char(pmd.CONTROL_POINT, bytes(request), response=True)
        params = b""
        try:
            async with asyncio.timeout(self.response_timeout_s):
                while True:
                    r = await self._responses.get()
                    if r.op != request.op:
                        continue
                    params += r.params
                    if not r.more:
                        return pmd.Response(r.op, r.measurement, r.status, False, params)
        except TimeoutError as exc:
            raise BridgeError(
                f"{client.address}: Polar sensor did not answer {pmd.Op(request.op).name} "
                f"within {self.response_timeout_s:g} s; switch it off and on"
            ) from exc

    def _refused(self, client: BleakClient, what: str, r: pmd.Response) -> BridgeError:
        advice = _ADVICE.get(r.status, "switch it off and on")  # type: ignore[call-overload]
        return BridgeError(
            f"{client.address}: Polar sensor refused {what} ({pmd.status_name(r.status)}); {advice}"
        )

    async def _offer(self, client: BleakClient, meas: int) -> pmd.Settings:
        r = await self._ask(client, pmd.Request(pmd.Op.GET_SETTINGS, meas))
        if not r.ok:
            raise self._refused(client, f"the {pmd.Measurement(meas).name} settings query", r)
        try:
            return r.settings()
        except MalformedPacket as exc:
            raise BridgeError(f"{client.address}: Polar settings answer unreadable: {exc}") from exc

    def choose(self, offer: pmd.Settings, *, rate_hz: float, range_: float) -> pmd.Settings:
        """One value of each setting the device offered (the SDK never sends FACTOR)."""
        chosen: pmd.Settings = {}
        for kind, values in offer.items():
            if kind in (pmd.Setting.FACTOR, pmd.Setting.SECURITY) or not values:
                continue
            if kind == pmd.Setting.SAMPLE_RATE:
                rates = [v for v in values if v > 0]  # 0 Hz from the air is no rate
                if not rates:
                    continue
                pick = min(rates, key=lambda v: (abs(v - rate_hz), -v))
            elif kind == pmd.Setting.RANGE:
                pick = min(values, key=lambda v: (abs(v - range_), -v))
            elif kind == pmd.Setting.RANGE_MILLIUNIT:
                pick = min(values, key=lambda v: abs(v - 1000 * range_))
            else:
                pick = max(values)
            chosen[kind] = (pick,)
        if pmd.Setting.SAMPLE_RATE not in chosen:
            raise BridgeError("Polar sensor offered no sample rate")
        return chosen

    async def _start_stream(
        self, client: BleakClient, meas: int, offer: pmd.Settings, rate_hz: float, range_: float
    ) -> float:
        chosen = self.choose(offer, rate_hz=rate_hz, range_=range_)
        rate = float(chosen[pmd.Setting.SAMPLE_RATE][0])
        self.rate_hz[meas] = rate
        if meas == ACC:
            self.configure(rate_hz=rate, gyro=GYRO in self.features)
        self._clocks[meas] = FrameClock(rate_hz=rate)
        r = await self._ask(client, pmd.Request.start(meas, chosen))
        if not r.ok:
            raise self._refused(client, f"to start {pmd.Measurement(meas).name}", r)
        try:
            self.factor[meas] = float(r.settings().get(pmd.Setting.FACTOR, (1.0,))[0])
        except MalformedPacket as exc:
            raise BridgeError(f"{client.address}: Polar start answer unreadable: {exc}") from exc
        return rate

    def configure(
        self, *, rate_hz: float, gyro: bool, factor: dict[int, float] | None = None
    ) -> None:
        """Decoding state for a stream at ``rate_hz`` (start() sets it before the ACC start
        request, so no early frame is lost; replaying recorded frames can call it too)."""
        self.gyro = gyro
        self.factor = dict(factor or {})
        self._clocks = {m: FrameClock(rate_hz=rate_hz) for m in ((ACC, GYRO) if gyro else (ACC,))}
        self._pairer = Pairer(rate_hz=rate_hz, gyro=gyro)

    # -- SensorDriver -------------------------------------------------------------
    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        self._client = client
        try:
            value = await client.read_gatt_char(pmd.CONTROL_POINT)
            self.features = pmd.decode_features(bytes(value))
        except MalformedPacket as exc:
            raise BridgeError(f"{client.address}: not a Polar PMD sensor ({exc})") from exc
        if ACC not in self.features:
            raise BridgeError(f"{client.address}: this Polar device has no accelerometer stream")
        self.rate_hz = {}
        self._pairer = None
        await client.start_notify(pmd.CONTROL_POINT, self._on_cp)
        await client.start_notify(pmd.DATA, lambda _c, data: on_data(bytes(data)))
        offer = await self._offer(client, ACC)
        rates = offer.get(pmd.Setting.SAMPLE_RATE, ())
        want_sdk = self.sdk_mode
        if want_sdk is None:
            want_sdk = bool(rates) and min(abs(r - rate_hz) for r in rates) > 0.1 * rate_hz
        if want_sdk and SDK_MODE in self.features:
            r = await self._ask(client, pmd.Request(pmd.Op.START, SDK_MODE))
            if r.ok or r.status == pmd.Status.ALREADY_IN_STATE:
                self.sdk_mode_on = True
                offer = await self._offer(client, ACC)
            else:
                log.warning("%s: SDK mode refused (%s)", client.address, pmd.status_name(r.status))
        rate = await self._start_stream(client, ACC, offer, rate_hz, self.acc_range_g)
        if self.gyro:
            try:
                gyr_offer = await self._offer(client, GYRO)
                await self._start_stream(client, GYRO, gyr_offer, rate, self.gyr_range_dps)
            except BridgeError:  # stop what may run (a GYRO start whose answer was bad too)
                for meas in (GYRO, ACC):
                    with contextlib.suppress(BridgeError, BleakError):
                        await self._ask(client, pmd.Request(pmd.Op.STOP, meas))
                raise
        sdk = ", SDK mode" if self.sdk_mode_on else ""
        return StreamInfo(
            period_us=1e6 / rate,
            accel_only=not self.gyro,
            model=f"Polar PMD ({'ACC+GYRO' if self.gyro else 'ACC'} {rate:g} Hz{sdk})",
        )

    async def stop(self, client: BleakClient) -> None:
        """Stop the streams, then SDK mode if this driver switched it on (best effort)."""
        if not client.is_connected:
            return
        steps = [GYRO] if self.gyro else []
        steps.append(ACC)
        if self.sdk_mode_on:
            steps.append(SDK_MODE)
        for meas in steps:
            with contextlib.suppress(BridgeError):
                await self._ask(client, pmd.Request(pmd.Op.STOP, meas))
        self.sdk_mode_on = False

    def decode(self, data: bytes) -> Frame | None:
        f = pmd.decode_frame(data)
        pairer = self._pairer
        clock = self._clocks.get(f.measurement)
        if pairer is None or clock is None or (f.measurement == GYRO and not self.gyro):
            raise MalformedPacket(f"PMD frame: measurement {f.measurement} was not started")
        if not (f.count - 1) * 2 * clock.step_ns <= f.timestamp_ns < 1 << 63:
            raise MalformedPacket(f"PMD frame: timestamp {f.timestamp_ns} ns out of range")
        values = pmd.to_units(f, factor=self.factor.get(f.measurement, 1.0))
        t = clock.times(f.timestamp_ns, f.count)
        if f.measurement == ACC:
            pairer.add_acc(t, values)
        else:
            pairer.add_gyr(t, values)
        run = pairer.pop()
        if run is None:
            return None
        n = len(run.t_ns)
        span_ns = float(run.t_ns[-1] - run.t_ns[0])
        period_us = span_ns / (n - 1) / 1e3 if n > 1 else pairer.period_ns / 1e3
        return Frame(
            t0_us=int(run.t_ns[0] // 1000),
            period_us=float(period_us),
            acc_g=run.acc_g,
            gyr_dps=run.gyr_dps,
        )
