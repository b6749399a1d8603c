"""Pause-hold feedback for the hinge drill: "hold 2 s" at the bottom and a stability score.

A ``LiveHooks`` reading the newest angles: once a rep is deep (hip flexion past
``deep_deg``) the hold clock runs while the hip stays within ``band_deg`` of its deepest
point so far; when it reaches ``hold_s`` it says so ("2 s - good hold, now stand up"). At the
rep's end it reports the hold time and a stability score from how much the trunk moved
while the hips were within 2° of the bottom (``analysis.hold``, the same score the review
reports afterwards).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.hold import STILL_DEG, stability_score
from analysis.results import LiveEvent
from analysis.stream import LatestAngles
from hipfirst.live.session import LiveHooks


@dataclass(frozen=True)
class HoldResult:
    rep: int
    hold_s: float
    stability: int | None


class HoldCoach(LiveHooks):
    def __init__(
        self,
        *,
        hold_s: float = 2.0,
        band_deg: float = 5.0,
        deep_deg: float = 20.0,
        trunk: str = "lumbar",
        say: Callable[[str], None] = print,
    ) -> None:
        self.hold_target_s = hold_s
        self.band_deg = band_deg
        self.deep_deg = deep_deg
        self.trunk = trunk
        self.say = say
        self.results: list[HoldResult] = []
        self._reset()

    def _reset(self) -> None:
        self._times: list[float] = []
        self._hips: list[float] = []
        self._held = 0.0
        self._told = False
        self._trunk: list[tuple[float, float]] = []

    def on_angles(self, latest: LatestAngles) -> None:
        hip = latest.hip_deg
        if hip is None or not np.isfinite(hip) or hip < self.deep_deg:
            return
        self._times.append(latest.time_s)
        self._hips.append(hip)
        hips = np.asarray(self._hips)
        peak = float(hips.max())
        if hip < peak - self.band_deg:  # on the way up: the hold is over
            return
        # the hold began when the hips first came within the band of the deepest point
        start = self._times[int(np.argmax(hips >= peak - self.band_deg))]
        self._held = max(self._held, latest.time_s - start)
        tilt = latest.tilts_deg.get(self.trunk, latest.tilts_deg.get("sacrum"))
        if tilt is not None and np.isfinite(tilt):
            self._trunk.append((hip, tilt))
        if not self._told and self._held >= self.hold_target_s:
            self._told = True
            self.say(f"{self.hold_target_s:g} s - good hold, now stand up.")

    def on_event(self, event: LiveEvent) -> None:
        if event.kind != "rep_end":
            return
        pairs = np.asarray(self._trunk).reshape(-1, 2)
        # the still part of the hold: hips within 2° of the bottom (not the last of the
        # descent or the first of the ascent, when the trunk moves with the hips)
        trunk = pairs[pairs[:, 0] >= pairs[:, 0].max() - STILL_DEG, 1] if len(pairs) else pairs
        score = stability_score(trunk)
        r = HoldResult(event.rep_index, round(self._held, 2), score)
        self.results.append(r)
        shown = math.floor(r.hold_s * 10) / 10  # as said, so 1.97 s is "1.9 s", short of 2
        held = "no hold" if r.hold_s < 0.3 else f"held {shown:.1f} s"
        tail = "" if score is None else f", stability {score}/100"
        short = f" (aim for {self.hold_target_s:g} s)" if shown < self.hold_target_s else ""
        self.say(f"rep {r.rep}: {held}{short}{tail}")
        self._reset()
