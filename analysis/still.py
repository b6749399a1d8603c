"""Per-sensor stillness: low gyro norm and a quiet accelerometer, causal and chunk-invariant."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


class StillDetector:
    """Marks samples where one sensor is still.

    Still = low-passed gyro norm < ``gyr_dps`` (when there is a gyro) and low-passed
    deviation of the accelerometer from its own low-pass < ``acc_g``. One-pole filters
    with time constant ``smooth_s``; their state is carried between chunks, so any
    chunking gives the same flags.
    """

    def __init__(self, *, rate_hz: float, smooth_s: float, gyr_dps: float, acc_g: float) -> None:
        dt = 1.0 / rate_hz
        self._alpha = dt / (smooth_s + dt)
        self._b = np.array([self._alpha])
        self._a = np.array([1.0, self._alpha - 1.0])
        self.gyr_dps = gyr_dps
        self.acc_g = acc_g
        self._zi_acc: np.ndarray | None = None  # (3, 1)
        self._zi_dev = np.zeros(1)
        self._zi_gyr: np.ndarray | None = None

    def update(self, acc_g: np.ndarray, gyr_dps: np.ndarray | None) -> np.ndarray:
        """Return a boolean array, one per sample."""
        n = len(acc_g)
        if n == 0:
            return np.zeros(0, dtype=bool)
        if self._zi_acc is None:
            self._zi_acc = ((1.0 - self._alpha) * acc_g[0]).reshape(3, 1)
        acc_lp, zf = lfilter(self._b, self._a, acc_g.T, axis=1, zi=self._zi_acc)
        self._zi_acc = zf
        dev = np.sqrt(((acc_g - acc_lp.T) ** 2).sum(axis=1))
        dev_lp, self._zi_dev = lfilter(self._b, self._a, dev, zi=self._zi_dev)
        still = dev_lp < self.acc_g
        if gyr_dps is not None:
            gn = np.sqrt((gyr_dps**2).sum(axis=1))
            if self._zi_gyr is None:
                self._zi_gyr = np.array([(1.0 - self._alpha) * gn[0]])
            gyr_lp, self._zi_gyr = lfilter(self._b, self._a, gn, zi=self._zi_gyr)
            still &= gyr_lp < self.gyr_dps
        return still
