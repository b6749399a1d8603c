"""Onsets: when an angle first departs from its pre-rep baseline.

A departure is the first sample whose deviation from the reference exceeds the
departure threshold (a few degrees, far above sway). The onset is found by backtracking
from that crossing to where the signal last sat inside the noise band around the
baseline (linear interpolation between the two samples around the band edge). The
baseline is then re-estimated as the median over the ``quiet`` window just before that
onset and the backtracking repeated once. This looks back into already-recorded
samples only, so it is the same live and offline.
"""

from __future__ import annotations

import numpy as np


def first_crossing(dev: np.ndarray, threshold: float) -> int:
    """Index of the first ``|dev| > threshold`` or -1."""
    hit = np.abs(dev) > threshold
    if not len(hit):
        return -1
    i = int(np.argmax(hit))
    return i if hit[i] else -1


def backtrack(x: np.ndarray, base: float, cross: int, noise: float) -> float:
    """Fractional index where ``x`` left the band ``base ± noise`` before ``cross``."""
    dev = np.abs(x[: cross + 1] - base)
    inside = np.flatnonzero(dev <= noise)
    if not len(inside):
        return 0.0
    i = int(inside[-1])
    if i >= cross:
        return float(cross)
    d0, d1 = dev[i], dev[i + 1]
    frac = (noise - d0) / (d1 - d0) if d1 > d0 else 0.0
    return i + float(np.clip(frac, 0.0, 1.0))


def onset(
    x: np.ndarray, ref: float, cross: int, *, noise: float, quiet_n: int
) -> tuple[float, float]:
    """Onset (fractional index into ``x``) and refined baseline for a departure at ``cross``."""
    on = backtrack(x, ref, cross, noise)
    a = max(0, int(on) - quiet_n)
    win = x[a : int(on) + 1]
    win = win[np.isfinite(win)]
    if len(win) >= 3:
        base = float(np.median(win))
        on = backtrack(x, base, cross, noise)
        return on, base
    return on, ref
