"""Practice hinges (``--practice N``) are not the set's reps: the live view, the set's
closing line and the review all leave them out, by the ``practice_start`` /
``practice_end`` marks the set flow logs (``LiveSummary.markers``, the sidecar's
``markers``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # review imports this module: not the live stack
    from hipfirst.live.session import LiveSummary


def practice_windows(markers: object) -> list[tuple[float, float]]:
    """(from, to) of each practice phase in ``markers`` (a list of ``{"time_s", "kind"}``;
    anything else is skipped); one not ended yet lasts to the end (``inf``)."""
    out: list[tuple[float, float]] = []
    start: float | None = None
    for m in markers if isinstance(markers, list) else []:
        if not isinstance(m, dict) or not isinstance(m.get("time_s"), int | float):
            continue
        if m.get("kind") == "practice_start" and start is None:
            start = float(m["time_s"])
        elif m.get("kind") == "practice_end" and start is not None:
            out.append((start, float(m["time_s"])))
            start = None
    if start is not None:
        out.append((start, math.inf))
    return out


def in_practice(time_s: float, windows: list[tuple[float, float]]) -> bool:
    """An event at ``time_s`` (a rep's end, an alert) belongs to a practice phase."""
    return any(a <= time_s <= b for a, b in windows)


def set_totals(summary: LiveSummary) -> str:
    """The line a live set ends with: its reps and alerts, practice hinges left out."""
    windows = practice_windows(summary.markers)
    reps = [e for e in summary.events if e.kind == "rep_end" and not in_practice(e.time_s, windows)]
    alerts = [e for e in summary.alerts if not in_practice(e.time_s, windows)]
    return f"{len(reps)} reps, {len(alerts)} alerts, {len(summary.gaps)} gaps"
