"""The orientation stage's interface: one causal up-vector estimator per sensor.

See :mod:`analysis.orientation` for the estimator (VQF with gyro; low-passed
accelerometer without).
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
