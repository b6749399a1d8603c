"""In-memory form of a recorded session: one stream of IMU samples per placement."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PLACEMENTS: tuple[str, ...] = ("lumbar", "sacrum", "thigh")
"""Placements the pipeline uses; other names are carried along and ignored."""


@dataclass(frozen=True)
class SensorStream:
    """Samples of one sensor on the common (host-aligned) clock.

    ``acc_g`` is the accelerometer in g with gravity included (+1 g up at rest),
    ``gyr_dps`` the gyroscope in degrees per second, both in sensor axes, shape
    ``(n, 3)``. ``gyr_dps`` is ``None`` for an accelerometer-only device.
    """

    name: str
    time_s: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.time_s)
        if self.acc_g.shape != (n, 3):
            raise ValueError(f"{self.name}: acc_g shape {self.acc_g.shape} != ({n}, 3)")
        if self.gyr_dps is not None and self.gyr_dps.shape != (n, 3):
            raise ValueError(f"{self.name}: gyr_dps shape {self.gyr_dps.shape} != ({n}, 3)")

    @property
    def samples(self) -> int:
        return len(self.time_s)

    @property
    def rate_hz(self) -> float:
        """Median sample rate (robust to dropped samples)."""
        if self.samples < 2:
            return 0.0
        return float(1.0 / np.median(np.diff(self.time_s)))


@dataclass(frozen=True)
class Session:
    """All sensor streams of one session, keyed by placement name."""

    sensors: dict[str, SensorStream]
    source: str = "<memory>"
    meta: dict[str, object] = field(default_factory=dict)

    def has(self, *names: str) -> bool:
        return all(n in self.sensors for n in names)
