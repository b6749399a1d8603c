"""Causal per-sensor "up" direction (gravity, unit vector in the sensor frame).

Gyro + accelerometer: VQF (Laidig & Seel 2023), 6D, default parameters, which is the best
measured option here (~0.7° inclination RMSE online on BROAD, see ``bench/broad.py``).
Two additions around it:

- **start**: VQF begins at the identity and pulls its inclination towards the
  accelerometer with a 3 s time constant, so a sensor clipped on sideways would still be
  tens of degrees off when the 2 s standing neutral is taken. The estimate starts at the
  first accelerometer sample's direction instead (the user stands still at the start).
- **gaps** (lost BLE packets): a gap of up to ``max_fill_s`` is bridged by feeding VQF
  samples interpolated linearly between the two sides of the gap (the rotation during a
  short gap is smooth), whose outputs are dropped; after a longer gap the inclination is
  re-started from the accelerometer, as at the start.

Accelerometer-only devices: the up direction is the accelerometer low-passed with a
50 ms time constant. It is exact at rest and wrong by the linear acceleration during
movement (a few degrees in a slow hinge, much more in a swing), so those sensors are
reported as less accurate in fast movements.

The same object works in batch and streaming: ``update`` may be called with chunks of any
size and gives the same result as one call with everything (to floating-point rounding).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.signal import lfilter

G_MS2 = 9.80665


def align_to_gravity(vqf: Any, acc_g: np.ndarray) -> None:
    """Set VQF's inclination so that its up direction is ``acc_g``'s direction."""
    n = float(np.linalg.norm(acc_g))
    if not np.isfinite(n) or n < 0.5:
        return
    up = acc_g / n
    axis = np.cross(up, [0.0, 0.0, 1.0])  # shortest rotation taking up (sensor) to earth z
    s, c = float(np.linalg.norm(axis)), float(up[2])
    if s < 1e-9:
        q = np.array([1.0, 0.0, 0.0, 0.0]) if c > 0 else np.array([0.0, 1.0, 0.0, 0.0])
    else:
        half = 0.5 * np.arctan2(s, c)
        q = np.concatenate([[np.cos(half)], np.sin(half) * axis / s])
    state = vqf.state
    state["accQuat"] = q
    state["gyrQuat"] = np.array([1.0, 0.0, 0.0, 0.0])
    vqf.state = state


def quat_up(q: np.ndarray) -> np.ndarray:
    """Earth z (up) in the sensor frame for sensor-to-earth quaternions ``(w, x, y, z)``."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.column_stack(
        [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z]
    )


class UpEstimator:
    def __init__(
        self,
        *,
        rate_hz: float,
        has_gyro: bool,
        max_fill_s: float = 0.25,
        acc_lp_s: float = 0.05,
    ) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        self.period_s = 1.0 / rate_hz
        self.has_gyro = has_gyro
        self.max_fill_s = max_fill_s
        self._alpha = self.period_s / (acc_lp_s + self.period_s)
        self._vqf: Any = None
        if has_gyro:
            from vqf import VQF

            self._vqf = VQF(self.period_s)
        self._last: tuple[float, np.ndarray, np.ndarray] | None = None
        self._lp: np.ndarray | None = None
        self.gaps_filled = 0
        self.restarts = 0

    def update(
        self, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None
    ) -> np.ndarray:
        """Up vectors (n, 3), one per input sample."""
        t = np.asarray(time_s, dtype=float)
        acc = np.asarray(acc_g, dtype=float).reshape(len(t), 3)
        if len(t) == 0:
            return np.zeros((0, 3))
        if self._vqf is None or gyr_dps is None:
            return self._accel_only(acc)
        gyr = np.asarray(gyr_dps, dtype=float).reshape(len(t), 3)
        out = np.empty((len(t), 3))
        if self._last is None:
            align_to_gravity(self._vqf, acc[0])
        else:
            t_prev, acc_prev, gyr_prev = self._last
            self._bridge(t_prev, acc_prev, gyr_prev, t[0], acc[0], gyr[0])
        # gaps inside the chunk: split there
        steps = np.diff(t)
        cuts = np.flatnonzero(steps > 1.5 * self.period_s) + 1
        bounds = [0, *cuts.tolist(), len(t)]
        for a, b in itertools.pairwise(bounds):
            if a > 0:
                self._bridge(t[a - 1], acc[a - 1], gyr[a - 1], t[a], acc[a], gyr[a])
            out[a:b] = self._run(acc[a:b], gyr[a:b])
        self._last = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())
        return out

    def _run(self, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        res = self._vqf.updateBatch(
            np.ascontiguousarray(np.radians(gyr)), np.ascontiguousarray(acc * G_MS2)
        )
        return quat_up(res["quat6D"])

    def _bridge(
        self,
        t0: float,
        acc0: np.ndarray,
        gyr0: np.ndarray,
        t1: float,
        acc1: np.ndarray,
        gyr1: np.ndarray,
    ) -> None:
        """Handle the time between two consecutive samples on either side of a gap."""
        missing = round((t1 - t0) / self.period_s) - 1
        if missing <= 0:
            return
        if missing * self.period_s > self.max_fill_s:
            align_to_gravity(self._vqf, acc1)
            self.restarts += 1
            return
        f = (np.arange(1, missing + 1) / (missing + 1))[:, None]
        self._run(acc0 + f * (acc1 - acc0), gyr0 + f * (gyr1 - gyr0))
        self.gaps_filled += 1

    def _accel_only(self, acc: np.ndarray) -> np.ndarray:
        a = self._alpha
        if self._lp is None:
            self._lp = ((1 - a) * acc[0]).reshape(3, 1)
        lp, self._lp = lfilter([a], [1, a - 1], acc.T, axis=1, zi=self._lp)
        up = lp.T
        return up / np.linalg.norm(up, axis=1, keepdims=True)
