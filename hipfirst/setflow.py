"""Guided set-up and set flow: stand still -> neutral -> (practice hinges) -> go; rests.

``SetFlow`` is a ``LiveHooks``; it reads the pipeline's own state (neutral found, axes
learned, newest tilts) and says what to do next through ``say`` (print, speech, the
dashboard). After the practice hinges it checks the placements
(:mod:`analysis.placement_check`) and names the sensor that looks wrong. After a standing
rest between sets it says the neutral was refreshed (the pipeline re-anchors it on rests).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analysis.placement_check import check_practice
from analysis.results import LiveEvent
from analysis.stream import LatestAngles
from hipfirst.live.session import LiveHooks

STAND = "Stand tall and still for a few seconds..."
NEUTRAL = "Neutral captured."
GO = "Go!"
REST_S = 8.0


class SetFlow(LiveHooks):
    def __init__(self, *, practice_reps: int = 0, say: Callable[[str], None] = print) -> None:
        self.practice_reps = practice_reps
        self.say = say
        self.state = "stand"
        self.said: list[str] = []
        self.problems: list[str] = []
        self._tilts: dict[str, list[float]] = {}
        self._reps = 0
        self._last_rep_end: float | None = None
        self._rest_said = False
        self._pipeline: object | None = None
        self._tell(STAND)

    def _tell(self, text: str) -> None:
        self.said.append(text)
        self.say(text)

    def attach(self, session: object) -> None:
        self._pipeline = getattr(session, "pipeline", None)

    def on_angles(self, latest: LatestAngles) -> None:
        if self.state == "stand":
            neutral = getattr(getattr(self._pipeline, "neutral", None), "found", False)
            if neutral or (latest.hip_deg is not None and np.isfinite(latest.hip_deg)):
                self.state = "practice" if self.practice_reps else "go"
                self._tell(NEUTRAL)
                if self.practice_reps:
                    self._tell(
                        f"Now {self.practice_reps} slow practice hinges: push the hips back."
                    )
                else:
                    self._tell(GO)
        elif self.state == "practice":
            for name, v in latest.tilts_deg.items():
                self._tilts.setdefault(name, []).append(v)
        if (
            self.state == "go"
            and self._last_rep_end is not None
            and not self._rest_said
            and latest.time_s - self._last_rep_end > REST_S
        ):
            self._rest_said = True
            self._tell("Resting: stand tall and still, the neutral is being refreshed.")

    def on_event(self, event: LiveEvent) -> None:
        if event.kind != "rep_end":
            return
        self._reps += 1
        self._last_rep_end = event.time_s
        self._rest_said = False
        if self.state == "practice" and self._reps >= self.practice_reps:
            tilts = {n: np.asarray(v, dtype=float) for n, v in self._tilts.items()}
            self.problems = check_practice(tilts)
            for p in self.problems:
                self._tell(p[0].upper() + p[1:])
            self._tell(
                "Placement looks right. " + GO if not self.problems else "Fix that, then: " + GO
            )
            self.state = "go"
