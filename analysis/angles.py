"""Which angles the sensors present can give, and computing them from segment tilts.

hip flexion = pelvis tilt − thigh tilt; lumbar flexion = trunk tilt − pelvis tilt
(DOMAIN.md). With two sensors the pipeline gives what it honestly can:

- sacrum + thigh: hip angle and reps; no lumbar angle.
- lumbar + sacrum: lumbar angle; reps from the pelvis tilt (the pelvis leads the hinge);
  no hip angle (the thigh is not measured).
- lumbar + thigh: neither angle (the pelvis sits between them); reps from the
  trunk-to-thigh angle, which mixes hip and lumbar flexion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.tilt import SEGMENT_SIGN

USED: tuple[str, ...] = ("lumbar", "sacrum", "thigh")


@dataclass(frozen=True)
class AngleLayout:
    sensors: tuple[str, ...]
    """Placements used, in the order of the stacked arrays."""
    rep_signal: str
    """``"hip"``, ``"pelvis"`` or ``"trunk_thigh"``."""
    missing: tuple[str, ...]

    @property
    def has_hip(self) -> bool:
        return "sacrum" in self.sensors and "thigh" in self.sensors

    @property
    def has_lumbar(self) -> bool:
        return "lumbar" in self.sensors and "sacrum" in self.sensors

    @property
    def signs(self) -> np.ndarray:
        return np.array([SEGMENT_SIGN[s] for s in self.sensors])

    def index(self, name: str) -> int:
        return self.sensors.index(name)


def layout_for(names: list[str] | tuple[str, ...]) -> AngleLayout:
    """Pick the placements to use. Raises ``ValueError`` (plain words) below two sensors."""
    present = tuple(s for s in USED if s in names)
    ignored = sorted(set(names) - set(USED))
    missing: list[str] = []
    if ignored:
        missing.append(f"sensor(s) {', '.join(ignored)} not used by the hinge analysis")
    if len(present) < 2:
        have = ", ".join(present) or "none of lumbar, sacrum, thigh"
        raise ValueError(
            f"need at least two of the lumbar, sacrum and thigh sensors, got {have}; "
            "one sensor cannot separate hip from back movement"
        )
    if len(present) == 3:
        return AngleLayout(present, "hip", tuple(missing))
    if present == ("sacrum", "thigh"):
        missing.append(
            "no lumbar sensor: lumbar angle, lumbar onset, lumbar-first, rounding and "
            "arching cannot be measured"
        )
        return AngleLayout(present, "hip", tuple(missing))
    if present == ("lumbar", "sacrum"):
        missing.append(
            "no thigh sensor: hip angle, hip onset, hip range and knee-dominant cannot be "
            "measured; reps are found from the pelvis tilt"
        )
        return AngleLayout(present, "pelvis", tuple(missing))
    missing.append(
        "no sacrum sensor: neither hip nor lumbar angle can be separated (the pelvis sits "
        "between the two sensors); reps are found from the trunk-to-thigh angle"
    )
    return AngleLayout(present, "trunk_thigh", tuple(missing))


def compute_angles(
    layout: AngleLayout, tilts: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """``tilts`` (S, m) in layout order -> (hip, lumbar, rep signal), each (m,) or None."""
    t = {name: tilts[i] for i, name in enumerate(layout.sensors)}
    hip = t["sacrum"] - t["thigh"] if layout.has_hip else None
    lumbar = t["lumbar"] - t["sacrum"] if layout.has_lumbar else None
    if layout.rep_signal == "hip":
        assert hip is not None
        rep = hip
    elif layout.rep_signal == "pelvis":
        rep = t["sacrum"]
    else:
        rep = t["lumbar"] - t["thigh"]
    return hip, lumbar, rep
