"""Alerts from the live pipeline -> policy -> audio cue and haptic buzz.

:class:`AlertDispatcher` is a :class:`hipfirst.live.session.LiveHooks`; hooking it into a
live set takes the manager (for the buzz) and a sink (for the sound)::

    manager = SensorManager(targets, settings=...)
    alerts = AlertDispatcher(
        policy=AlertPolicy(cooldown_s=2.0, muted={"torso_drift"}),
        audio=open_audio_sink("auto"),           # device, else terminal bell; never raises
        haptic=HapticOut(manager, placement="lumbar"),
        speech=render_speech("en")[0],           # optional; {} without espeak-ng
        on_record=recorder_note,                 # optional: every decision, for the sidecar
    )
    session = LiveSession(manager, hooks=[alerts, ...])
    await session.run(stop=stop)
    alerts.close()                               # lets queued cues finish, closes the sink
    sidecar["alerts_delivered"] = alerts.to_json()

Everything slow happens in the constructor: tones and spoken words are rendered to PCM
there. ``on_event`` (called in the event loop for every ``LiveEvent``) does the policy
check, queues a reference to the cue's buffer for the audio callback and schedules the buzz
as a task (the write and its ack happen over BLE while the loop goes on); it never blocks
and never raises. Every alert the pipeline raised is recorded (:attr:`log`, and
``on_record`` if given) with its session time, rep and whether it was delivered or why not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.results import LiveEvent
from hipfirst.alerts.cues import RATE_HZ, render_cues
from hipfirst.alerts.haptic import HapticOut
from hipfirst.alerts.policy import AlertPolicy
from hipfirst.alerts.sinks import AudioSink
from hipfirst.live.session import LiveHooks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    time_s: float
    """Session time of the sample that raised the alert."""
    rep: int
    flag: str
    delivered: bool
    why_not: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "time_s": round(self.time_s, 4),
            "rep": self.rep,
            "flag": self.flag,
            "delivered": self.delivered,
            "why_not": self.why_not,
        }


class AlertDispatcher(LiveHooks):
    def __init__(
        self,
        *,
        policy: AlertPolicy | None = None,
        audio: AudioSink | None = None,
        haptic: HapticOut | None = None,
        speech: dict[str, np.ndarray] | None = None,
        rate_hz: int = RATE_HZ,
        on_record: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.policy = policy or AlertPolicy()
        self.audio = audio
        self.haptic = haptic
        self.cues = render_cues(rate_hz=rate_hz, speech=speech)  # rendered once, up front
        self.on_record = on_record
        self.log: list[Delivery] = []
        self._tasks: set[asyncio.Task[bool]] = set()

    def on_event(self, event: LiveEvent) -> None:
        if event.kind == "rep_discard":
            self.policy.forget_rep(event.rep_index)
        if event.kind != "alert" or event.flag is None:
            return
        decided = time.perf_counter()
        why = self.policy.decide(flag=event.flag, rep=event.rep_index, time_s=event.time_s)
        if why is None and event.flag not in self.cues:
            why = "no cue for this fault"
        if why is None:
            if self.audio is not None:
                self.audio.play(event.flag, self.cues[event.flag])
            if self.haptic is not None:
                self._buzz(event.flag, decided)
        self._record(Delivery(event.time_s, event.rep_index, event.flag, why is None, why))

    def _buzz(self, flag: str, decided: float) -> None:
        assert self.haptic is not None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("alerts: no event loop running, no buzz for %s", flag)
            return
        task = loop.create_task(self.haptic.buzz(flag, decided))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, d: Delivery) -> None:
        self.log.append(d)
        if self.on_record is not None:
            try:
                self.on_record(d)
            except Exception:
                log.exception("alerts: on_record failed")

    def to_json(self) -> list[dict[str, object]]:
        """Every alert seen, in order, for the session's sidecar."""
        return [d.to_json() for d in self.log]

    async def drain(self) -> None:
        """Wait for the buzzes still in flight."""
        while self._tasks:
            tasks = list(self._tasks)
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)

    def close(self) -> None:
        """Let the queued cues finish and close the audio sink (safe to call twice)."""
        if self.audio is not None:
            self.audio.close()
