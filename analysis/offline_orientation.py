"""Non-causal up vectors of a whole recording, for offline review.

With a gyroscope: VQF's offline variant (``vqf.offlineVQF``, Laidig & Seel 2023), default
parameters. It runs the filter forwards and backwards over the whole recording and
estimates the gyro bias from both directions, so it needs neither the causal estimator's
lag nor its unlearned bias at the start. It wants evenly spaced samples with no gaps, so
the samples are first laid out exactly as the causal ``UpEstimator`` feeds them (the same
gap rule: short gaps filled by interpolation, long ones restarting the estimate, samples
that are not finite or not increasing left out and given the previous sample's estimate);
each stretch between restarts is one ``offlineVQF`` call.

Measured against the two-direction causal estimate used before (``UpEstimator`` forwards,
then ``BasicVQF`` backwards with the forward pass's final bias, the two averaged), with
VQF's default ``tauAcc`` of 3 s either way:

- ``bench/accuracy.py``, 42 simulated sessions: hip / lumbar RMSE 0.25° / 0.32° →
  0.20° / 0.25°; lumbar-lead error median 21 → 17 ms, p95 115 → 76 ms. Held-out seeds
  6000-6041: 0.29° / 0.36° → 0.23° / 0.29°, lead p95 131 → 85 ms.
- BROAD's real trials (``bench/broad.py``): 0.53° → 0.52° mean inclination RMSE (better on
  7 of 8 trials; fast translation 0.44° → 0.56°).
- ``tauAcc`` 2, 4, 6 and 10 s gave lead p95 125, 70, 85 and 135 ms and hip RMSE 0.19, 0.24,
  0.37 and 0.68°: the default stays (4 s was within the seed-to-seed spread of 3 s).
- Time and memory: 0.56-0.61 s per hour-long sensor at 200 Hz against 0.44 s for the two
  passes it replaces; long stretches run in windows to bound memory (``WINDOW``).

The same pass gives each sample its steady time (``analysis.steady_times``): the stamps'
jitter averaged out along the fed sequence, which the review resamples by instead of the
stamps. Fills that the stamps around them say were not lost (jitter of ±0.4 period or
more makes the gap rule see lost samples) are left out of the fed sequence before VQF
runs: each would turn the estimate a sample period too far.

Without a gyroscope the low-passed accelerometer (``UpEstimator``'s accelerometer-only
path) is run forwards and backwards in time and the two directions averaged, which cancels
the filter's lag.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from analysis.orientation import G_MS2, UpEstimator, quat_up
from analysis.steady_times import mistaken_fills, steady_times

WINDOW = 1 << 18
"""Longest stretch of samples (21.8 min at 200 Hz) given to one ``offlineVQF`` call; a
longer one is run in windows of this size, each with ``MARGIN`` samples more on both
sides. One call holds ~170 bytes per sample (VQF's own ~120 MB per hour at 200 Hz), so an
unsplit hour-long recording raised the review's peak memory (process tree PSS, 3 sensors
at 200 Hz) from 438-482 MB to 691-739 MB at 60 minutes and 979 MB at 90; windowed,
507-511 MB and 703 MB. The windows moved the up vectors of a 69-minute simulated session
by 0.004-0.03° on average, 0.2° at most (margins of 82 s: up to 0.23°), and changed two
30-35 minute sessions' hip / lumbar RMSE and lead error against the truth by under 0.001°
and 0.2 ms."""
MARGIN = 1 << 15
"""Samples run before and after each window (164 s at 200 Hz) and dropped."""


class _FeedLog(UpEstimator):
    """``UpEstimator``'s gap handling with the filter left out: it records the samples it
    would feed (fills included) and where it would restart, and its "up vectors" hold,
    in column 0, each input sample's position in that fed sequence (NaN before the first
    one fed; a sample left out gets the previous fed sample's position, as the estimator
    gives it the previous estimate)."""

    def __init__(self, *, rate_hz: float) -> None:
        super().__init__(rate_hz=rate_hz, has_gyro=True)
        self.acc: list[np.ndarray] = []
        self.gyr: list[np.ndarray] = []
        self.fed = 0
        self.cuts: list[int] = []
        """Fed-sequence positions where the estimate restarts."""

    def _run(self, acc: np.ndarray, gyr: np.ndarray | None) -> np.ndarray:
        assert gyr is not None
        n = len(acc)
        self.acc.append(acc)
        self.gyr.append(gyr)
        out = np.zeros((n, 3))
        out[:, 0] = np.arange(self.fed, self.fed + n)
        self.fed += n
        return out

    def _restart(self, t_s: float) -> None:
        self.restarts += 1
        self.cuts.append(self.fed)


class OfflineTrack(NamedTuple):
    """One sensor's offline orientation: ``up`` ``(n, 3)`` (NaN where unknown) and
    ``time_s``, the steady sample times (``analysis.steady_times``; the stamps themselves
    for a sensor without a gyroscope)."""

    up: np.ndarray
    time_s: np.ndarray


def smoothed_up(
    time_s: np.ndarray,
    acc_g: np.ndarray,
    gyr_dps: np.ndarray | None,
    *,
    rate_hz: float,
) -> np.ndarray:
    """Non-causal up vectors ``(n, 3)`` of one sensor's whole recording (see the module
    docstring); NaN where there is no estimate (before the first usable sample)."""
    return offline_track(time_s, acc_g, gyr_dps, rate_hz=rate_hz).up


def offline_track(
    time_s: np.ndarray,
    acc_g: np.ndarray,
    gyr_dps: np.ndarray | None,
    *,
    rate_hz: float,
) -> OfflineTrack:
    """``smoothed_up`` and the steady sample times of one sensor's whole recording."""
    t = np.asarray(time_s, dtype=float)
    acc = np.asarray(acc_g, dtype=float)
    if gyr_dps is None:
        return OfflineTrack(_accel_only_both_ways(t, acc, rate_hz), t)
    from vqf import offlineVQF

    log = _FeedLog(rate_hz=span_rate_hz(t, rate_hz))
    pos = log.update(t, acc, np.asarray(gyr_dps, dtype=float))[:, 0].copy()
    if not log.fed:
        return OfflineTrack(np.full((len(t), 3), np.nan), t)
    # converted in place (no second copy of an hour of samples beside VQF's own memory)
    fed_acc = np.ascontiguousarray(np.concatenate(log.acc))  # VQF takes C order only
    fed_acc *= G_MS2
    fed_gyr = np.ascontiguousarray(np.concatenate(log.gyr))
    np.radians(fed_gyr, out=fed_gyr)
    del log.acc[:], log.gyr[:]
    cuts, n_fed = log.cuts, log.fed
    if log.gaps_filled:  # fills the stamps say were not lost are not fed after all
        fed_acc, fed_gyr, pos, cuts, n_fed = _without_mistaken_fills(
            t, pos, fed_acc, fed_gyr, cuts, log.period_s
        )
    up = np.empty((n_fed, 3))
    for a, b in zip([0, *cuts], [*cuts, n_fed], strict=True):
        for w0, w1, lo, hi in _windows(a, b):
            q = offlineVQF(fed_gyr[lo:hi], fed_acc[lo:hi], None, log.period_s, None)["quat6D"]
            up[w0:w1] = quat_up(q[w0 - lo : w1 - lo])  # unit quaternions: unit vectors
            del q
    del fed_acc, fed_gyr
    steady = _steady_rows(t, pos, cuts, log.period_s)
    if n_fed == len(t) and not log.skipped:
        return OfflineTrack(up, steady)  # every sample fed once: ``pos`` is 0, 1, 2, ...
    out = np.full((len(t), 3), np.nan)
    known = np.isfinite(pos)
    out[known] = up[pos[known].astype(np.intp)]
    return OfflineTrack(out, steady)


def _fed_rows(pos: np.ndarray) -> np.ndarray:
    """Rows that were fed: a row left out repeats the position of the fed row before it
    (NaN before the first)."""
    fed = np.isfinite(pos)
    fed[1:] &= pos[1:] != pos[:-1]
    return fed


def _without_mistaken_fills(
    t: np.ndarray,
    pos: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    cuts: list[int],
    period_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int], int]:
    """The fed sequence without the fills ``steady_times.mistaken_fills`` finds: readings,
    each row's new position, the restarts' new positions and the new length. A filled
    sample that was never lost turned the gyro's estimate one sample period too far."""
    fed = _fed_rows(pos)
    removed = mistaken_fills(t[fed], pos[fed], cuts, period_s=period_s)
    if not removed:
        return acc, gyr, pos, cuts, len(acc)
    keep = np.ones(len(acc), dtype=bool)
    keep[removed] = False
    renum = np.cumsum(keep) - 1
    known = np.isfinite(pos)
    new_pos = np.full(len(pos), np.nan)
    new_pos[known] = renum[pos[known].astype(np.intp)]
    new_cuts = [int(renum[c]) for c in cuts]
    return (
        np.ascontiguousarray(acc[keep]),
        np.ascontiguousarray(gyr[keep]),
        new_pos,
        new_cuts,
        int(keep.sum()),
    )


def _steady_rows(t: np.ndarray, pos: np.ndarray, cuts: list[int], period_s: float) -> np.ndarray:
    """Steady times of every row: the fed rows' ``steady_times``, and each row left out
    (not finite, or not increasing) its stamp mapped between its fed neighbours' (shifted
    as the nearest one at either end), so no row changes places with a fed one."""
    fed = _fed_rows(pos)
    out = t.copy()
    tf = t[fed]
    if len(tf) == 0:
        return out
    sf = steady_times(tf, pos[fed], cuts, period_s=period_s)
    out[fed] = sf
    rest = ~fed & np.isfinite(t)
    x = t[rest]
    mapped = np.interp(x, tf, sf)
    mapped = np.where(x < tf[0], x + (sf[0] - tf[0]), mapped)
    out[rest] = np.where(x > tf[-1], x + (sf[-1] - tf[-1]), mapped)
    return out


SPAN = 32
"""Samples per span in ``span_rate_hz``."""


def span_rate_hz(t: np.ndarray, rate_hz: float) -> float:
    """The sample rate as the median over spans of ``SPAN`` steps of their mean step.

    ``rate_hz`` (the median single step) is only as good as the stamps: with jitter of
    ±0.4 period its error reached 0.35 % on a 45 s recording, and a rate that far off
    turns jitter into filled samples that were never lost (16-35 in 9 000 at 200 Hz,
    ``analysis/orientation.py``). A span's mean step averages ``SPAN`` steps' jitter;
    spans across a real gap are longer and the median passes them over while they are
    under half the spans. Exact stamps give the same rate either way. Falls back to
    ``rate_hz`` when there are too few samples or the spans make no sense.
    """
    ok = t[np.isfinite(t)]
    if len(ok) <= 2 * SPAN:
        return rate_hz
    step = float(np.median((ok[SPAN:] - ok[:-SPAN]) / SPAN))
    if not (step > 0 and math.isfinite(step)):
        return rate_hz
    return 1.0 / step


def _windows(a: int, b: int) -> list[tuple[int, int, int, int]]:
    """``(from, to, run_from, run_to)``: the stretch ``a:b`` of the fed sequence in windows
    of ``WINDOW`` samples, each run with ``MARGIN`` more on both sides (see ``WINDOW``)."""
    if b - a <= WINDOW + 2 * MARGIN:
        return [(a, b, a, b)] if b > a else []
    return [
        (w0, min(b, w0 + WINDOW), max(a, w0 - MARGIN), min(b, w0 + WINDOW + MARGIN))
        for w0 in range(a, b, WINDOW)
    ]


def _accel_only_both_ways(t: np.ndarray, acc: np.ndarray, rate_hz: float) -> np.ndarray:
    """The accelerometer-only estimate run forwards and backwards in time, averaged."""
    fwd = UpEstimator(rate_hz=rate_hz, has_gyro=False).update(t, acc)
    back = UpEstimator(rate_hz=rate_hz, has_gyro=False).update(-t[::-1], acc[::-1])[::-1]
    fwd_ok, back_ok = np.isfinite(fwd).all(axis=1), np.isfinite(back).all(axis=1)
    both = np.where(fwd_ok[:, None], fwd, 0.0) + np.where(back_ok[:, None], back, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = both / np.linalg.norm(both, axis=1, keepdims=True)
    out[~(fwd_ok | back_ok)] = np.nan
    return out
