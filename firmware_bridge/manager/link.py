"""One sensor's connection: find, connect, stream, decode, align; reconnect on loss.

The notification callback only stamps the arrival and enqueues the bytes; a task per
sensor decodes, checks gaps, aligns clocks and puts :class:`SampleBlock` s on the manager's
queue. Malformed notifications are counted and dropped, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import BleakConnectionError, BleakNotFoundError, establish_connection

from firmware_bridge.clock_sync import ClockSync
from firmware_bridge.errors import BridgeError
from firmware_bridge.gaps import GapTracker
from firmware_bridge.manager.driver import Clock, SensorDriver, StreamInfo
from firmware_bridge.manager.events import Event, GapEvent, LinkEvent, SampleBlock, SensorStatus
from firmware_bridge.profile.unwrap import Unwrapper

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class LinkSettings:
    rate_hz: float = 200.0
    scan_timeout_s: float = 10.0
    connect_attempts: int = 3
    backoff_min_s: float = 0.25
    backoff_max_s: float = 8.0
    probe_interval_s: float = 0.25
    """Mean interval between time probes (jittered, so their phase is random)."""
    probe_warmup_s: float = 30.0
    probe_warmup_interval_s: float = 0.05
    """Mean interval between time probes for the first ``probe_warmup_s`` of a connection
    (0 = no start-up): the clock fit's lower bound comes from the earliest probes, so many
    at first align a new link sooner. ``bench/clock_sync.py --seeds 1`` (10-min sessions),
    hipfirst at CI 7.5/15/30/50 ms, misalignment p95 over the first minute: with the
    earlier clock estimate (30 s windows) 1.82/3.67/4.57/4.95 ms without it, 1.11/2.13/2.43/
    2.64 ms with it; the 300 s probe windows of ``ClockSync`` need it (without it their first
    minute was worse than the earlier estimate's)."""
    stop_timeout_s: float = 2.0
    client_backend: type | None = None
    """bleak client backend (``None`` = the platform's); the virtual link's in tests/demo."""
    scanner_kwargs: dict[str, Any] | None = None
    client_kwargs: dict[str, Any] | None = None


CLOCK_JUMP_S = 5.0
"""A packet whose device time moved this much further than the host clock since the last
packet's: the device clock restarted (a Movella DOT switched off and on after more than
35.8 min of uptime unwraps ~31 min ahead), or, for the next packet by its counter, a garbled
stamp. Taken as it was, every later sample landed minutes in the future."""


class SensorLink:
    def __init__(
        self,
        placement: str,
        address: str,
        driver: SensorDriver,
        *,
        settings: LinkSettings,
        clock: Clock,
        t0_s: float,
        emit: Callable[[Event], None],
        device: BLEDevice | None = None,
    ) -> None:
        self.placement = placement
        self.address = address.upper()
        self.driver = driver
        self.settings = settings
        self.clock = clock
        self.t0_s = t0_s
        self.emit = emit
        self.device = device
        self.status = SensorStatus(placement=placement, address=self.address, driver=driver.kind)
        self.gaps = GapTracker(seq_modulo=driver.seq_modulo)
        self.sync = ClockSync(max_drift_ppm=driver.clock_max_drift_ppm)
        self._time = Unwrapper(driver.time_modulo_us or (1 << 64))
        self._raw: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        self._client: BleakClient | None = None
        self._disconnected = asyncio.Event()
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._streaming = asyncio.Event()
        self.first_error: BaseException | None = None
        self.info: StreamInfo | None = None
        self._last_time_s: float | None = None
        self._last_dev_us: int | None = None
        self._last_packet: tuple[int, float] | None = None  # (device µs, arrival) accepted
        self._restart_gap = False  # the device clock restarted: book the outage on host time

    # ------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock() - self.t0_s

    def _event(self, kind: str, message: str = "") -> None:
        self.status.state = kind
        self.emit(LinkEvent(self.placement, kind, self._now(), message))

    def _on_data(self, data: bytes) -> None:  # bleak callback: enqueue only
        self._raw.put_nowait((self.clock(), data))

    def _on_disconnect(self, _client: BleakClient) -> None:
        self._disconnected.set()

    async def wait_streaming(self) -> None:
        await self._streaming.wait()

    # ------------------------------------------------------------------
    async def run(self) -> None:
        """Connect and stream until :meth:`stop`; reconnect with backoff after a loss."""
        decoder = asyncio.create_task(self._decode_loop(), name=f"decode-{self.placement}")
        backoff = self.settings.backoff_min_s
        try:
            while not self._stopping:
                try:
                    await self._session()
                    backoff = self.settings.backoff_min_s
                except Exception as exc:  # any failure of one try: retry, never end the link
                    err = _advice(exc, self.address)
                    self.status.last_error = str(err)
                    if self.first_error is None and not self._streaming.is_set():
                        self.first_error = err
                    if self._stopping:
                        break
                    self._event("retrying", f"{err}; retrying in {backoff:.1f} s")
                if self._stopping:
                    break
                await self._unless_stopped(asyncio.sleep(backoff * random.uniform(0.8, 1.2)))
                backoff = min(backoff * 2, self.settings.backoff_max_s)
        finally:
            self._raw.put_nowait(None)
            await decoder
            self._event("stopped")

    async def _unless_stopped(self, work: Coroutine[Any, Any, T]) -> T | None:
        """Await ``work`` unless :meth:`stop` comes first: then it is cancelled (and waited
        for) and the result is ``None``. Its errors are raised as they are."""
        task = asyncio.create_task(work)
        stop = asyncio.create_task(self._stop_requested.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when this task is cancelled: neither is left running
            stop.cancel()
            if not task.done():
                task.cancel()
            await asyncio.wait({task, stop})
        return None if task.cancelled() else task.result()

    async def _find(self) -> BLEDevice | None:
        """The device to connect to; ``None`` if :meth:`stop` came during the scan."""
        if self.device is not None:
            return self.device
        self._event("connecting", "scanning")
        device = await self._unless_stopped(
            BleakScanner.find_device_by_address(
                self.address,
                timeout=self.settings.scan_timeout_s,
                **(self.settings.scanner_kwargs or {}),
            )
        )
        if self._stopping:
            return None
        if device is None:
            raise BridgeError(
                f"{self.placement} sensor {self.address} not found; switch it on and bring it close"
            )
        return device

    async def _session(self) -> None:
        device = await self._find()
        if device is None or self._stopping:  # stopped while scanning: do not connect again
            return
        self.device = None  # rescan after a loss: the address may come back on a new device
        self._event("connecting", "connecting")
        self._disconnected.clear()
        kwargs = dict(self.settings.client_kwargs or {})
        if self.settings.client_backend is not None:
            kwargs["backend"] = self.settings.client_backend
        client = await establish_connection(
            BleakClient,
            device,
            f"{self.placement} {self.address}",
            disconnected_callback=self._on_disconnect,
            max_attempts=self.settings.connect_attempts,
            use_services_cache=False,
            **kwargs,
        )
        self._client = client
        try:
            self.status.name = device.name
            self.status.connects += 1
            self.status.connected = True
            self._event("connected")
            with contextlib.suppress(BleakError, TimeoutError):
                self.status.battery_pct = await self.driver.read_battery(client)
            info = await self.driver.start(
                client, self._on_data, rate_hz=self.settings.rate_hz, clock=self.clock
            )
            self.info = info
            self.status.nominal_rate_hz = 1e6 / info.period_us
            if info.device_time_us is not None:
                self._seed_device_time(info.device_time_us)
            self._streaming.set()
            self._event("streaming")
            prober = None
            if self.driver.supports_probe and self.settings.probe_interval_s > 0:
                prober = asyncio.create_task(self._probe_loop(client))
            try:
                await self._disconnected.wait()
            finally:
                if prober is not None:
                    prober.cancel()
                    with contextlib.suppress(asyncio.CancelledError, BleakError, BridgeError):
                        await prober
            if not self._stopping:
                self.gaps.disconnected()
                self._event("disconnected", "link lost")
        finally:
            self.status.connected = False
            self._client = None
            if client.is_connected:
                with contextlib.suppress(BleakError, TimeoutError, BridgeError):
                    await client.disconnect()

    def _seed_device_time(self, device_time_us: int) -> None:
        """A full device clock reading: detect a reboot (clock went back) and give the
        unwrapper its high bits."""
        last = self._last_dev_us
        if last is not None and device_time_us < last - 1_000_000:
            self._device_restarted()
        # re-anchored at every connection: after more than 2^31 us (35.8 min) away, the u32
        # packet times cannot be unwrapped from the last packet's any more
        self._time.reset()
        self._last_dev_us = self._time(device_time_us)

    def _device_restarted(self) -> None:
        """The device clock started over (a reboot or power cycle): time alignment and the
        packet bookkeeping start over too, and the outage is booked on host time."""
        self.sync.reset()
        self.gaps.restarted()
        self._last_packet = None
        self._restart_gap = self._last_time_s is not None

    def _book_restart_gap(self, first_s: float, period_us: float) -> None:
        """A gap from the last sample handed out to ``first_s``, the first after a device
        clock restart (device times on either side are not comparable)."""
        assert self._last_time_s is not None
        period_s = period_us * 1e-6
        start = self._last_time_s + period_s
        lost = max(round((first_s - start) / period_s), 0)
        if lost == 0:
            return
        self.gaps.stats.samples_lost += lost
        self.emit(GapEvent(self.placement, start, first_s - start, lost, None, "disconnect"))

    async def _probe_loop(self, client: BleakClient) -> None:
        s = self.settings
        warm_until = self.clock() + s.probe_warmup_s
        while client.is_connected and not self._stopping:
            warm = s.probe_warmup_interval_s > 0 and self.clock() < warm_until
            mean = s.probe_warmup_interval_s if warm else s.probe_interval_s
            await asyncio.sleep(random.uniform(0.5 * mean, 1.5 * mean))
            try:
                probe = await self.driver.probe(client, self.clock)
            except (BleakError, BridgeError, TimeoutError):
                continue
            if probe is not None and self._last_dev_us is not None:
                dev = self._time(probe.device_us)
                self.sync.observe_probe(dev, probe.host_sent_s, probe.host_received_s)

    async def haptic(self, *, intensity_pct: int, pattern_ms: tuple[int, ...]) -> bool:
        """Buzz this sensor now; False if it is not streaming or cannot buzz."""
        client = self._client
        if client is None or not client.is_connected or not self._streaming.is_set():
            return False
        try:
            return await self.driver.haptic(
                client, intensity_pct=intensity_pct, pattern_ms=pattern_ms
            )
        except (BleakError, BridgeError, TimeoutError):
            return False

    async def stop(self) -> None:
        """Stop streaming and disconnect; :meth:`run` then returns."""
        self._stopping = True
        self._stop_requested.set()  # wakes the backoff sleep and the scan
        client = self._client
        if client is not None and client.is_connected:
            with contextlib.suppress(BleakError, BridgeError, TimeoutError, EOFError):
                async with asyncio.timeout(self.settings.stop_timeout_s):
                    await self.driver.stop(client)
            with contextlib.suppress(BleakError, TimeoutError, EOFError):
                async with asyncio.timeout(self.settings.stop_timeout_s):
                    await client.disconnect()
        self.status.malformed_events = self.driver.malformed_events
        self._disconnected.set()

    # ------------------------------------------------------------------
    async def _decode_loop(self) -> None:
        while True:
            item = await self._raw.get()
            if item is None:
                return
            arrival, data = item
            try:
                self._handle(arrival, data)
            except Exception:  # one bad packet must never stop the stream
                log.exception("%s: packet handling failed; dropped", self.placement)
                self.gaps.malformed()
                self.status.malformed = self.gaps.stats.malformed

    def _handle(self, arrival: float, data: bytes) -> None:
        st = self.status
        st.malformed_events = self.driver.malformed_events
        try:
            frame = self.driver.decode(data)
        except ValueError:  # MalformedPacket and any bounds problem
            self.gaps.malformed()
            st.malformed = self.gaps.stats.malformed
            return
        if frame is None:  # the driver holds it (e.g. to pair ACC with GYRO frames)
            return
        if frame.backfill:
            self.gaps.stats.backfill_dropped += 1
            return
        t0 = self._time(frame.t0_us)
        prev = self._last_packet
        if prev is not None and (t0 - prev[0]) * 1e-6 > arrival - prev[1] + CLOCK_JUMP_S:
            # the device clock ran minutes ahead of the host's since the last packet
            if self.gaps.next_by_counter(frame.seq):  # the very next packet: a garbled stamp
                self.gaps.malformed()
                st.malformed = self.gaps.stats.malformed
                return
            self._device_restarted()  # e.g. a DOT switched off and on: its clock restarted
        self._last_dev_us = t0
        verdict = self.gaps.check(
            t0_us=t0,
            period_us=frame.period_us,
            count=frame.count,
            seq=frame.seq,
            gap_before=frame.gap_before,
        )
        if not verdict.accept:
            st.duplicates = self.gaps.stats.duplicates
            return
        if verdict.restarted:
            self.sync.reset()
            self._restart_gap = True
        self._last_packet = (t0, arrival)
        self.sync.observe(round(t0 + frame.last_offset_us), arrival)
        dev_us = t0 + np.arange(frame.count) * frame.period_us
        time_s = self.sync.to_host_s(dev_us) - self.t0_s
        if self._last_time_s is not None and time_s[0] <= self._last_time_s:
            # Never hand out times that go back (e.g. after a reboot reset): shift forward.
            time_s = time_s + (self._last_time_s - time_s[0] + 1e-6)
        if self._restart_gap:
            self._restart_gap = False
            self._book_restart_gap(float(time_s[0]), frame.period_us)
        self._last_time_s = float(time_s[-1])
        if verdict.gap is not None:
            g = verdict.gap
            start = float(self.sync.to_host_s(g.start_device_us)) - self.t0_s
            self.emit(
                GapEvent(
                    self.placement,
                    start,
                    g.duration_us * 1e-6,
                    g.samples_lost,
                    g.packets_lost,
                    g.cause,
                )
            )
        stats = self.gaps.stats
        st.packets, st.samples = stats.packets, stats.samples
        st.samples_lost, st.packets_lost = stats.samples_lost, stats.packets_lost
        st.clock_drift_ppm = self.sync.drift_ppm
        unc = self.sync.uncertainty_s
        st.clock_uncertainty_ms = None if unc is None else unc * 1e3
        st.note_samples(arrival - self.t0_s, frame.count)
        self.emit(
            SampleBlock(
                sensor=self.placement,
                time_s=time_s,
                acc_g=frame.acc_g,
                gyr_dps=frame.gyr_dps,
                device_time_s=dev_us * 1e-6,
                arrival_s=arrival - self.t0_s,
                seq=frame.seq,
            )
        )


def _advice(exc: BaseException, address: str) -> BridgeError:
    """Any connection failure as a BridgeError with advice, chained to the cause."""
    if isinstance(exc, BridgeError):
        return exc
    if isinstance(exc, BleakNotFoundError):
        msg = f"{address} not found: switch the sensor on, bring it close ({exc})"
    elif isinstance(exc, BleakConnectionError):
        msg = f"{address}: could not connect ({exc})"
    else:
        msg = f"{address}: {type(exc).__name__}: {exc}"
    err = BridgeError(msg)
    err.__cause__ = exc
    return err
