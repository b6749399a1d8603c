"""Run one live set: every sample to the pipeline (and the recorder), events to the hooks.

``LiveSession(manager, config=..., recorder=..., hooks=[...])``; ``await session.run(
stop=event)`` consumes the manager until ``stop`` is set (Ctrl-C in the CLI) or
``duration_s`` passes, then stops the sensors, flushes the pipeline and closes the recorder.
Hooks are called in the loop and must be quick (queue work elsewhere); a hook that raises
is logged and skipped, never stops the set. ``session.subscribe()`` gives an
``asyncio.Queue`` of the same events for consumers that prefer to await.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

from analysis.config import PipelineConfig
from analysis.results import LiveEvent
from analysis.stream import LatestAngles, SensorSpec, StreamingPipeline
from firmware_bridge.manager import GapEvent, LinkEvent, SampleBlock, SensorManager, SensorStatus

log = logging.getLogger(__name__)


class Recorder(Protocol):
    """What the live session needs from a session recorder (``hipfirst.recording``)."""

    def add_samples(self, block: SampleBlock) -> None: ...
    def add_gap(self, gap: GapEvent) -> None: ...
    def add_alert(self, event: LiveEvent) -> None: ...
    def close(self, *, status: dict[str, SensorStatus]) -> None: ...


class LiveHooks:
    """Override what you need; every method is called from the event loop."""

    def on_event(self, event: LiveEvent) -> None:
        """Rep start/bottom/end and alerts from the pipeline."""

    def on_link(self, event: LinkEvent) -> None:
        """Connected, disconnected, retrying... per sensor."""

    def on_gap(self, gap: GapEvent) -> None:
        """Samples that never arrived."""

    def on_status(self, status: dict[str, SensorStatus]) -> None:
        """Called about twice a second with each sensor's live status."""

    def on_angles(self, latest: LatestAngles) -> None:
        """The newest angles after each batch of samples (keep it cheap)."""

    def on_samples(self, block: SampleBlock) -> None:
        """Every decoded batch of raw samples of one sensor (``block.sensor``, ``time_s``
        on the session clock, ``acc_g``, ``gyr_dps`` or None), before the pipeline sees
        it. Called for every notification: keep it cheap."""


@dataclass
class LiveSummary:
    events: list[LiveEvent] = field(default_factory=list)
    gaps: list[GapEvent] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    """Per alert: session-clock time from the newest notification's arrival to the alert."""

    @property
    def alerts(self) -> list[LiveEvent]:
        return [e for e in self.events if e.kind == "alert"]


class LiveSession:
    def __init__(
        self,
        manager: SensorManager,
        *,
        config: PipelineConfig | None = None,
        recorder: Recorder | None = None,
        hooks: list[LiveHooks] | None = None,
        rate_hz: float = 200.0,
        has_gyro: bool = True,
        status_interval_s: float = 0.5,
    ) -> None:
        self.manager = manager
        self.config = config or PipelineConfig()
        specs = {p: SensorSpec(rate_hz=rate_hz, has_gyro=has_gyro) for p in manager.links}
        self.pipeline = StreamingPipeline(self.config, sensors=specs)
        self.recorder = recorder
        self.hooks = list(hooks or [])
        for hook in self.hooks:  # views that read the newest angles get the session
            attach = getattr(hook, "attach", None)
            if callable(attach):
                attach(self)
        self.summary = LiveSummary(samples={p: 0 for p in manager.links})
        self._subscribers: list[asyncio.Queue[LiveEvent | GapEvent | LinkEvent]] = []
        self._status_interval_s = status_interval_s

    def subscribe(self) -> asyncio.Queue[LiveEvent | GapEvent | LinkEvent]:
        q: asyncio.Queue[LiveEvent | GapEvent | LinkEvent] = asyncio.Queue()
        self._subscribers.append(q)
        return q

    def _call(self, name: str, arg: object) -> None:
        for hook in self.hooks:
            try:
                getattr(hook, name)(arg)
            except Exception:
                log.exception("live hook %s.%s failed", type(hook).__name__, name)

    def _publish(self, item: LiveEvent | GapEvent | LinkEvent) -> None:
        for q in self._subscribers:
            q.put_nowait(item)

    def _pipeline_events(self, events: list[LiveEvent], arrival_s: float | None) -> None:
        for ev in events:
            self.summary.events.append(ev)
            if ev.kind == "alert":
                if arrival_s is not None:
                    self.summary.latencies_s.append(self.manager.now_s() - arrival_s)
                if self.recorder is not None:
                    self.recorder.add_alert(ev)
            self._call("on_event", ev)
            self._publish(ev)

    async def run(
        self, *, stop: asyncio.Event | None = None, duration_s: float | None = None
    ) -> LiveSummary:
        stop = stop or asyncio.Event()
        self.manager.start()
        ender = asyncio.create_task(self._end_when(stop, duration_s))
        ticker = asyncio.create_task(self._status_loop())
        try:
            async for item in self.manager.events():
                if isinstance(item, SampleBlock):
                    self.summary.samples[item.sensor] += len(item.time_s)
                    if self.recorder is not None:
                        self.recorder.add_samples(item)
                    self._call("on_samples", item)
                    events = self.pipeline.push(item.sensor, item.time_s, item.acc_g, item.gyr_dps)
                    if self.pipeline.latest is not None:
                        self._call("on_angles", self.pipeline.latest)
                    self._pipeline_events(events, item.arrival_s)
                elif isinstance(item, GapEvent):
                    self.summary.gaps.append(item)
                    if self.recorder is not None:
                        self.recorder.add_gap(item)
                    self._call("on_gap", item)
                    self._publish(item)
                else:
                    self._call("on_link", item)
                    self._publish(item)
            self._pipeline_events(self.pipeline.finish(), None)
        finally:
            ender.cancel()
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ender
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self.manager.stop()
            if self.recorder is not None:
                self.recorder.close(status=self.manager.status)
        return self.summary

    async def _end_when(self, stop: asyncio.Event, duration_s: float | None) -> None:
        if duration_s is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(duration_s):
                    await stop.wait()
        await self.manager.stop()

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self._status_interval_s)
            self._call("on_status", self.manager.status)
