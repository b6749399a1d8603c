"""Settings and results of the lifter simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.session import Session

FAULTS: tuple[str, ...] = (
    "lumbar_first",
    "lumbar_flexion",
    "lumbar_extension",
    "knee_dominant",
    "torso_drift",
)
"""Labelled faults; the names are the review flags they should raise."""

FAULT_ALIASES: dict[str, str] = {
    "rounding": "lumbar_flexion",
    "arching": "lumbar_extension",
    "knee": "knee_dominant",
    "drift": "torso_drift",
}

SIM_EXERCISES: tuple[str, ...] = ("hinge", "rdl", "deadlift", "swing", "row", "good_morning")


@dataclass(frozen=True, kw_only=True)
class MountSlip:
    """A sensor's mounting turns on its segment during a standing rest and stays turned.

    The sensor rotates by ``deg`` about the segment's flexion axis (positive = the same way
    as a positive segment tilt, the top forward), ``after_s`` into rest ``rest`` (1 = the
    rest after the first set), over ``dur_s`` (a bump, so the sensor is not still while it
    turns). The body does not move: the true angles are unchanged, only the sensor's
    mounting is. Needs ``sets`` > ``rest``.
    """

    sensor: str
    deg: float
    rest: int = 1
    after_s: float = 2.0
    dur_s: float = 0.3

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def fault_name(name: str) -> str:
    """Canonical fault name (``rounding`` -> ``lumbar_flexion``); ``ValueError`` if unknown."""
    key = name.strip().lower().replace("-", "_")
    key = FAULT_ALIASES.get(key, key)
    if key not in FAULTS:
        known = ", ".join([*FAULTS, *FAULT_ALIASES])
        raise ValueError(f"unknown fault {name!r}; known: {known}")
    return key


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """One simulated session. Every random choice comes from ``seed``.

    ``faults`` maps a fault to how many reps (per set) carry it; the reps are picked at
    random and do not overlap while there are enough reps. For ``row`` one "rep" is one
    held hinge with ``row_pulls`` arm pulls on it.
    """

    exercise: str = "rdl"
    reps: int = 6
    faults: dict[str, int] = field(default_factory=dict)
    sets: int = 1
    rest_s: float = 20.0
    """Standing rest between sets (the sensors stay on; neutral can be re-found)."""
    seed: int = 0
    sensors: tuple[str, ...] = ("lumbar", "sacrum", "thigh")
    rate_hz: float | dict[str, float] = 100.0
    """One rate for all sensors, or per placement (50-200 Hz)."""
    accel_only: bool | tuple[str, ...] = False
    """True (all) or the placements whose device has no gyroscope."""
    mounting: str | None = "random"
    """``"random"``: every sensor clipped in a random orientation; ``None``: axes aligned with
    the segment (x forward, y left, z up)."""
    imu_errors: bool = True
    """Bias, scale error, noise and int16 quantisation; False gives exact signals."""
    drop_rate: float = 0.0
    """Share of samples lost (in short bursts, as BLE drops packets)."""
    clock_offset_s: float = 0.002
    """Residual time offset between sensors after clock alignment (each drawn in ±this)."""
    clock_drift_ppm: float = 20.0
    """Residual drift of each sensor's timeline (each drawn in ±this)."""
    time_jitter_s: float = 0.0
    """Each recorded time stamp off by a uniform ±this (a host stamping samples as they
    come, not from the sensor's clock); under half a sample period, so they stay in order."""
    still_start_s: float = 3.0
    still_end_s: float = 2.0
    start: str = "standing"
    """``"standing"``: the session starts with ``still_start_s`` of standing still, then the
    first rep. ``"hinge"``: no standing start; the lifter is already in the first rep's
    bottom posture at time 0 and holds it still for ``still_start_s`` (a set begun in its
    held hinge), then goes on as usual: up, and the later reps. That first rep has no
    descent, so it carries no fault but a row's hold faults (drift, rounding, arching); its
    truth has ``hip_onset_s`` = ``bottom_s`` = 0."""
    row_pulls: int = 8
    sway: bool = True
    """Small out-of-plane sway and postural wobble."""
    slips: tuple[MountSlip, ...] = ()
    """Mounting changes mid-session (see :class:`MountSlip`)."""

    def rate_of(self, placement: str) -> float:
        if isinstance(self.rate_hz, dict):
            return float(self.rate_hz[placement])
        return float(self.rate_hz)

    def has_gyro(self, placement: str) -> bool:
        if isinstance(self.accel_only, bool):
            return not self.accel_only
        return placement not in self.accel_only

    def to_json(self) -> dict[str, Any]:
        return (
            {
                "exercise": self.exercise,
                "reps": self.reps,
                "faults": dict(self.faults),
                "sets": self.sets,
                "rest_s": self.rest_s,
                "seed": self.seed,
                "sensors": list(self.sensors),
                "rate_hz": self.rate_hz,
                "accel_only": self.accel_only
                if isinstance(self.accel_only, bool)
                else list(self.accel_only),
                "mounting": self.mounting,
                "imu_errors": self.imu_errors,
                "drop_rate": self.drop_rate,
                "clock_offset_s": self.clock_offset_s,
                "clock_drift_ppm": self.clock_drift_ppm,
                "still_start_s": self.still_start_s,
                "row_pulls": self.row_pulls,
                "slips": [x.to_json() for x in self.slips],
            }
            | ({} if self.start == "standing" else {"start": self.start})
            | ({"time_jitter_s": self.time_jitter_s} if self.time_jitter_s else {})
        )


@dataclass(frozen=True, kw_only=True)
class TruthRep:
    """One true rep: times on the session clock, angles in the DOMAIN.md convention."""

    index: int
    set_index: int
    start_s: float
    bottom_s: float
    end_s: float
    hip_onset_s: float
    lumbar_onset_s: float
    lumbar_lead_ms: float
    hip_rom_deg: float
    lumbar_peak_deg: float
    lumbar_min_deg: float
    thigh_bottom_deg: float
    faults: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class TruthAngles:
    """True angles on a uniform grid (relative to the standing neutral)."""

    time_s: np.ndarray
    hip_deg: np.ndarray
    lumbar_deg: np.ndarray
    trunk_deg: np.ndarray
    pelvis_deg: np.ndarray
    thigh_deg: np.ndarray


@dataclass(frozen=True)
class SimResult:
    session: Session
    reps: list[TruthRep]
    angles: TruthAngles
    device_time_s: dict[str, np.ndarray]
    """Each sensor's own clock at each recorded sample (for virtual sensors)."""
    config: SimConfig
