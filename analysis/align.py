"""Common time base: causal linear resampling of several sensors onto one uniform grid.

Grid times are ``k / grid_hz``. Grid sample ``k`` is produced as soon as every sensor
has delivered a sample at or after ``k / grid_hz`` (so the delay is bounded by the
slowest sensor's packet interval), by linear interpolation between the two samples
around it. Dropped samples are bridged by the same interpolation. When the caller says
a sensor has gone silent (``advance(hold=True)``, live only; in a complete recording
every sensor catches up), the grid runs on to ``max_lag_s`` behind the newest sample
and the silent sensor is held at its last value meanwhile. Those values, and any
interpolated across a gap longer than ``bridge_max_s`` (live, once the sensor is back;
in a recording with a lost stretch), are guesses: they are marked in ``unknown`` and
counted in ``no_data``.
Because each grid value depends only on the samples around it, any chunking of the
input gives exactly the same output.
"""

from __future__ import annotations

import bisect
import math
import operator

import numpy as np

SMALL_M = 32
"""Advances of at most this many grid samples take ``GridResampler._interp_small``, and
pushes of at most this many samples check their order in plain floats."""


class GridResampler:
    def __init__(
        self,
        n_sensors: int,
        n_channels: int,
        *,
        grid_hz: float,
        max_lag_s: float,
        bridge_max_s: float = math.inf,
    ):
        self.grid_hz = grid_hz
        self.max_lag_s = max_lag_s
        self.bridge_max_s = bridge_max_s
        self._n = n_sensors
        self._c = n_channels
        self._t: list[np.ndarray] = [np.zeros(0) for _ in range(n_sensors)]
        self._v: list[np.ndarray] = [np.zeros((0, n_channels)) for _ in range(n_sensors)]
        self._pending_t: list[list[np.ndarray]] = [[] for _ in range(n_sensors)]
        self._pending_v: list[list[np.ndarray]] = [[] for _ in range(n_sensors)]
        self.last_time_s: list[float] = [-math.inf] * n_sensors
        self.first_time_s: list[float | None] = [None] * n_sensors
        self.next_k: int | None = None
        self.dropped_samples = 0
        """Samples ignored because their time did not increase."""
        self.no_data = [0] * n_sensors
        """Grid samples per sensor whose value is unknown: held past its last sample, or
        interpolated across a gap longer than ``bridge_max_s``."""
        self.unknown: np.ndarray | None = None
        """``(S, m)`` mask of those samples in the last ``advance`` output (None: none)."""

    def push(self, sensor: int, time_s: np.ndarray, values: np.ndarray) -> None:
        """Queue samples of one sensor (time must increase; others are dropped and counted)."""
        if len(time_s) == 0:
            return
        last = self.last_time_s[sensor]
        if len(time_s) <= SMALL_M:  # a live packet: plain floats beat the numpy comparisons
            tl = time_s.tolist()
            ordered = not (tl[0] <= last or any(map(operator.le, tl[1:], tl)))
        else:
            ordered = not (time_s[0] <= last or (time_s[1:] <= time_s[:-1]).any())
        if not ordered:
            keep = time_s > np.maximum.accumulate(np.concatenate(([last], time_s[:-1])))
            self.dropped_samples += int(len(time_s) - keep.sum())
            time_s, values = time_s[keep], values[keep]
            if len(time_s) == 0:
                return
        if self.first_time_s[sensor] is None:
            self.first_time_s[sensor] = float(time_s[0])
        self._pending_t[sensor].append(time_s)
        self._pending_v[sensor].append(values)
        self.last_time_s[sensor] = float(time_s[-1])

    def ready_k(self, *, hold: bool = False) -> int | None:
        """Last grid index that can be produced now (``None`` before every sensor has data);
        ``hold``: up to ``max_lag_s`` behind the newest sample, holding sensors behind."""
        if any(f is None for f in self.first_time_s):
            return None
        lo = min(self.last_time_s)
        limit = max(lo, max(self.last_time_s) - self.max_lag_s) if hold else lo
        # the tolerance takes a time that is ``k / grid_hz`` up to rounding of the product;
        # a time even 1 ulp before ``k / grid_hz`` has not reached it (that grid sample
        # would be "held past the last sample" in one chunking and not in another)
        k = math.floor(limit * self.grid_hz + 1e-9)
        return k - 1 if k / self.grid_hz > limit else k

    def advance(self, *, hold: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Produce every grid sample that is ready: times ``(m,)``, values ``(S, m, C)``."""
        k_end = self.ready_k(hold=hold)
        if k_end is None:
            return np.zeros(0), np.zeros((self._n, 0, self._c))
        if self.next_k is None:
            start = max(f for f in self.first_time_s if f is not None)
            self.next_k = math.ceil(start * self.grid_hz - 1e-9)
        if k_end < self.next_k:
            return np.zeros(0), np.zeros((self._n, 0, self._c))
        ks = np.arange(self.next_k, k_end + 1)
        tg = ks / self.grid_hz
        out = np.empty((self._n, len(ks), self._c))
        self.unknown = None
        if len(ks) <= SMALL_M:
            self._interp_small(tg, out)
        else:
            for s in range(self._n):
                self._interp(s, tg, out[s])
        self.next_k = k_end + 1
        return tg, out

    def _merge(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """Sensor ``s``'s samples, the queued ones appended."""
        if self._pending_t[s]:
            self._t[s] = np.concatenate([self._t[s], *self._pending_t[s]])
            self._v[s] = np.concatenate([self._v[s], *self._pending_v[s]])
            self._pending_t[s].clear()
            self._pending_v[s].clear()
        return self._t[s], self._v[s]

    def _interp(self, s: int, tg: np.ndarray, out: np.ndarray) -> None:
        """Sensor ``s`` at the grid times ``tg`` into ``out`` ``(m, C)``; marks unknown values
        and drops the samples no later grid time needs."""
        t, v = self._merge(s)
        bridged = self.bridge_max_s < math.inf
        if len(t) == 1:
            out[:] = v[0]
            if bridged:
                self._mark(s, tg > t[0])
            return
        # the samples around each grid time: i and j = i + 1 (clamped to the ends)
        i = np.searchsorted(t, tg, side="right")
        i -= 1
        np.minimum(i, len(t) - 2, out=i)
        np.maximum(i, 0, out=i)
        j = i + 1
        t0 = t[i]
        step = t[j] - t0
        # one reduction in the common case: no sample held, no long gap bridged
        if bridged and (tg[-1] > t[-1] or step.max() > self.bridge_max_s):
            self._mark(s, (tg > t[-1]) | ((step > self.bridge_max_s) & (tg > t0)))
        w = tg - t0
        w /= step
        np.minimum(w, 1.0, out=w)
        np.maximum(w, 0.0, out=w)
        # v0 + w (v1 - v0), in place; ``take`` is the fast gather of whole rows
        v0 = v.take(i, axis=0)
        dv = v.take(j, axis=0)
        dv -= v0
        dv *= w[:, None]
        np.add(v0, dv, out=out)
        # keep the last sample at or before the last grid time, and everything after it
        keep_from = max(int(i[-1]), 0)
        if keep_from:
            self._t[s] = t[keep_from:]
            self._v[s] = v[keep_from:]

    def _interp_small(self, tg: np.ndarray, out: np.ndarray) -> None:
        """``_interp`` of every sensor for a few grid times (live packets): the sample search
        and the weights in plain floats, one gather per sensor and one interpolation for all
        of them (the same arithmetic, value by value). A sensor with one sample, held past
        its last sample or bridged across a long gap takes ``_interp``."""
        tgl = tg.tolist()
        m = len(tgl)
        bridge_max = self.bridge_max_s
        rows = np.empty((self._n, 2 * m, self._c))  # v0 rows, then v1 rows
        ws: list[float] = []
        other: list[int] = []
        for s in range(self._n):
            t, v = self._merge(s)
            tl = t.tolist()
            hi = len(tl) - 2
            if hi < 0 or (tgl[-1] > tl[-1] and bridge_max < math.inf):
                other.append(s)
                rows[s] = 0.0
                ws += [0.0] * m
                continue
            idx: list[int] = []
            longest = 0.0
            for x in tgl:
                i = min(bisect.bisect_right(tl, x) - 1, hi)
                if i < 0:
                    i = 0
                t0 = tl[i]
                step = tl[i + 1] - t0
                longest = max(longest, step)
                ws.append(max(min((x - t0) / step, 1.0), 0.0))
                idx.append(i)
            if longest > bridge_max:
                other.append(s)
                rows[s] = 0.0
                continue
            v.take(idx + [i + 1 for i in idx], axis=0, out=rows[s])
            # keep the last sample at or before the last grid time, and everything after it
            if idx[-1]:
                self._t[s] = t[idx[-1] :]
                self._v[s] = v[idx[-1] :]
        dv = rows[:, m:] - rows[:, :m]
        dv *= np.array(ws).reshape(self._n, m, 1)
        np.add(rows[:, :m], dv, out=out)
        for s in other:
            self._interp(s, tg, out[s])

    def _mark(self, s: int, unknown: np.ndarray) -> None:
        if not unknown.any():
            return
        if self.unknown is None:
            self.unknown = np.zeros((self._n, len(unknown)), dtype=bool)
        self.unknown[s] = unknown
        self.no_data[s] += int(unknown.sum())
