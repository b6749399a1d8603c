"""Pause-hold metrics of the hinge drill ("hold 2 s at the bottom"), per rep.

The same definitions live and offline (``hipfirst.hold.HoldCoach`` coaches with them
during the set; the review reports them afterwards):

- **hold time**: how long the hips stayed within ``band_deg`` (5°) of the rep's deepest
  hip flexion, over the one stretch that contains the deepest point. 5° is about the
  sway of a deliberate pause at 60-80° of hip flexion; a rep without a pause still spends
  ~0.2-0.5 s that close to its turning point.
- **stability**: how still the trunk stayed during the pause, from its sagittal tilt
  while the hips were within ``STILL_DEG`` (2°) of the bottom (not the last of the descent
  or the first of the ascent, when the trunk moves with the hips): 100 = no movement,
  minus 25 points per degree of standard deviation (a 4° wobble scores 0). ``None`` with
  fewer than 5 samples in that stretch or no trunk signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.results import SessionReview

HOLD_BAND_DEG = 5.0
STILL_DEG = 2.0
POINTS_PER_DEG = 25.0


@dataclass(frozen=True)
class HoldMetrics:
    hold_s: float | None
    stability: int | None


def stability_score(trunk_deg: np.ndarray) -> int | None:
    """Score 0-100 from the trunk tilt samples of the still part of a hold."""
    x = np.asarray(trunk_deg, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 5:
        return None
    return int(np.clip(100 - POINTS_PER_DEG * float(np.std(x)), 0, 100))


def rep_hold(
    time_s: np.ndarray,
    hip_deg: np.ndarray | None,
    trunk_deg: np.ndarray | None,
    *,
    start_s: float,
    end_s: float,
    band_deg: float = HOLD_BAND_DEG,
) -> HoldMetrics:
    """Hold time and stability of the rep spanning ``start_s``..``end_s``.

    ``time_s`` increasing; ``hip_deg`` / ``trunk_deg`` on the same time base (``None``
    when not measured: no hip angle means no hold can be measured)."""
    if hip_deg is None:
        return HoldMetrics(None, None)
    a, b = np.searchsorted(time_s, [start_s, end_s], side="left")
    t, hip = time_s[a : b + 1], hip_deg[a : b + 1]
    ok = np.isfinite(hip)
    if ok.sum() < 2:
        return HoldMetrics(None, None)
    peak_i = int(np.nanargmax(hip))
    near = ok & (hip >= hip[peak_i] - band_deg)
    # the stretch around the deepest point where the hips stayed near it
    before = np.flatnonzero(~near[: peak_i + 1])
    after = np.flatnonzero(~near[peak_i:])
    lo = int(before[-1]) + 1 if len(before) else 0
    hi = peak_i + int(after[0]) - 1 if len(after) else len(near) - 1
    hold_s = round(float(t[hi] - t[lo]), 2)
    stability = None
    if trunk_deg is not None:
        seg = slice(a + lo, a + hi + 1)
        still = hip[lo : hi + 1] >= hip[peak_i] - STILL_DEG
        stability = stability_score(trunk_deg[seg][still])
    return HoldMetrics(hold_s, stability)


def review_holds(review: SessionReview) -> list[HoldMetrics]:
    """Hold metrics of every rep of a review (trunk = lumbar sensor tilt, else sacrum)."""
    ang = review.angles
    trunk = ang.tilts_deg.get("lumbar", ang.tilts_deg.get("sacrum"))
    return [
        rep_hold(ang.time_s, ang.hip_deg, trunk, start_s=r.start_s, end_s=r.end_s)
        for r in review.reps
    ]
