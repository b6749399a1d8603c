"""Results of the pipeline: per-rep metrics, angle series, live events.

``SessionReview.to_json`` produces exactly the review JSON of DOMAIN.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FLAGS: tuple[str, ...] = (
    "lumbar_first",
    "lumbar_flexion",
    "lumbar_extension",
    "knee_dominant",
    "torso_drift",
)


def _r(x: float | None, nd: int) -> float | None:
    """Rounded for the JSON; ``-0.0`` (a tiny negative rounded) is written as ``0.0``."""
    return None if x is None or not np.isfinite(x) else round(float(x), nd) + 0.0


@dataclass(frozen=True)
class RepResult:
    """One rep. Fields that the sensors present cannot measure are ``None``."""

    index: int
    start_s: float
    bottom_s: float
    end_s: float
    hip_rom_deg: float | None
    lumbar_peak_deg: float | None
    lumbar_min_deg: float | None
    hip_onset_s: float | None
    lumbar_onset_s: float | None
    lumbar_lead_ms: float | None
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "start_s": _r(self.start_s, 3),
            "bottom_s": _r(self.bottom_s, 3),
            "end_s": _r(self.end_s, 3),
            "hip_rom_deg": _r(self.hip_rom_deg, 1),
            "lumbar_peak_deg": _r(self.lumbar_peak_deg, 1),
            "lumbar_min_deg": _r(self.lumbar_min_deg, 1),
            "hip_onset_s": _r(self.hip_onset_s, 3),
            "lumbar_onset_s": _r(self.lumbar_onset_s, 3),
            "lumbar_lead_ms": _r(self.lumbar_lead_ms, 1),
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class AngleSeries:
    """Angles on one common time base (degrees, DOMAIN.md signs).

    ``hip_deg`` / ``lumbar_deg`` are ``None`` when the sensors present cannot give
    them; ``tilts_deg`` holds the sagittal tilt of each segment that has a sensor.
    """

    time_s: np.ndarray
    hip_deg: np.ndarray | None
    lumbar_deg: np.ndarray | None
    tilts_deg: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class SensorInfo:
    rate_hz: float
    samples: int


@dataclass(frozen=True)
class SessionReview:
    file: str
    sensors: dict[str, SensorInfo]
    reps: list[RepResult]
    angles: AngleSeries
    missing: list[str] = field(default_factory=list)
    """Plain-words notes on what could not be measured and why."""
    settings: dict[str, object] = field(default_factory=dict)
    """Thresholds and options used, for reports."""

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sensors": {
                name: {"rate_hz": round(info.rate_hz, 1), "samples": info.samples}
                for name, info in self.sensors.items()
            },
            "reps": [rep.to_json() for rep in self.reps],
        }


@dataclass(frozen=True)
class LiveEvent:
    """Something the streaming pipeline reports while the set runs.

    ``kind`` is ``"alert"`` (``flag`` says which fault), ``"rep_start"``,
    ``"rep_bottom"``, ``"rep_end"`` (``rep`` carries the finished rep's result) or
    ``"rep_discard"``: rep ``rep_index`` will not end (a movement too short or too long
    for a rep, or a back-first alert that no rep followed), and the next rep takes its
    number. ``time_s`` is the sample time that triggered the event.
    """

    kind: str
    time_s: float
    rep_index: int
    flag: str | None = None
    message: str = ""
    rep: RepResult | None = None
