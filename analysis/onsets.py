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

import math

import numpy as np

from analysis.arrays import first_true, nanargmax, nanargmin


def median(x: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-D array of finite values, without its overhead (the
    review takes thousands of medians of short windows); same result to the last bit."""
    n = len(x)
    h = n // 2
    p = x.copy()  # what ``np.partition`` does, without its wrapper
    if n % 2:
        p.partition(h)
        return float(p[h])
    p.partition((h - 1, h))
    return float((p[h - 1] + p[h]) / 2.0)


def first_crossing(dev: np.ndarray, threshold: float) -> int:
    """Index of the first ``|dev| > threshold`` or -1."""
    return first_true(np.abs(dev) > threshold)


def backtrack(x: np.ndarray, base: float, cross: int, noise: float) -> float:
    """Fractional index where ``x`` left the band ``base ± noise`` before ``cross``.

    If, going back from ``cross``, the deviation first falls to a low point and then rises
    again by more than ``noise`` before it reaches the band, the movement started from that
    low point: the angle was sitting off its baseline (an estimate still settling after
    the previous rep, a shifted stance), and backtracking on through that plateau would
    put the onset seconds early. That turning point is returned instead.
    """
    dev = np.abs(x[: cross + 1] - base)
    inside = (dev <= noise).nonzero()[0]
    rev = dev[::-1]
    rose = rev > np.fmin.accumulate(rev) + noise
    j = int(rose.argmax())
    if rose[j]:
        turn = cross - nanargmin(rev[:j])
        if not len(inside) or turn > inside[-1]:
            return float(turn)
    if not len(inside):
        return 0.0
    i = int(inside[-1])
    if i >= cross:
        return float(cross)
    d0, d1 = float(dev[i]), float(dev[i + 1])
    frac = (noise - d0) / (d1 - d0) if d1 > d0 else 0.0
    return i + min(max(frac, 0.0), 1.0)


def onset(
    x: np.ndarray, ref: float, cross: int, *, noise: float, quiet_n: int, floor: int = 0
) -> tuple[float, float]:
    """Onset (fractional index into ``x``) and refined baseline for a departure at ``cross``.

    The baseline window is the ``quiet_n`` samples before the first onset estimate, but not
    before ``floor`` (the reference point, e.g. a swing's lock-out) when that still leaves
    a few samples: back-to-back reps have no quiet stretch, only the turning point.
    """
    on = backtrack(x, ref, cross, noise)
    a = max(0, int(on) - quiet_n)
    if int(on) + 1 - floor >= 3:
        a = max(a, floor)
    win = x[a : int(on) + 1]
    win = win[np.isfinite(win)]
    if len(win) >= 3:
        base = median(win)
        on = backtrack(x, base, cross, noise)
        return on, base
    return on, ref


_TAU = np.linspace(0.0, 0.5, 5001)
_FRAC = 10 * _TAU**3 - 15 * _TAU**4 + 6 * _TAU**5


def _level_time(d: np.ndarray, i: int, level: float) -> float:
    """Fractional index between samples ``i`` and ``i + 1`` where ``d`` crosses ``level``."""
    d0, d1 = float(d[i]), float(d[i + 1])
    return i + (min(max((level - d0) / (d1 - d0), 0.0), 1.0) if d1 != d0 else 0.0)


LATER_SHARE = 0.6
"""A rise that goes on past this share of twice its first half-point excursion had a second
movement on top (a late rounding: the lumbar spine follows the hips, then rounds from
55 % of the descent). Single minimum-jerk rises read ~1.0 here; the bench's rounding
reps 0.2-0.4."""
SMOOTH_N = 4
"""Half-width (samples) of the moving averages taken before differentiating."""
PEAK_SHARE = 0.02
"""A first movement's acceleration peak is at least this share of the largest."""


def _smooth(x: np.ndarray) -> np.ndarray:
    w = 2 * SMOOTH_N + 1
    pad = np.pad(x, SMOOTH_N, mode="edge")
    return np.convolve(pad, np.full(w, 1.0 / w), mode="valid")


def first_submovement(d: np.ndarray, peak: int, noise: float) -> float | None:
    """Excursion of the first movement of a rise that may carry a later one on top.

    A minimum-jerk movement's acceleration is positive up to its half-way point and
    negative after it; a second movement starting past that point makes it positive again.
    The first movement's half-way point is where the acceleration (of the smoothed rise)
    first falls to zero after its first peak, or to a positive low before rising again to
    more than that peak; its excursion is twice the deviation there. None if the rise is
    too short to tell or has no such point before ``peak``.
    """
    start = (d[:peak] <= noise).nonzero()[0]
    a0 = int(start[-1]) if len(start) else 0
    seg = d[a0 : peak + 1]
    if len(seg) < 4 * SMOOTH_N + 3 or not np.isfinite(seg).all():
        return None
    acc = np.gradient(_smooth(np.gradient(_smooth(seg))))
    big = float(acc.max())
    if big <= 0:
        return None
    inner = acc[1:-1]
    peaks = ((inner >= acc[:-2]) & (inner > acc[2:]) & (inner >= PEAK_SHARE * big)).nonzero()[0]
    for top in (peaks + 1).tolist():
        a_top = float(acc[top])
        after = acc[top:]
        low = after <= 0.25 * a_top
        if not low.any():
            continue
        i = int(low.argmax())
        neg = (after[i:] <= 0).nonzero()[0]
        again = (after[i:] > a_top).nonzero()[0]
        if len(neg) and (not len(again) or neg[0] < again[0]):
            half = top + i + int(neg[0])
        elif len(again):
            half = top + i + int(np.argmin(after[i : i + int(again[0])]))
        else:
            return None
        if seg[half] >= 2 * noise:
            return 2.0 * float(seg[half])
        return None
    return None


def minjerk_onset(
    d: np.ndarray, *, lo_frac: float, hi_frac: float, noise: float, cross: int = 0
) -> float | None:
    """Start of a departure, extrapolated assuming a minimum-jerk rise.

    ``d`` is the deviation from baseline in the departure direction, from a quiet sample
    through the deepest point of the movement; ``cross`` is a sample of the rise itself
    (where it crossed its departure threshold). The excursion is the peak from ``cross`` on:
    in back-to-back reps (swings) the window starts on the previous rep's return, which may
    stand higher than this rep's peak. The times where ``d`` rises through
    ``lo_frac`` and ``hi_frac`` of its excursion are measured, and the minimum-jerk
    profile (Flash & Hogan 1985) says how far before the lower one the movement began;
    the answer does not depend on the range of motion, unlike a fixed-threshold onset.
    Returns a fractional index into ``d``, or None if the excursion is too small.
    """
    if len(d) < 3 or not 0 <= cross < len(d):
        return None
    rise = d[cross:]
    top = nanargmax(rise)
    if top < 0:
        return None
    peak = cross + top
    ex = float(d[peak])
    first = first_submovement(d, peak, noise)
    if first is not None and first < LATER_SHARE * ex:
        ex = first
    lo = max(lo_frac * ex, noise)
    hi = hi_frac * ex
    if ex <= 0 or hi < 1.5 * lo:
        return None
    below = (d[:peak] < hi).nonzero()[0]  # the last rise through ``hi`` before the peak
    if not len(below):
        return None
    i_hi = int(below[-1]) + 1
    quiet = (d[:i_hi] <= lo).nonzero()[0]
    if not len(quiet):
        return None
    t_lo = _level_time(d, int(quiet[-1]), lo)
    t_hi = _level_time(d, i_hi - 1, hi)
    tau_lo, tau_hi = np.interp((lo / ex, hi / ex), _FRAC, _TAU).tolist()
    if tau_hi <= tau_lo:
        return None
    return t_lo - tau_lo / (tau_hi - tau_lo) * (t_hi - t_lo)


def _robust_noise(x: np.ndarray, center: float, noise_max: float) -> float:
    """Four robust SDs of ``x`` around ``center``, within 0.1° .. ``noise_max``."""
    mad = median(np.abs(x - center))
    return min(max(4 * 1.4826 * mad, 0.1), noise_max)


def refine_minjerk(
    x: np.ndarray,
    base: float,
    *,
    cross: int,
    k_on: int,
    quiet_n: int,
    noise_max: float,
    lo_frac: float,
    hi_frac: float,
) -> float | None:
    """Minimum-jerk onset (fractional index into ``x``) of the departure that crossed its
    threshold at ``cross``, given the threshold onset ``k_on`` and baseline ``base``.

    The threshold onset of a slow, small movement is late, so its baseline window already
    holds the first tenths of a degree of the rise; the baseline is re-taken just before
    each new onset estimate (three rounds; it moves < 1 sample after two). The noise floor
    is the baseline's own scatter (4 robust SDs, at most ``noise_max``), so a 3° lumbar
    movement still has room between its noise floor and 20 % of its excursion.
    """
    direction = 1.0 if x[cross] >= base else -1.0
    pre = x[max(0, k_on - quiet_n) : max(0, k_on) + 1]
    pre = pre[np.isfinite(pre)]
    noise = _robust_noise(pre, median(pre), noise_max) if len(pre) >= 3 else noise_max
    on = None
    k_win = None  # the sample whose window gave ``base`` and ``noise``
    for rounds_after in (2, 1, 0):
        found = minjerk_onset(
            direction * (x - base), lo_frac=lo_frac, hi_frac=hi_frac, noise=noise, cross=cross
        )
        if found is None or not math.isfinite(found):
            break
        on = found
        if not rounds_after or int(on) == k_win:
            break  # the last round, or the same window again: nothing would change
        k_win = int(on)
        win = x[max(0, k_win - quiet_n) : k_win + 1]
        win = win[np.isfinite(win)]
        if len(win) < 3:
            break
        new_base = median(win)
        new_noise = _robust_noise(win, new_base, noise_max)
        if new_base == base and new_noise == noise:
            break  # converged: another round would repeat this one exactly
        base, noise = new_base, new_noise
    return on
