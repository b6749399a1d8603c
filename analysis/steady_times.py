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
exactly. Within a window of a stretch's ends, the line fitted to the first (last) ``2w + 1``
offsets (one whole window) is used instead. Exact stamps of a steady clock come back unchanged up to
rounding (the bench's figures on exact stamps are identical). Fills the gap rule added by
mistake (``mistaken_fills``) are left out of the positions first, by the caller, which
leaves them out of the orientation too.

The same bench with ±0.4 period of jitter (``bench/accuracy.py --time-jitter 0.4``): lead
error 17 / 26 / 81 ms, hip / lumbar RMSE 0.20° / 0.25°, as on exact stamps (stamps as they
are: 61 / 197 / 735 ms, 0.25° / 0.32°); ±0.45 period: 17 / 27 / 79 ms, 0.20° / 0.25°. That
takes three parts: these steady times; the rate taken over spans
(``offline_orientation.span_rate_hz``); and the fills found to be mistaken
(``mistaken_fills``) left out of the orientation too, not only of the times (at ±0.45
period, with them fed: 35 / 113 / 559 ms, 0.30° / 0.35°). On one 10-minute 200 Hz clock,
RMS time error in periods at ±0.3 / 0.4 / 0.5 period of jitter: 0.019 / 0.026 / 0.041
(stamps: 0.17 / 0.23 / 0.29; fills unchecked: 0.012 / 0.12 / 0.44). A 3 s half-window,
tried on a first version, was no better.
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
    integers) of the fed sequence; ``cuts``: positions where a new stretch begins. The
    positions are taken as they are: leave out ``mistaken_fills`` first."""
    t = np.asarray(time_s, dtype=float)
    k = np.asarray(pos, dtype=float)
    out = t.copy()
    w = _half_window(half_window_s, period_s)
    for a, b in _stretches(k, cuts):
        out[a:b] = _smoothed(t[a:b], k[a:b], w, period_s)
    return out


FILL_CHECK_MIN = 4
"""Offsets needed on each side of a fill to check its size (their mean's scatter is then
under 0.15 period for jitter up to ±0.5 period)."""


def mistaken_fills(
    time_s: np.ndarray,
    pos: np.ndarray,
    cuts: list[int],
    *,
    period_s: float,
    half_window_s: float = HALF_WINDOW_S,
) -> list[int]:
    """Positions of the fed sequence filled although no sample was lost there, for samples
    stamped ``time_s`` at positions ``pos`` (``cuts`` as in ``steady_times``).

    Where positions jump by more than one (samples filled in between), the stamps' offsets
    from ``k·T`` just after the jump should continue those just before it. A fill the gap
    rule added although no sample was missing (stamps that jitter by ±0.4 period or more
    can look like a lost sample) pushes every later position up by one and the offsets
    down by a period. The offsets of up to ``half_window_s`` on either side (back to the
    previous fill, on to the next) are fitted with one line and a step at the jump (the
    line: a clock off the nominal period ``T`` drifts the offsets, 0.35 % is 0.7 period
    over 200 samples); the step, in whole periods, is how many of the jump's last filled
    positions were not lost, keeping at least one step. Exact stamps give none.
    """
    t = np.asarray(time_s, dtype=float)
    k = np.asarray(pos, dtype=float)
    w = _half_window(half_window_s, period_s)
    out: list[int] = []
    for a, b in _stretches(k, cuts):
        out += _mistaken_in_stretch(t[a:b], k[a:b], w, period_s)
    return out


def _half_window(half_window_s: float, period_s: float) -> int:
    return max(1, round(half_window_s / period_s))


def _stretches(k: np.ndarray, cuts: list[int]) -> list[tuple[int, int]]:
    """Row ranges between restarts (positions ``cuts``) with 3 samples or more."""
    starts = np.searchsorted(k, np.asarray(cuts, dtype=float)).tolist()
    bounds = zip([0, *starts], [*starts, len(k)], strict=True)
    return [(a, b) for a, b in bounds if b - a >= 3]


def _mistaken_in_stretch(t: np.ndarray, k: np.ndarray, w: int, period_s: float) -> list[int]:
    """``mistaken_fills`` of one stretch: the jumps checked in order, each on positions
    with the ones taken back before it already taken back."""
    k = k.copy()
    removed: list[int] = []
    back = 0  # positions taken back so far: original = checked + back
    jumps = (np.flatnonzero(np.diff(k) > 1) + 1).tolist()
    for j, i in enumerate(jumps):
        lo = max(jumps[j - 1] if j else 0, i - w)
        hi = min(jumps[j + 1] if j + 1 < len(jumps) else len(k), i + w)
        if i - lo < FILL_CHECK_MIN or hi - i < FILL_CHECK_MIN:
            continue
        step = _step(k[lo:i], t[lo:i] - k[lo:i] * period_s, k[i:hi], t[i:hi] - k[i:hi] * period_s)
        extra = min(round(-step / period_s), int(k[i] - k[i - 1]) - 1)
        if extra > 0:
            first = int(k[i]) + back
            removed += range(first - extra, first)
            back += extra
            k[i:] -= extra
    return removed


def _step(xb: np.ndarray, yb: np.ndarray, xa: np.ndarray, ya: np.ndarray) -> float:
    """Step from the ``b`` points to the ``a`` points of one line through both (least
    squares, common slope), in closed form."""
    mxb, myb, mxa, mya = xb.mean(), yb.mean(), xa.mean(), ya.mean()
    sxx = float(((xb - mxb) ** 2).sum() + ((xa - mxa) ** 2).sum())
    sxy = float(((xb - mxb) * (yb - myb)).sum() + ((xa - mxa) * (ya - mya)).sum())
    slope = sxy / sxx if sxx > 0 else 0.0
    return float((mya - slope * mxa) - (myb - slope * mxb))


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
