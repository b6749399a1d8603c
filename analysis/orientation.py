"""Causal per-sensor "up" direction (gravity, unit vector in the sensor frame).

With a gyroscope: VQF (Laidig & Seel 2023, the ``vqf`` package), 6D (no magnetometer),
default parameters. VQF low-pass filters the accelerometer in a gyro-tracked frame (time
constant ``tauAcc`` = 3 s) and turns its inclination fully onto that filtered direction
at every sample; during the first ``tauAcc`` seconds the filter output is the running
mean, so the very first estimate is already the first accelerometer sample's direction
(a sensor clipped on sideways starts right, no warm-up from the identity). Measured on
BROAD (``bench/broad.py``): 0.67° mean inclination RMSE with the defaults; ``tauAcc`` 2 s
gave 0.68°, 1 s 1.23°, 4 s 0.72°, so the defaults stay.

Time: samples are assumed evenly spaced at ``rate_hz`` except for dropped ones. A sample
has ``n`` samples missing before it when its step from the previous one is over 1.5
periods AND it is more than half a period late on the sample grid; ``n`` is the smaller of
``round(step / period) - 1`` and ``round(late / period) - 1``. The grid time of each sample
is the previous one's plus a period (plus the missing ones), pulled a tenth of the way
(``GRID_PULL``) toward the sample's own time stamp. Time stamps from a host (taken on
arrival, or re-timed by a clock sync) jitter, and the step alone took a late stamp
followed by an early one for a lost sample, feeding an invented one: with ±0.4 period of
jitter (±2 ms at 200 Hz) 7% of the steps, and the gyro turned every movement too far
(hip RMSE 3.0-3.2° on 3 simulated RDLs; now 0.13-0.28°, on exact stamps 0.19-0.26°).
The grid alone lags a sample clock whose rate is off ``rate_hz`` (by
``(1 - pull) / pull × e = 9 e`` periods for a clock ``e`` slow), which the step check
covers.
Invented samples per 60 000 with no real drop (the sample clock off ``rate_hz`` by e,
jitter ±j periods; step rule alone in brackets): none up to j = 0.3 with e ≤ 0.5%, nor up
to j = 0.2 with e ≤ 10%; 41 at j = 0.4 (4 199), 2 at j = 0.3 with e = 1% (1 007); but 95
at j = 0.25 with e = 3% (98): jitter and a rate error together defeat both. A stamp clock
fast of ``rate_hz`` invents none. Real single-sample drops missed: none up to j = 0.25,
0.9% at j = 0.3. A pull of 0.05 was quieter on an exact rate and worse off it (1 at
j = 0.4; 189 at j = 0.3, e = 1%), 0.2 the reverse (207; 1). A period measured from the
stamps (elapsed time over sample slots, fed and missing) instead of ``rate_hz`` coped with
e = 10% up to j = 0.3 but fed back at j = 0.4: invented samples shortened the measured
period, which invented more (1 818 in one of 6 runs). The review gives the median rate over
spans of 32 steps (``offline_orientation.span_rate_hz``; the median single step was up to
0.35 % off with ±0.4 period of jitter, which invented 16-35 samples in 9 000, now 0-3);
live, the device's nominal rate (its clock fit allows at most 2% drift).

- **short gaps** (samples missing as above, at most ``max_fill_s`` of them): the
  missing samples are filled by linear interpolation between the two samples around the
  gap and fed to the filter (outputs dropped), so the gyro integrates the rotation that
  happened in the gap;
- **long gaps**: the rotation in the gap is unknown, so the inclination is restarted
  from the accelerometer as at the start (``VQF.resetState``), keeping the gyro-bias
  estimate. Unlike at the start, the wearer may be moving then (a link back mid-rep),
  so the first sample's direction can be off by the linear acceleration (a lumbar
  sensor lost for 4 s mid-rep came back 4° off). The first ``SETTLE_S`` after a restart
  are listed in ``unsettled``; the pipeline treats angles on them as unknown. (A short
  ``tauAcc`` while settling was tried: 0.5 s and 1 s gave 1.22° and 0.63° lumbar RMSE
  over the 8 s after such a loss against 0.45° with the normal 3 s, the linear
  acceleration of the next rep pulling the faster filter off.) The 0.175 s default of
  ``max_fill_s`` lies between the gap lengths where bridging still won
  (150 ms) and where restarting already won (200 ms), with a gap every 2-3 s, both on
  BROAD (``bench/broad.py --drop-ms``; hand-held motion) and on simulated kettlebell
  swings (slower hinges were equal either way);
- samples whose values are not finite, or whose time does not increase, are not fed
  (they count as missing); their output repeats the previous estimate (NaN before the
  first valid sample).

Accelerometer-only sensors (``has_gyro=False``, or ``gyr_dps=None``): the up direction is
the accelerometer low-passed with time constant ``acc_lp_s``, restarted after a long gap.
This is exact at rest but tilted by the linear acceleration in movement, and the filter
lags, so those sensors are less accurate the faster the movement. Measured inclination
RMSE with the 20 ms default: 1.2-1.4° on simulated hinges, RDLs and deadlifts, 7.5° on
simulated swings, 19° mean on BROAD's hand-held trials (VQF with gyro: 0.9°, 1.3°,
0.67°). 20 ms was the best of 0-200 ms on BROAD (vibration needs some smoothing; 50 ms
gave 19.5°) and within 0.1° of no filtering on the simulations, where lag dominates
(50 ms: 1.5-1.9°).

Batch and streaming use the same object: ``update`` may be called with chunks of any
size and gives the same result as one call with everything (to floating-point rounding).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis.lowpass import OnePole

G_MS2 = 9.80665
GRID_PULL = 0.1
"""How far each sample's time stamp pulls the sample grid toward itself (see the module
docstring): the grid's noise is ~0.23× the stamps' jitter, and it follows a rate error
``e`` with a lag of ``0.9 e / 0.1`` periods."""
_GAP_STEPS = 1.5
"""A step longer than this many sample periods may hide a missing sample."""
_DECAY = GRID_PULL * (1.0 - GRID_PULL) ** np.arange(512, dtype=float)
"""Weight of the deviation ``k`` samples before the last in the grid's last value (older
ones weigh under 1e-23)."""
SETTLE_S = 1.5
"""After a restart, how long the estimate is settling (see the module docstring)."""
_SMALL = 32
"""Chunks of at most this many samples are checked for gaps in plain floats."""
_sum = np.add.reduce
"""``ndarray.sum`` without its Python wrapper."""
VQF_BLOCK = 1 << 15
"""Samples per VQF call at most (164 s at 200 Hz). A call returns several arrays per sample
(quaternion, bias, its sigma, rest flag) beside the converted inputs: ~90 bytes a sample,
65 MB for an hour-long sensor at 200 Hz. In blocks the
result is the same to the bit (VQF's batch call is its per-sample update in a loop)."""


def _row(x: np.ndarray | None, i: int) -> np.ndarray | None:
    return None if x is None else x[i].copy()


def quat_up(q: np.ndarray) -> np.ndarray:
    """Earth z (up) in the sensor frame for sensor-to-earth quaternions ``(w, x, y, z)``."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    out = np.empty((len(q), 3))
    out[:, 0] = 2 * (x * z - w * y)
    out[:, 1] = 2 * (y * z + w * x)
    out[:, 2] = w * w - x * x - y * y + z * z
    return out


class UpEstimator:
    """Causal up-vector estimate of one sensor; see the module docstring.

    ``rate_hz``: nominal sample rate. ``has_gyro``: use VQF with the gyroscope.
    ``max_fill_s``: longest run of missing samples bridged by interpolation (longer gaps
    restart the inclination). ``acc_lp_s``: low-pass time constant of the
    accelerometer-only path. ``tau_acc_s``: VQF's ``tauAcc``.
    Counters: ``gaps_filled``, ``restarts``, ``skipped`` (non-finite or non-increasing).
    """

    def __init__(
        self,
        *,
        rate_hz: float,
        has_gyro: bool,
        max_fill_s: float = 0.175,
        acc_lp_s: float = 0.02,
        tau_acc_s: float = 3.0,
    ) -> None:
        if not (np.isfinite(rate_hz) and rate_hz > 0):
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        self.period_s = 1.0 / rate_hz
        self.has_gyro = has_gyro
        self.max_fill_s = max_fill_s
        self._one_pole = OnePole(self.period_s / (acc_lp_s + self.period_s))
        self._vqf: Any = None
        if has_gyro:
            from vqf import VQF

            self._vqf = VQF(self.period_s)
            self._vqf.setTauAcc(tau_acc_s)
        self.unsettled: list[tuple[float, float]] = []
        """``(from_s, to_s)`` after each restart while settling (the caller may prune)."""
        self._lp: np.ndarray | None = None
        self._last: tuple[float, np.ndarray, np.ndarray | None] | None = None
        self._last_up = np.full(3, np.nan)
        self._grid: float | None = None
        """Grid time of the last fed sample (None before the first)."""
        self.gaps_filled = 0
        self.restarts = 0
        self.skipped = 0

    def update(
        self, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None = None
    ) -> np.ndarray:
        """Up vectors ``(n, 3)``, one per input sample (acc in g, gyro in °/s, time in s)."""
        t = np.asarray(time_s, dtype=float).reshape(-1)
        n = len(t)
        if n == 0:
            return np.zeros((0, 3))
        acc = np.asarray(acc_g, dtype=float).reshape(n, 3)
        use_gyro = self._vqf is not None and gyr_dps is not None
        gyr = np.asarray(gyr_dps, dtype=float).reshape(n, 3) if use_gyro else None
        if (
            gyr is not None
            and self._last is not None
            and (grid := self._clean(t, acc, gyr)) is not None
        ):
            # the common live case: on the grid, finite, continuing the previous chunk
            up = self._run(acc, gyr)
            self._grid = grid
            self._last = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())
            self._last_up = up[-1].copy()
            return up
        ok = np.isfinite(t) & np.isfinite(acc).all(axis=1)
        if gyr is not None:
            ok &= np.isfinite(gyr).all(axis=1)
        last_t = -np.inf if self._last is None else self._last[0]
        before = np.maximum.accumulate(np.concatenate([[last_t], np.where(ok, t, -np.inf)]))
        ok &= t > before[:-1]
        if ok.all():  # every sample fed: no copies, no repeated rows
            up = self._segments(t, acc, gyr)
            self._last_up = up[-1].copy()
            return up
        idx = np.flatnonzero(ok)
        self.skipped += n - len(idx)
        if len(idx) == 0:
            return np.tile(self._last_up, (n, 1))
        up = self._segments(t[idx], acc[idx], None if gyr is None else gyr[idx])
        # rows not fed repeat the previous estimate
        src = np.maximum.accumulate(np.where(ok, np.arange(n), -1))
        out = np.empty((n, 3))
        out[ok] = up
        fed_before = np.searchsorted(idx, src[~ok])  # position of that row within up
        out[~ok] = np.where((src[~ok] >= 0)[:, None], up[np.maximum(fed_before, 0)], self._last_up)
        self._last_up = up[-1].copy()
        return out

    def _clean(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> float | None:
        """The grid time of the last sample if no step in this chunk (nor from the last
        chunk) is long enough to hide a missing sample, time increases, and every value is
        finite; else None."""
        assert self._last is not None and self._grid is not None
        p = self.period_s
        longest = _GAP_STEPS * p
        if len(t) <= _SMALL:  # a live packet: plain floats beat three numpy reductions
            # one pass: the steps checked and the grid followed (``_follow``'s loop)
            prev, grid = self._last[0], self._grid
            for x in t.tolist():
                if not 0 < x - prev <= longest:  # NaN fails too
                    return None
                due = grid + p
                grid = due + GRID_PULL * (x - due)
                prev = x
        else:
            first = float(t[0]) - self._last[0]
            if not 0 < first <= longest:
                return None
            step = t[1:] - t[:-1]
            if not (step.min() > 0 and step.max() <= longest):
                return None
            grid = None
        if not math.isfinite(_sum(acc, axis=None) + _sum(gyr, axis=None)):
            return None
        return self._follow(self._grid, t) if grid is None else grid

    def _follow(self, grid: float, t: np.ndarray) -> float:
        """The grid after samples ``t``, each the next one on it (none missing)."""
        p, pull = self.period_s, GRID_PULL
        if len(t) <= _SMALL:
            for x in t.tolist():
                due = grid + p
                grid = due + pull * (x - due)
            return grid
        # relative to ``grid + i·p`` the grid is a one-pole low-pass of the stamps'
        # deviation; its last value weighs the last deviations by ``_DECAY``
        m = len(t)
        n = min(m, len(_DECAY))
        dev = t[m - n :] - (grid + p * np.arange(m - n + 1, m + 1, dtype=float))
        return float(grid + p * m + _sum(dev[::-1] * _DECAY[:n]))

    def _segments(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray | None) -> np.ndarray:
        """Feed valid (finite, increasing) samples, handling the gaps before and inside
        this chunk: a sample whose step from the previous one is over 1.5 periods and
        which is over half a period late on the grid has samples missing before it."""
        out = np.empty((len(t), 3))
        p = self.period_s
        if self._last is None or self._grid is None:  # the very first: the grid starts on it
            self._grid = float(t[0]) - p
            prev_t = float(t[0]) - p
        else:
            prev_t = self._last[0]
        steps = np.empty(len(t))
        steps[0] = float(t[0]) - prev_t
        steps[1:] = t[1:] - t[:-1]
        grid, a = self._grid, 0
        for c in [*np.flatnonzero(steps > _GAP_STEPS * p).tolist(), len(t)]:
            if c > a:
                out[a:c] = self._run(acc[a:c], None if gyr is None else gyr[a:c])
                grid = self._follow(grid, t[a:c])
            if c == len(t):
                break
            missing = min(round((float(t[c]) - grid) / p), round(float(steps[c]) / p)) - 1
            if missing > 0:
                prev = self._last if c == 0 else (t[c - 1], acc[c - 1], _row(gyr, c - 1))
                assert prev is not None
                if self._bridge(prev, missing, acc[c], _row(gyr, c)):
                    grid += missing * p
                else:
                    self._restart(float(t[c]))
                    grid = float(t[c]) - p  # the grid starts again on this sample
            a = c
        self._grid = grid
        self._last = (float(t[-1]), acc[-1].copy(), _row(gyr, -1))
        return out

    def _bridge(
        self,
        prev: tuple[float, np.ndarray, np.ndarray | None],
        missing: int,
        acc1: np.ndarray,
        gyr1: np.ndarray | None,
    ) -> bool:
        """Feed ``missing`` samples interpolated between sample ``prev`` and the next one;
        False (nothing fed) if that is more than ``max_fill_s`` or the gyro comes or goes."""
        _, acc0, gyr0 = prev
        if missing * self.period_s > self.max_fill_s or (gyr1 is None) != (gyr0 is None):
            return False
        f = (np.arange(1, missing + 1) / (missing + 1))[:, None]
        gyr_fill = None if gyr0 is None or gyr1 is None else gyr0 + f * (gyr1 - gyr0)
        self._run(acc0 + f * (acc1 - acc0), gyr_fill)
        self.gaps_filled += 1
        return True

    def _restart(self, t_s: float) -> None:
        self.restarts += 1
        self._lp = None
        if self._vqf is not None:
            state = self._vqf.state
            bias, bias_p = state["bias"], state["biasP"]
            self._vqf.resetState()
            state = self._vqf.state
            state["bias"], state["biasP"] = bias, bias_p
            self._vqf.state = state
            self.unsettled.append((t_s, t_s + SETTLE_S))

    def _run(self, acc: np.ndarray, gyr: np.ndarray | None) -> np.ndarray:
        if gyr is None:
            return self._accel_only(acc)
        if len(acc) > VQF_BLOCK:
            out = np.empty((len(acc), 3))
            for i in range(0, len(acc), VQF_BLOCK):
                out[i : i + VQF_BLOCK] = self._run(acc[i : i + VQF_BLOCK], gyr[i : i + VQF_BLOCK])
            return out
        res = self._vqf.updateBatch(
            np.ascontiguousarray(np.radians(gyr)), np.ascontiguousarray(acc * G_MS2)
        )
        return quat_up(res["quat6D"])

    def _accel_only(self, acc: np.ndarray) -> np.ndarray:
        if self._lp is None:
            self._lp = self._one_pole.settled_on(acc[0].reshape(3, 1))
        lp, self._lp = self._one_pole.filter(acc.T, self._lp)
        up = lp.T
        with np.errstate(invalid="ignore", divide="ignore"):
            return up / np.linalg.norm(up, axis=1, keepdims=True)
