"""Sample times for Polar frames and ACC+GYRO pairing into six-axis runs.

A PMD frame carries only the device time of its LAST sample; the others are spread back
from it at the step measured between consecutive frame stamps (as Polar's SDK does), or
at the last good step when that measurement is off (first frame, a lost frame, a clock
jump). ACC and GYRO are separate streams whose frames end at different samples, so the
pairer holds ACC samples until GYRO frames cover their times, then hands out the
contiguous run with GYRO interpolated at the ACC times. ACC that can never be paired
(before the first GYRO sample, or more than ``max_hold_s`` ahead of a stalled GYRO) is
dropped and counted; pure numbers, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STEP_TOLERANCE = 0.2
"""A measured step more than this fraction off the nominal period is not trusted."""


class FrameClock:
    """Sample times (int ns, device clock) of one stream's frames."""

    def __init__(self, *, rate_hz: float) -> None:
        self.nominal_ns = 1e9 / rate_hz
        self.step_ns = self.nominal_ns
        self.prev_ns: int | None = None

    def times(self, last_ns: int, count: int) -> np.ndarray:
        prev = self.prev_ns
        if prev is not None and last_ns > prev:
            step = (last_ns - prev) / count
            if abs(step - self.nominal_ns) <= STEP_TOLERANCE * self.nominal_ns:
                self.step_ns = step
        self.prev_ns = last_ns
        back = np.rint(self.step_ns * np.arange(count - 1, -1, -1)).astype(np.int64)
        return np.int64(last_ns) - back


@dataclass(frozen=True)
class Run:
    """Contiguous paired samples ready for the manager."""

    t_ns: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray | None


class Pairer:
    """Buffers ACC (and GYRO) samples and releases contiguous six-axis runs."""

    def __init__(self, *, rate_hz: float, gyro: bool, max_hold_s: float = 10.0) -> None:
        self.period_ns = 1e9 / rate_hz
        self.gyro = gyro
        self.max_hold_ns = int(max_hold_s * 1e9)
        self._acc_t = np.zeros(0, dtype=np.int64)
        self._acc = np.zeros((0, 3))
        self._gyr_t = np.zeros(0, dtype=np.int64)
        self._gyr = np.zeros((0, 3))
        self.unpaired_acc = 0
        """ACC samples dropped because no GYRO covered them."""

    def add_acc(self, t_ns: np.ndarray, acc_g: np.ndarray) -> None:
        if len(self._acc_t) and t_ns[0] <= self._acc_t[-1]:
            self.unpaired_acc += len(self._acc_t)  # clock went back: start over
            self._acc_t, self._acc = self._acc_t[:0], self._acc[:0]
        self._acc_t = np.concatenate([self._acc_t, t_ns])
        self._acc = np.concatenate([self._acc, acc_g])

    def add_gyr(self, t_ns: np.ndarray, gyr_dps: np.ndarray) -> None:
        t, v = self._gyr_t, self._gyr
        if len(t) and t_ns[0] <= t[-1]:
            t, v = t[:0], v[:0]  # clock went back: start over
        t, v = np.concatenate([t, t_ns]), np.concatenate([v, gyr_dps])
        keep = int(np.searchsorted(t, t[-1] - self.max_hold_ns - 2 * self.period_ns))
        self._gyr_t, self._gyr = t[keep:], v[keep:]

    def pop(self) -> Run | None:
        """The next contiguous run of paired samples, or None if nothing is ready."""
        t, acc = self._acc_t, self._acc
        if len(t) == 0:
            return None
        half = self.period_ns / 2
        if not self.gyro:
            k = len(t)
            gyr = None
        else:
            gt, gv = self._gyr_t, self._gyr
            # ACC before the first GYRO sample can never be paired (GYRO starts later)
            if len(gt):
                early = int(np.searchsorted(t, gt[0] - half, side="left"))
            elif t[-1] - t[0] > self.max_hold_ns:
                early = len(t) - 1  # GYRO never came: keep only the newest sample
            else:
                early = 0
            if len(gt) and t[-1] - gt[-1] > self.max_hold_ns:  # GYRO stalled
                early = max(early, int(np.searchsorted(t, t[-1] - self.max_hold_ns)))
            if early:
                self.unpaired_acc += early
                t, acc = t[early:], acc[early:]
                self._acc_t, self._acc = t, acc
            if len(gt) == 0 or len(t) == 0:
                return None
            k = int(np.searchsorted(t, gt[-1] + half, side="right"))
            if k == 0:
                return None
        k = min(k, _contiguous(t[:k], self.period_ns))
        tt = t[:k]
        if self.gyro:
            base = tt[0]
            x = (gt - base).astype(float)
            xi = (tt - base).astype(float)
            gyr = np.column_stack([np.interp(xi, x, gv[:, c]) for c in range(3)])
            keep = int(np.searchsorted(gt, tt[-1] - 2 * self.period_ns))
            self._gyr_t, self._gyr = gt[keep:], gv[keep:]
        run = Run(tt, acc[:k], gyr)
        self._acc_t, self._acc = t[k:], acc[k:]
        return run


def _contiguous(t: np.ndarray, period_ns: float) -> int:
    """Length of the leading run without a gap (a step over 1.5 periods)."""
    if len(t) < 2:
        return len(t)
    gaps = np.flatnonzero(np.diff(t) > 1.5 * period_ns)
    return int(gaps[0]) + 1 if len(gaps) else len(t)
