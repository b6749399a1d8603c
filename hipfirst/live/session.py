"""Run one live set: every sample to the pipeline (and the recorder), events to the hooks.

``LiveSession(manager, config=..., recorder=..., hooks=[...])``; ``await session.run(
stop=event)`` consumes the manager until ``stop`` is set (Ctrl-C in the CLI) or
``duration_s`` passes, then stops the sensors, flushes the pipeline and closes the recorder.
Hooks are called in the loop and must be quick (queue work elsewhere); a hook that raises
is logged and skipped, never stops the set. ``session.subscribe()`` gives an
``asyncio.Queue`` of the same events for consumers that prefer to await.

``session.recalibrate(relearn=[...])`` re-finds the neutral mid-session (a sensor was
re-clipped) without touching the BLE links or the recording: from the next sample on a
fresh pipeline searches a new standing-still neutral, then keeps the flexion axes of the
sensors that were not re-clipped (:mod:`hipfirst.live.recalibrate`). Rep numbers carry
on. The recording's sidecar gets a ``calibration`` entry for the request
(``kind: "recalibrate"``) and one per neutral found (``kind: "neutral"``, its still window).

Sensor buttons (drivers with an ``on_button`` callback, e.g. the Movella DOT) reach the
hooks as :class:`~hipfirst.live.buttons.ButtonEvent` (``on_button``); the set flow marks
sets with them. ``session.add_marker(kind, time_s, source=..., sensor=...)`` logs such marks
(``SessionRecorder.add_marker``: ``markers`` in the sidecar within a flush interval, so a
crash keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from analysis.config import PipelineConfig
from analysis.results import LiveEvent
from analysis.stance import live_note
from analysis.stream import LatestAngles, SensorSpec, StreamingPipeline
from firmware_bridge.manager import GapEvent, LinkEvent, SampleBlock, SensorManager, SensorStatus
from hipfirst.live.buttons import ButtonEvent, wire_buttons
from hipfirst.live.recalibrate import KEEP_AXIS_MAX_DEG, Recalibration, carried_axes

log = logging.getLogger(__name__)

MAX_DEFER = 32
"""A session that is behind (blocks already waiting) batches up to this many blocks into
one pipeline run: caught up sooner, and never more than 32 blocks without output."""


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

    def on_button(self, press: ButtonEvent) -> None:
        """A sensor's button was clicked (``press.clicks`` times)."""

    def on_recalibrate(self, rec: Recalibration) -> None:
        """A recalibration started: ``session.pipeline`` is now a fresh pipeline searching
        the new neutral (``rec.done`` once found)."""

    def on_note(self, text: str) -> None:
        """Something to tell the lifter about the whole session, once it has ended (e.g.
        there was no standing start; ``summary.notes`` keeps them)."""


@dataclass
class LiveSummary:
    events: list[LiveEvent] = field(default_factory=list)
    gaps: list[GapEvent] = field(default_factory=list)
    samples: dict[str, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    """Per alert: session-clock time from the newest notification's arrival to the alert."""
    recalibrations: list[Recalibration] = field(default_factory=list)
    buttons: list[ButtonEvent] = field(default_factory=list)
    markers: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Plain-words notes on the whole session, made at its end (``LiveHooks.on_note``)."""

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
        keep_axis_max_deg: float = KEEP_AXIS_MAX_DEG,
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
        self.keep_axis_max_deg = keep_axis_max_deg
        self._pending: Recalibration | None = None  # requested, pipeline not swapped yet
        self._searching: Recalibration | None = None  # swapped, new neutral not found yet
        self._neutral_logged = False
        self.button_sensors = wire_buttons(manager, self._button)
        self._deferred = 0  # blocks pushed without a pipeline run (see MAX_DEFER)
        self._rep_base = 0  # reps the pipelines before the current one completed
        self._max_rep = 0  # highest rep number completed so far
        self._max_before_practice = 0  # ``_max_rep`` when the practice phase began

    def recalibrate(self, *, relearn: Iterable[str] = (), reason: str = "") -> Recalibration:
        """Re-find the neutral from the next sample on (stand tall and still for
        ``neutral_s``); ``relearn``: sensors whose flexion axis must be learned again (the
        re-clipped ones; others keep theirs unless their neutral moved, see
        :mod:`hipfirst.live.recalibrate`). Safe to call from a hook."""
        pipe = self.pipeline
        if self._searching is not None:  # the last one never found its neutral: use its start
            old_u0, old_axes = self._searching.old_u0, self._searching.old_axes
        else:
            u0 = pipe.neutral.u0
            old_u0 = None if u0 is None else np.array(u0, dtype=float)
            old_axes = np.array(pipe.tilt.axis, dtype=float)
        relearn = frozenset(relearn) | (self._pending.relearn if self._pending else frozenset())
        rec = Recalibration(
            requested_s=self.manager.now_s(),
            sensors=list(pipe.layout.sensors),
            old_u0=old_u0,
            old_axes=old_axes,
            relearn=relearn,
            reason=reason,
        )
        self._pending = rec
        return rec

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

    def add_marker(
        self,
        kind: str,
        time_s: float,
        *,
        source: str = "app",
        sensor: str | None = None,
        **info: str | int | float | bool | None,
    ) -> None:
        """Log a mark (``set_start``, ``set_end``, ``recalibrate``...) in the summary and the
        recording (``recorder.add_marker``: crash-safe, in the sidecar's ``markers``).
        ``source``: ``button`` (``sensor``: whose), ``key`` or ``app``."""
        who = {} if sensor is None else {"sensor": sensor}
        mark = {"time_s": round(time_s, 4), "kind": kind, "source": source, **who, **info}
        self.summary.markers.append(mark)
        if kind == "practice_start":
            self._max_before_practice = self._max_rep
        elif kind == "practice_end":
            # the set's reps carry on from the last set rep (from 1 after the first
            # practice phase), as the review of the recording numbers them: live, the set's
            # first rep was "rep 3" after two practice hinges, and after a second practice
            # phase (a re-clipped sensor) the next set counted from 1 again
            self._rep_base -= self._max_rep - self._max_before_practice
            self._max_rep = self._max_before_practice
        add = getattr(self.recorder, "add_marker", None)
        if callable(add):
            add(time_s=time_s, kind=kind, source=source, sensor=sensor, **info)

    def _button(self, press: ButtonEvent) -> None:
        self.summary.buttons.append(press)
        self._call("on_button", press)

    def _apply_recalibration(self, rec: Recalibration, from_s: float) -> None:
        """Swap in a fresh pipeline (the old one's settling rep is closed first); its first
        sample is at ``from_s``."""
        self._pending = None
        rec.from_s = from_s
        self._pipeline_events(self.pipeline.finish(), None)
        self._rep_base = self._max_rep
        self.pipeline = StreamingPipeline(self.config, sensors=dict(self.pipeline.specs))
        self._searching = rec
        self._neutral_logged = False
        self.summary.recalibrations.append(rec)
        add = getattr(self.recorder, "add_calibration", None)
        if callable(add):
            add(start_s=from_s, end_s=from_s, kind="recalibrate", relearn=sorted(rec.relearn))
        for hook in self.hooks:
            attach = getattr(hook, "attach", None)
            if callable(attach):
                attach(self)
        self._call("on_recalibrate", rec)

    def _neutral_found(self) -> None:
        """The current pipeline found its (first) neutral: record its window; after a
        recalibration, carry the learned axes over."""
        self._neutral_logged = True
        pipe = self.pipeline
        t_end = pipe.neutral.anchors[0][0]
        add = getattr(self.recorder, "add_calibration", None)
        if callable(add):
            add(start_s=t_end - self.config.neutral_s, end_s=t_end, kind="neutral")
        rec, self._searching = self._searching, None
        if rec is None or pipe.neutral.u0 is None:
            return
        axes = carried_axes(rec, pipe.neutral.u0, keep_axis_max_deg=self.keep_axis_max_deg)
        if np.isfinite(axes).any():
            pipe.tilt.seed(axes)
        rec.neutral_s = t_end
        log.info("recalibrated: %s", rec.to_json())

    def _pipeline_events(self, events: list[LiveEvent], arrival_s: float | None) -> None:
        for ev in events:
            if self._rep_base:
                ev = _renumbered(ev, self._rep_base)
            if ev.kind == "rep_end":  # a rep cut short by a recalibration is not counted
                self._max_rep = max(self._max_rep, ev.rep_index)
            self.summary.events.append(ev)
            if ev.kind == "alert":
                if arrival_s is not None:
                    self.summary.latencies_s.append(self.manager.now_s() - arrival_s)
                if self.recorder is not None:
                    self.recorder.add_alert(ev)
            self._call("on_event", ev)
            self._publish(ev)

    def use_stream_rates(self) -> None:
        """Once the sensors stream (``manager.wait_streaming``), before ``run``: the
        pipeline takes each sensor's own rate and gyro (a Movella DOT streams 60 Hz, a
        Polar H10 has no gyroscope) instead of the ``rate_hz`` / ``has_gyro`` assumed at
        construction. Measured on a simulated 60 Hz RDL set taken as 200 Hz: every step
        looked like a gap of missing samples, hip RMSE 4.4-5.0° against 0.6-1.1°."""
        specs = dict(self.pipeline.specs)
        for p, link in self.manager.links.items():
            info = getattr(link, "info", None)
            if info is not None and info.period_us > 0:
                specs[p] = SensorSpec(rate_hz=1e6 / info.period_us, has_gyro=not info.accel_only)
        if specs != dict(self.pipeline.specs):
            self.pipeline = StreamingPipeline(self.config, sensors=specs)

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
                    if self._pending is not None:
                        self._apply_recalibration(self._pending, float(item.time_s[0]))
                    # behind (more blocks already waiting): batch them, at most MAX_DEFER
                    defer = self.manager.backlog > 0 and self._deferred < MAX_DEFER
                    self._deferred = self._deferred + 1 if defer else 0
                    latest = self.pipeline.latest
                    events = self.pipeline.push(
                        item.sensor,
                        item.time_s,
                        item.acc_g,
                        item.gyr_dps,
                        arrival_s=item.arrival_s,
                        defer=defer,
                    )
                    if not self._neutral_logged and self.pipeline.neutral.found:
                        self._neutral_found()
                    if self.pipeline.latest is not None and self.pipeline.latest is not latest:
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
            self._end_notes()
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

    def _end_notes(self) -> None:
        """The session has ended: what the lifter should know about it as a whole. A
        neutral that looked like a hinge, with a standing posture later (the same check the
        review makes, ``analysis/stance.py``), can only be told now: during a row set the
        hold is the newest still posture, so the check cannot run mid-set."""
        pipe = self.pipeline
        verdict = pipe.not_standing
        if verdict is not None:
            note = live_note(verdict, pipe.layout.sensors)
            self.summary.notes.append(note)
            log.warning("%s", note)
            self._call("on_note", note)

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


def _renumbered(ev: LiveEvent, base: int) -> LiveEvent:
    """A later pipeline's event with rep numbers continuing the earlier pipelines'."""
    rep = None if ev.rep is None else dataclasses.replace(ev.rep, index=ev.rep.index + base)
    return dataclasses.replace(ev, rep_index=ev.rep_index + base, rep=rep)
