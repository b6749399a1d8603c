"""What a virtual sensor measures: one placement's samples plus its device clock.

A :class:`SampleSource` is built from a recorded :class:`analysis.session.SensorStream`
or from the simulator's result (``analysis.sim``), and tells the virtual sensor what
its IMU reads at each sample and what its own clock says then.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.session import SensorStream, Session


@dataclass(frozen=True)
class SampleSource:
    """Samples of one sensor: true (common-clock) times, device-clock times and values.

    ``time_s`` paces the stream in host time; ``device_time_s`` (the sensor's own
    clock, with whatever offset and drift the source gives) goes on the wire.
    """

    time_s: np.ndarray
    device_time_s: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray | None
    name: str = "sensor"

    def __post_init__(self) -> None:
        n = len(self.time_s)
        if n < 2:
            raise ValueError(f"{self.name}: a sample source needs at least 2 samples")
        if self.device_time_s.shape != (n,) or self.acc_g.shape != (n, 3):
            raise ValueError(f"{self.name}: device_time_s / acc_g shapes do not match time_s")
        if self.gyr_dps is not None and self.gyr_dps.shape != (n, 3):
            raise ValueError(f"{self.name}: gyr_dps shape {self.gyr_dps.shape} != ({n}, 3)")
        if np.any(np.diff(self.time_s) <= 0) or np.any(np.diff(self.device_time_s) <= 0):
            raise ValueError(f"{self.name}: sample times must increase")

    @property
    def samples(self) -> int:
        return len(self.time_s)

    @functools.cached_property
    def period_s(self) -> float:
        """Nominal sample period on the device clock (median step)."""
        return float(np.median(np.diff(self.device_time_s)))

    @property
    def rate_hz(self) -> float:
        return 1.0 / self.period_s

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0])

    def device_time_at(self, time_s: float) -> float:
        """Device clock at a common-clock time (linear in the source's clock model)."""
        t, d = self.time_s, self.device_time_s
        rate = (d[-1] - d[0]) / (t[-1] - t[0])
        return float(d[0] + (time_s - t[0]) * rate)

    @classmethod
    def from_stream(
        cls,
        stream: SensorStream,
        *,
        device_time_s: np.ndarray | None = None,
        clock_offset_s: float = 0.0,
        clock_drift_ppm: float = 0.0,
    ) -> SampleSource:
        """From a recorded stream; the device clock is given or modelled as offset + drift."""
        t = np.asarray(stream.time_s, dtype=float)
        if device_time_s is None:
            device_time_s = clock_offset_s + (t - t[0]) * (1.0 + clock_drift_ppm * 1e-6)
        return cls(
            time_s=t,
            device_time_s=np.asarray(device_time_s, dtype=float),
            acc_g=np.asarray(stream.acc_g, dtype=float),
            gyr_dps=None if stream.gyr_dps is None else np.asarray(stream.gyr_dps, dtype=float),
            name=stream.name,
        )

    @classmethod
    def from_session(cls, session: Session, placement: str, **clock: float) -> SampleSource:
        """One placement of a recorded session (clock keywords as :meth:`from_stream`)."""
        if placement not in session.sensors:
            raise KeyError(f"{session.source}: no sensor {placement!r}")
        return cls.from_stream(session.sensors[placement], **clock)

    @classmethod
    def from_sim(cls, result: Any, placement: str) -> SampleSource:
        """One placement of a simulator result (``analysis.sim.SimResult``).

        Uses ``result.session`` for the samples and ``result.device_time_s`` (a mapping
        placement -> array) for the sensor's clock.
        """
        session: Session = result.session
        device_time = getattr(result, "device_time_s", None)
        clock = device_time.get(placement) if isinstance(device_time, Mapping) else None
        return cls.from_stream(session.sensors[placement], device_time_s=clock)
