"""Adapter to the orientation stage: one causal up-vector estimator per sensor.

Uses ``analysis.orientation.UpEstimator`` when it is available; otherwise falls back to
VQF directly (6D with a gyroscope; a low-passed accelerometer without one).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

G = 9.80665


class UpSource(Protocol):
    def update(
        self, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None
    ) -> np.ndarray: ...


def align_to_gravity(vqf: Any, acc_g: np.ndarray) -> None:
    """Start VQF's inclination at the measured gravity direction.

    VQF starts from the identity and pulls its inclination towards the accelerometer with
    ``tauAcc`` (3 s): a sensor clipped on sideways would still be tens of degrees off
    when the 2 s standing neutral is taken. The first samples are taken still (the user
    is asked to stand still), so their mean accelerometer reading is the up direction.
    """
    n = float(np.linalg.norm(acc_g))
    if not np.isfinite(n) or n < 0.5:
        return
    up = acc_g / n
    # shortest rotation taking ``up`` (sensor frame) to earth z: axis up x z
    axis = np.cross(up, [0.0, 0.0, 1.0])
    s, c = float(np.linalg.norm(axis)), float(up[2])
    if s < 1e-9:
        q = np.array([1.0, 0.0, 0.0, 0.0]) if c > 0 else np.array([0.0, 1.0, 0.0, 0.0])
    else:
        half = 0.5 * np.arctan2(s, c)
        q = np.concatenate([[np.cos(half)], np.sin(half) * axis / s])
    state = vqf.state
    state["accQuat"] = q
    vqf.state = state


class _VqfUp:
    def __init__(self, rate_hz: float, has_gyro: bool) -> None:
        from vqf import VQF

        self._vqf = VQF(1.0 / rate_hz) if has_gyro else None
        self._alpha = (1.0 / rate_hz) / (0.05 + 1.0 / rate_hz)
        self._lp: np.ndarray | None = None
        self._started = False

    def update(
        self, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None
    ) -> np.ndarray:
        if self._vqf is not None and gyr_dps is not None:
            if not self._started and len(acc_g):
                self._started = True
                align_to_gravity(self._vqf, acc_g[0])
            out = self._vqf.updateBatch(
                np.ascontiguousarray(np.radians(gyr_dps)), np.ascontiguousarray(acc_g * G)
            )
            q = out["quat6D"]
            w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
            return np.column_stack(
                [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z]
            )
        from scipy.signal import lfilter

        a = self._alpha
        if self._lp is None:
            self._lp = ((1 - a) * acc_g[0]).reshape(3, 1)
        lp, self._lp = lfilter([a], [1, a - 1], acc_g.T, axis=1, zi=self._lp)
        up = lp.T
        return up / np.linalg.norm(up, axis=1, keepdims=True)


def make_up_estimator(rate_hz: float, has_gyro: bool) -> UpSource:
    try:
        from analysis.orientation import UpEstimator  # type: ignore[import-not-found]
    except ImportError:
        return _VqfUp(rate_hz, has_gyro)
    return UpEstimator(rate_hz=rate_hz, has_gyro=has_gyro)
