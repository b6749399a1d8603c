"""Driver for WitMotion BLE IMUs (BWT901BLECL, WT901BLE; see :mod:`.codec`).

Start: subscribe, unlock, write the output rate, read the rate register back (the sensor
never acknowledges a write) and only then accept data: frames that arrive before the
read-back are at the old rate (10 Hz out of the box) and are dropped.

The sensor sends no timestamps. Each notification is stamped with the host clock on
arrival (in the bleak callback, like the manager's own stamp) and a
:class:`~.timeline.SampleTimeline` turns the sample count into device time ``k × period``,
advancing ``k`` over samples the sensor dropped. The manager aligns that clock to the host
like any other (lower-envelope fit of offset and drift, ``clock_max_drift_ppm`` wide for
an RC oscillator), which is what smooths the arrival jitter; see :mod:`.timeline`.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import ClassVar

import numpy as np
from bleak import BleakClient

from firmware_bridge.devices.witmotion import codec
from firmware_bridge.devices.witmotion.timeline import SampleTimeline
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, SensorDriver, StreamInfo
from firmware_bridge.profile.wire import MalformedPacket

REPLY_TIMEOUT_S = 3.0
RESUME_HOLD_S = 0.5
"""After a reconnect, frames are held this long (arrival time) to place them in time."""
RESUME_HOLD_MAX = 256


class WitMotionDriver(SensorDriver):
    kind: ClassVar[str] = "witmotion"
    clock_max_drift_ppm: ClassVar[float] = 20000.0

    def __init__(self) -> None:
        self.rate_hz = 100.0
        self.timeline: SampleTimeline | None = None
        self.dropped_before_start = 0
        self._clock: Clock | None = None
        self._arrivals: deque[tuple[float, bytes]] = deque(maxlen=4096)
        self._reply: asyncio.Future[bytes] | None = None
        self._resume_from: SampleTimeline | None = None
        """The last connection's timeline while the first frames after a reconnect are held."""
        self._held: list[tuple[np.ndarray, np.ndarray, float | None]] = []

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        if codec.SERVICE in [u.lower() for u in service_uuids]:
            return True
        return bool(name and name.startswith("WT") and "BLE" in name)

    # ------------------------------------------------------------------
    def route(self, on_data: OnData, data: bytes) -> None:
        """The notification callback: register replies to the waiting read, data frames
        (once the rate is confirmed) stamped and handed on."""
        if codec.is_register_reply(data):
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(data)
            return
        if self.timeline is None or self._clock is None:
            self.dropped_before_start += 1
            return
        self._arrivals.append((self._clock(), data))
        on_data(data)

    def begin(self, *, rate_hz: float, clock: Clock) -> None:
        """Accept data at ``rate_hz`` from now on. After a reconnect the sample index
        carries on from where the sensor is estimated to be, so device time never goes
        back and the disconnect shows up as a gap."""
        previous = self.timeline
        start = previous.index_at(clock()) if previous is not None else 0
        self.rate_hz = rate_hz
        self._clock = clock
        self._arrivals.clear()
        self._held.clear()
        # the index is pinned down from the first notifications' arrivals (see _resume)
        same_rate = previous is not None and previous.period_s == 1.0 / rate_hz
        self._resume_from = previous if same_rate and previous.sync.ready else None
        self.timeline = SampleTimeline(rate_hz=rate_hz, start_index=start,
                                       max_drift_ppm=self.clock_max_drift_ppm)  # fmt: skip

    async def _read_register(self, client: BleakClient, reg: int) -> list[int]:
        self._reply = asyncio.get_running_loop().create_future()
        try:
            await client.write_gatt_char(codec.WRITE, codec.read_register(reg), response=False)
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                reply = await self._reply
        except TimeoutError as exc:
            raise BridgeError(
                f"{client.address}: WitMotion sensor did not answer a register read; "
                "switch it off and on"
            ) from exc
        finally:
            self._reply = None
        try:
            got, values = codec.decode_register_reply(reply)
        except MalformedPacket as exc:
            raise BridgeError(f"{client.address}: WitMotion register reply: {exc}") from exc
        if got != reg:
            raise BridgeError(f"{client.address}: asked for register {reg:#04x}, got {got:#04x}")
        return values

    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        self._clock = None  # drop frames until the rate is confirmed
        await client.start_notify(codec.NOTIFY, lambda _c, d: self.route(on_data, bytes(d)))
        cmd, code, rate = codec.set_rate(rate_hz)
        await client.write_gatt_char(codec.WRITE, codec.UNLOCK, response=False)
        await client.write_gatt_char(codec.WRITE, cmd, response=False)
        values = await self._read_register(client, codec.REG_RATE)
        if values[0] != code:
            raise BridgeError(
                f"{client.address}: WitMotion sensor kept output rate code {values[0]:#04x} "
                f"instead of {code:#04x} ({rate:g} Hz); update its firmware with WitMotion's app"
            )
        self.begin(rate_hz=rate, clock=clock)
        return StreamInfo(period_us=1e6 / rate, accel_only=False, model="WitMotion BLE")

    async def stop(self, client: BleakClient) -> None:
        if client.is_connected:
            await client.stop_notify(codec.NOTIFY)

    def _arrival(self, data: bytes) -> float | None:
        """The stamp ``route`` gave these bytes (the link decodes in arrival order)."""
        while self._arrivals:
            stamp, routed = self._arrivals.popleft()
            if routed is data:
                return stamp
        return None

    def decode(self, data: bytes) -> Frame | None:
        arrival = self._arrival(data)
        acc, gyr, _angles = codec.decode_data(data)
        period_us = 1e6 / self.rate_hz
        if self._resume_from is not None:
            return self._resume(acc, gyr, arrival, period_us)
        if self.timeline is None:
            self.timeline = SampleTimeline(rate_hz=self.rate_hz)
        first, lost = self.timeline.add(len(acc), arrival)
        return Frame(t0_us=round(first * period_us), period_us=period_us, acc_g=acc,
                     gyr_dps=gyr, gap_before=lost > 0)  # fmt: skip

    def _resume(
        self, acc: np.ndarray, gyr: np.ndarray, arrival: float | None, period_us: float
    ) -> Frame | None:
        """After a reconnect: hold the frames of the first ``RESUME_HOLD_S`` (a few
        connection events), place them on the last connection's fitted line, hand them on
        as one frame. Placed from the reconnect time alone, the first frame (which waited
        for a connection event) can land up to an interval ahead, and the manager's clock
        fit keeps that error until the points from before the drop age out (30 s)."""
        held = self._held
        held.append((acc, gyr, arrival))
        stamps = [a for _, _, a in held if a is not None and math.isfinite(a)]
        if len(held) < RESUME_HOLD_MAX and (not stamps or stamps[-1] - stamps[0] < RESUME_HOLD_S):
            return None
        assert self._resume_from is not None
        start = self._resume_from.resume_index([(len(a), t) for a, _, t in held])
        self._resume_from = None
        timeline = SampleTimeline(rate_hz=self.rate_hz, start_index=start,
                                  max_drift_ppm=self.clock_max_drift_ppm)  # fmt: skip
        self.timeline = timeline
        for a, _, t in held:
            timeline.add(len(a), t)  # no loss is declared this early (settle_s)
        accs = np.concatenate([a for a, _, _ in held])
        gyrs = np.concatenate([g for _, g, _ in held])
        held.clear()
        return Frame(t0_us=round(start * period_us), period_us=period_us, acc_g=accs,
                     gyr_dps=gyrs)  # fmt: skip
