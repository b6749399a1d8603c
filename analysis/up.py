"""The orientation stage's interface: one up-vector source per sensor.

Live and by default: a causal estimator per sensor (:mod:`analysis.orientation`, VQF with
gyro; low-passed accelerometer without). Offline review can instead hand the pipeline up
vectors computed beforehand over the whole recording (``PrecomputedUp``, e.g. from
``offline_orientation.smoothed_up``); every later stage is the same.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from analysis.orientation import UpEstimator


class UpSource(Protocol):
    def update(
        self, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None
    ) -> np.ndarray: ...


def make_up_estimator(rate_hz: float, has_gyro: bool) -> UpSource:
    return UpEstimator(rate_hz=rate_hz, has_gyro=has_gyro)


class PrecomputedUp:
    """Up vectors known in advance for every sample time of one sensor.

    ``update`` looks each pushed sample up by its exact time (so samples the pipeline
    dropped do not shift the rest); a time it does not know gets NaN.
    """

    def __init__(self, time_s: np.ndarray, up: np.ndarray) -> None:
        self._t = np.ascontiguousarray(time_s, dtype=float)  # searched on every update
        self._up = np.asarray(up, dtype=float)

    def update(
        self, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None = None
    ) -> np.ndarray:
        t = np.asarray(time_s, dtype=float)
        i = np.minimum(np.searchsorted(self._t, t), len(self._t) - 1)
        out = self._up[i].copy()
        out[self._t[i] != t] = np.nan
        return out
