"""Stillness: low gyro norm and a quiet accelerometer, causal and chunk-invariant."""

from __future__ import annotations

import math

import numpy as np

from analysis.lowpass import OnePole


class GridStill:
    """Stillness of several sensors at once, on the common grid.

    Input per grid sample and sensor: accelerometer (g, 3 axes) and gyro norm (°/s, NaN
    without a gyroscope). Still = one-pole low-passed gyro norm < ``gyr_dps`` and the
    accelerometer's low-passed distance from its own low-pass < ``acc_g``. One filter call for
    all sensors per chunk; state is carried, so chunking does not change the flags.
    """

    def __init__(
        self, n_sensors: int, *, grid_hz: float, smooth_s: float, gyr_dps: float, acc_g: float
    ) -> None:
        dt = 1.0 / grid_hz
        self._lp = OnePole(dt / (smooth_s + dt))
        self.gyr_dps = gyr_dps
        self.acc_g = acc_g
        self._s = n_sensors
        self._zi: np.ndarray | None = None  # (S*4, 1)
        self._zi_dev = np.zeros((n_sensors, 1))

    def update(self, acc_g: np.ndarray, gyr_norm_dps: np.ndarray) -> np.ndarray:
        """``acc_g`` (S, m, 3), ``gyr_norm_dps`` (S, m) -> still (S, m) bools."""
        s, m, _ = acc_g.shape
        if m == 0:
            return np.zeros((s, 0), dtype=bool)
        # per sensor the 3 accelerometer axes and the gyro norm (0 without a gyro), (S*4, m)
        x3 = np.empty((s, 4, m))
        x3[:, :3] = acc_g.transpose(0, 2, 1)
        x3[:, 3] = gyr_norm_dps
        if not math.isfinite(np.add.reduce(gyr_norm_dps, axis=None)):
            np.nan_to_num(x3[:, 3], copy=False)
        x = x3.reshape(s * 4, m)
        if self._zi is None:
            self._zi = self._lp.settled_on(x[:, :1])
        y, self._zi = self._lp.filter(x, self._zi)
        y = y.reshape(s, 4, m)
        d = acc_g - y[:, :3].transpose(0, 2, 1)
        dev = np.sqrt(np.add.reduce(d * d, axis=2))
        dev_lp, self._zi_dev = self._lp.filter(dev, self._zi_dev)
        return (dev_lp < self.acc_g) & (y[:, 3] < self.gyr_dps)
