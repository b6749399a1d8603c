"""Sensor imperfections: sample clock, bias, scale, noise, int16 quantisation, drops.

Figures are typical of the consumer MEMS IMUs hipfirst targets (MPU6886 / ICM-42688
class, after the factory calibration): accelerometer bias ±15 mg, scale ±1 %, noise
2 mg rms; gyro bias ±0.5 °/s, scale ±1 %, noise 0.1 °/s rms; ±8 g and ±2000 °/s ranges
with 16-bit samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACC_RANGE_G = 8.0
GYR_RANGE_DPS = 2000.0


@dataclass(frozen=True)
class Timing:
    true_s: np.ndarray
    """When each sample was really taken (the physics time)."""
    recorded_s: np.ndarray
    """The host-aligned time written to the session (true time + residual offset/drift)."""
    device_s: np.ndarray
    """The sensor's own clock."""


def sample_times(
    rng: np.random.Generator,
    *,
    rate_hz: float,
    duration_s: float,
    offset_s: float,
    drift_ppm: float,
) -> Timing:
    raw_ppm = float(rng.uniform(-80, 80))  # the device crystal vs true time
    phase = float(rng.uniform(0, 1.0 / rate_hz))
    n = int((duration_s - phase) * rate_hz * (1 + raw_ppm * 1e-6))
    k = np.arange(n)
    true = phase + k / (rate_hz * (1 + raw_ppm * 1e-6))
    device = float(rng.uniform(1.0, 100.0)) + k / rate_hz
    recorded = true + offset_s + drift_ppm * 1e-6 * true
    return Timing(true, recorded, device)


def degrade(
    rng: np.random.Generator, acc_g: np.ndarray, gyr_dps: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    acc = acc_g * (1 + rng.uniform(-0.01, 0.01, 3)) + rng.uniform(-0.015, 0.015, 3)
    acc = acc + rng.normal(0, 0.002, acc.shape)
    acc = _quantise(acc, ACC_RANGE_G)
    if gyr_dps is None:
        return acc, None
    gyr = gyr_dps * (1 + rng.uniform(-0.01, 0.01, 3)) + rng.uniform(-0.5, 0.5, 3)
    gyr = gyr + rng.normal(0, 0.1, gyr.shape)
    return acc, _quantise(gyr, GYR_RANGE_DPS)


def _quantise(x: np.ndarray, full_scale: float) -> np.ndarray:
    lsb = full_scale / 32768.0
    return np.clip(np.rint(x / lsb), -32768, 32767) * lsb


def kept_samples(rng: np.random.Generator, n: int, drop_rate: float) -> np.ndarray:
    """Indices that survive; losses come in bursts of 3-15 samples (a lost BLE packet)."""
    keep = np.ones(n, dtype=bool)
    if drop_rate <= 0 or n < 100:
        return np.arange(n)
    target = int(drop_rate * n)
    lost = 0
    while lost < target:
        length = int(rng.integers(3, 16))
        start = int(rng.integers(50, n - 50))  # never the first/last samples
        lost += int(keep[start : start + length].sum())
        keep[start : start + length] = False
    return np.flatnonzero(keep)
