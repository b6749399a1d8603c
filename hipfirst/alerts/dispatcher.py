"""Alerts from the live pipeline -> policy -> audio cue and haptic buzz (a ``LiveHooks``)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import numpy as np

from analysis.results import LiveEvent
from hipfirst.alerts.cues import render_cues
from hipfirst.alerts.haptic import HapticOut
from hipfirst.alerts.policy import AlertPolicy
from hipfirst.alerts.sinks import AudioSink
from hipfirst.live.session import LiveHooks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    time_s: float
    rep: int
    flag: str
    delivered: bool
    why_not: str | None = None


class AlertDispatcher(LiveHooks):
    def __init__(
        self,
        *,
        policy: AlertPolicy | None = None,
        audio: AudioSink | None = None,
        haptic: HapticOut | None = None,
        speech: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.policy = policy or AlertPolicy()
        self.audio = audio
        self.haptic = haptic
        self.cues = render_cues(speech=speech)  # all rendering happens here, up front
        self.log: list[Delivery] = []
        self._tasks: set[asyncio.Task[bool]] = set()

    def on_event(self, event: LiveEvent) -> None:
        if event.kind != "alert" or event.flag is None:
            return
        decided = time.perf_counter()
        why = self.policy.decide(flag=event.flag, rep=event.rep_index, time_s=event.time_s)
        self.log.append(Delivery(event.time_s, event.rep_index, event.flag, why is None, why))
        if why is not None:
            return
        if self.audio is not None and event.flag in self.cues:
            self.audio.play(event.flag, self.cues[event.flag])
        if self.haptic is not None:
            task = asyncio.get_running_loop().create_task(self.haptic.buzz(event.flag, decided))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for haptic writes still in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        if self.audio is not None:
            self.audio.close()
