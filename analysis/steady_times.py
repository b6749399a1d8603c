"""Sample times with the time stamps' jitter taken out, for offline review.

An IMU samples on its own steady clock; the stamps a recording carries may not be that
steady: stamped by a host on arrival, or re-timed by a clock sync, they jitter by a
fraction of a sample period. The orientation stage already ignores the stamps between
samples (it steps one period per sample, see ``analysis.orientation``), but resampling
onto the common grid puts each up vector at its own stamp, so jitter becomes angle noise
wherever the body moves: ±0.4 period of jitter is ±8 ms at 50 Hz, ±0.5° at 60 °/s, in
each segment's tilt. The lumbar onset of a back that moves only a few degrees drowns in
it (``bench/accuracy.py`` with every session's stamps jittered by ±0.4 period: lumbar-lead
error median / mean / p95 61 / 197 / 735 ms, against 17 / 26 / 76 ms on exact stamps).

Within a stretch of samples without a restart, the sample at position ``k`` of the
orientation stage's fed sequence (filled samples count) was taken at ``t0 + k·T`` on the
sensor's clock. Each stamp minus ``k·T`` is that offset plus jitter; its mean over a
window centred on the sample (``HALF_WINDOW_S`` each side) is the steady time; a clock
running off the nominal rate is a straight line in these offsets, which the mean follows
exactly. Within a window of a stretch's ends, the line fitted to the first (last) two
windows' offsets is used instead. Exact stamps of a steady clock come back unchanged up to
rounding (the bench's figures on exact stamps are identical). With the jitter above the
same bench gives 20 / 48 / 135 ms, hip / lumbar RMSE 0.25° / 0.32° → 0.24° / 0.30° (a 3 s
half-window, tried on a first version: 25 / 41 / 137 ms against 20 / 49 / 139 ms).
"""

from __future__ import annotations

import numpy as np

HALF_WINDOW_S = 1.0
"""Half-width of the window the stamps' offsets are averaged over (see the docstring)."""


def steady_times(
    time_s: np.ndarray,
    pos: np.ndarray,
    cuts: list[int],
    *,
    period_s: float,
    half_window_s: float = HALF_WINDOW_S,
) -> np.ndarray:
    """Steady times of samples stamped ``time_s``, each at position ``pos`` (increasing
    integers) of the fed sequence; ``cuts``: positions where a new stretch begins."""
    t = np.asarray(time_s, dtype=float)
    k = np.asarray(pos, dtype=float)
    out = t.copy()
    w = max(1, round(half_window_s / period_s))
    starts = np.searchsorted(k, np.asarray(cuts, dtype=float))
    for a, b in zip([0, *starts.tolist()], [*starts.tolist(), len(k)], strict=True):
        if b - a >= 3:
            out[a:b] = _smoothed(t[a:b], k[a:b], w, period_s)
    return out


def _smoothed(t: np.ndarray, k: np.ndarray, w: int, period_s: float) -> np.ndarray:
    """One stretch: the offsets' mean over ``w`` samples each side; the first and last
    ``w`` samples, which lack a full window on one side, take the straight line fitted to
    the first (last) ``2w + 1`` offsets instead."""
    m = len(t)
    off = t - k * period_s
    ref = float(off[0])  # sums of offsets from the first: nothing cancels
    csum = np.concatenate([[0.0], np.cumsum(off - ref)])
    out = off.copy()
    if m > 2 * w:
        i = np.arange(w, m - w)
        out[w : m - w] = (csum[i + w + 1] - csum[i - w]) / (2 * w + 1) + ref
    n = min(m, 2 * w + 1)
    for part in (slice(0, min(w, m)), slice(max(m - w, 0), m)):
        span = slice(0, n) if part.start == 0 else slice(m - n, m)
        x = k[span] - k[span][0]
        slope, icpt = np.polyfit(x, off[span] - ref, 1)
        out[part] = icpt + slope * (k[part] - k[span][0]) + ref
    return k * period_s + out
