"""Re-find the neutral mid-session without restarting the sensors or the recording.

A re-clipped sensor invalidates its neutral (and, unless it only turned about the
segment's flexion axis, its flexion axis in its own frame). :class:`Recalibration` is
what ``LiveSession.recalibrate()`` keeps while the new neutral is searched: the live
session swaps in a fresh streaming pipeline (a new stillness/neutral search, the same
configuration and sensors), and once that pipeline has found the new neutral,
:func:`carried_axes` picks which learned flexion axes carry over into it
(``AxisTilt.seed``), with the rule offline review applies too
(:func:`analysis.recalibration.carry_axes`): a sensor named in ``relearn`` (the set-up
flow names the one it asked to re-clip) learns its axis again from the movement that
follows; any other keeps its axis unless its neutral up vector, in its own frame, moved
more than ``keep_axis_max_deg`` (it was re-clipped). A sensor re-clipped by a turn about
the vertical only (its up vector unchanged) keeps its old, now wrong, axis; name it in
``relearn`` (the set-up flow does).

Seeding right after the neutral is found is the same as passing ``axes=`` when the
pipeline is built: before the neutral is known no sample votes for an axis (tested in
``tests/test_recalibrate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.recalibration import KEEP_AXIS_MAX_DEG, carry_axes

__all__ = ["KEEP_AXIS_MAX_DEG", "Recalibration", "carried_axes"]


@dataclass
class Recalibration:
    """One request: made at ``requested_s`` (session clock), done once ``neutral_s`` is set."""

    requested_s: float
    """Session clock when ``recalibrate()`` was called."""
    sensors: list[str]
    old_u0: np.ndarray | None
    """(S, 3) neutral up vectors in use before the request (None: none was found yet)."""
    old_axes: np.ndarray
    """(S, 3) flexion axes learned before the request (NaN rows: not learned)."""
    relearn: frozenset[str] = frozenset()
    reason: str = ""
    from_s: float | None = None
    """Time of the first sample the fresh pipeline got (the search starts there)."""
    neutral_s: float | None = None
    """End of the new neutral's still window (session clock), once found."""
    kept: list[str] = field(default_factory=list)
    """Sensors whose flexion axis carried over."""
    turned_deg: dict[str, float] = field(default_factory=dict)
    """Per sensor: how far its neutral up vector moved (its own frame)."""

    @property
    def done(self) -> bool:
        return self.neutral_s is not None

    def to_json(self) -> dict[str, object]:
        return {
            "requested_s": round(self.requested_s, 4),
            "from_s": None if self.from_s is None else round(self.from_s, 4),
            "neutral_s": None if self.neutral_s is None else round(self.neutral_s, 4),
            "reason": self.reason,
            "relearn": sorted(self.relearn),
            "kept_axes": list(self.kept),
            "turned_deg": {k: round(v, 1) for k, v in self.turned_deg.items()},
        }


def carried_axes(
    rec: Recalibration, new_u0: np.ndarray, *, keep_axis_max_deg: float = KEEP_AXIS_MAX_DEG
) -> np.ndarray:
    """Axes (S, 3) to seed the new pipeline with (NaN rows: relearn); fills ``rec.kept``
    and ``rec.turned_deg``."""
    got = carry_axes(
        rec.sensors,
        rec.old_u0,
        rec.old_axes,
        new_u0,
        relearn=rec.relearn,
        keep_axis_max_deg=keep_axis_max_deg,
    )
    rec.kept = got.kept
    rec.turned_deg = got.turned_deg
    return got.axes
