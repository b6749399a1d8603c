"""Re-calibrations (restarts of the pipeline mid-session) that offline review and the live
session share.

A lifter who re-clips a sensor in a rest re-calibrates (``LiveSession.recalibrate()``):
the pipeline restarts from a session time ``from_s`` with a fresh neutral search (the first
``neutral_s`` of standing still after it), and the flexion axes of the sensors that were
not re-clipped carry over (:func:`carry_axes`). The recording's sidecar logs each one in
its ``calibration`` list as ``{"kind": "recalibrate", "start_s": from_s, "end_s": from_s}``
(:func:`sidecar_restarts`); ``analysis.review.review_session(restarts_s=...)`` analyses
each stretch between restarts the same way.

:func:`carry_axes` decides which axes carry over: a sensor named in ``relearn`` learns its
axis again; any other keeps its axis if its neutral up vector, in its own frame, moved
less than ``keep_axis_max_deg`` (it was not re-clipped: the lifter stands as before, give
or take a few degrees); a sensor whose up vector moved more was re-clipped and relearns.
A sensor re-clipped by a turn about the vertical only (up vector unchanged) keeps its old,
now wrong, axis unless named in ``relearn``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.errors import InputError
from analysis.session import Session

KEEP_AXIS_MAX_DEG = 10.0
"""A sensor whose neutral up vector moved less than this was not re-clipped."""

RECALIBRATE_KIND = "recalibrate"
"""``kind`` of a sidecar ``calibration`` entry that restarted the pipeline."""


@dataclass(frozen=True)
class CarriedAxes:
    """What :func:`carry_axes` decided."""

    axes: np.ndarray
    """(S, 3) axes to seed the new pipeline with (NaN rows: relearn)."""
    kept: list[str]
    """Sensors whose axis carries over, in sensor order."""
    turned_deg: dict[str, float]
    """Per sensor with both neutrals known: how far its neutral up vector moved."""


def carry_axes(
    sensors: Sequence[str],
    old_u0: np.ndarray | None,
    old_axes: np.ndarray,
    new_u0: np.ndarray,
    *,
    relearn: Iterable[str] = (),
    keep_axis_max_deg: float = KEEP_AXIS_MAX_DEG,
) -> CarriedAxes:
    """Axes learned before a restart (``old_axes`` (S, 3), NaN rows: none) that carry over
    to the pipeline whose first neutral is ``new_u0`` (S, 3); ``old_u0``: the neutral in use
    before the restart (None: none was found, nothing carries over)."""
    old_axes = np.asarray(old_axes, dtype=float)
    out = np.full_like(old_axes, np.nan)
    kept: list[str] = []
    turned: dict[str, float] = {}
    if old_u0 is None:
        return CarriedAxes(out, kept, turned)
    skip = frozenset(relearn)
    cos_keep = float(np.cos(np.radians(keep_axis_max_deg)))
    for i, name in enumerate(sensors):
        a, b = old_u0[i], new_u0[i]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        if not np.isfinite(cos):
            continue
        turned[name] = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        axis = old_axes[i]
        if name in skip or cos < cos_keep or not np.isfinite(axis).all():
            continue
        out[i] = axis
        kept.append(name)
    return CarriedAxes(out, kept, turned)


def recording_span(session: Session) -> tuple[float, float]:
    """First and last sample time over every sensor with samples."""
    streams = [s for s in session.sensors.values() if s.samples]
    if not streams:
        raise InputError(session.source, "no samples")
    return min(float(s.time_s[0]) for s in streams), max(float(s.time_s[-1]) for s in streams)


def check_restarts(
    session: Session,
    times_s: Sequence[float],
    *,
    file: str | None = None,
    fields: Sequence[str] | None = None,
) -> list[float]:
    """The restart times as floats, or ``InputError`` for one that is not a finite number,
    lies outside the recording or does not increase. ``file``/``fields`` name where each
    time came from (default: the session's file and ``restarts_s[i]``)."""
    where = session.source if file is None else file
    if fields is None:
        fields = [f"restarts_s[{i}]" for i in range(len(times_s))]
    t0, t1 = recording_span(session)
    out: list[float] = []
    for t, name in zip(times_s, fields, strict=True):
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)):
            raise InputError(where, f"re-calibration time {t!r} is not a number", field=name)
        v = float(t)
        if not math.isfinite(v):
            raise InputError(where, f"re-calibration time {v} is not finite", field=name)
        if not t0 <= v <= t1:
            raise InputError(
                where,
                f"re-calibration at {v:.3f} s is outside the recording ({t0:.3f}-{t1:.3f} s)",
                field=name,
            )
        if out and v <= out[-1]:
            raise InputError(
                where,
                f"re-calibration at {v:.3f} s is not after the previous one ({out[-1]:.3f} s)",
                field=name,
            )
        out.append(v)
    return out


def sidecar_restarts(
    session: Session,
    sidecar: Mapping[str, object],
    *,
    sidecar_file: str,
    torn: bool = False,
) -> list[float]:
    """Restart times (``start_s``) of the ``"recalibrate"`` entries of a recording sidecar's
    ``calibration`` list, checked (:func:`check_restarts`); errors name the sidecar field.
    ``torn``: the recording was cut by a crash (sidecar ``complete`` false), so its sidecar
    can log a re-calibration whose samples never reached the CSV: those are left out."""
    found = sidecar_recalibrations(session, sidecar, sidecar_file=sidecar_file, torn=torn)
    return [t for t, _ in found]


def sidecar_recalibrations(
    session: Session,
    sidecar: Mapping[str, object],
    *,
    sidecar_file: str,
    torn: bool = False,
) -> list[tuple[float, frozenset[str]]]:
    """As :func:`sidecar_restarts`, with each entry's ``relearn``: the sensors the live
    session was told to learn the flexion axis of again (the re-clipped ones; missing in
    older recordings: none)."""
    cal = sidecar.get("calibration")
    if cal is None:
        return []
    if not isinstance(cal, list):
        raise InputError(sidecar_file, "not a list", field="calibration")
    times: list[float] = []
    fields: list[str] = []
    relearn: list[frozenset[str]] = []
    for i, entry in enumerate(cal):
        if not isinstance(entry, Mapping):
            raise InputError(sidecar_file, "not an object", field=f"calibration[{i}]")
        if entry.get("kind") != RECALIBRATE_KIND:
            continue
        fields.append(f"calibration[{i}].start_s")
        if "start_s" not in entry:
            raise InputError(sidecar_file, "missing", field=fields[-1])
        times.append(entry["start_s"])  # type: ignore[arg-type]  # checked below
        names = entry.get("relearn", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InputError(
                sidecar_file, "not a list of sensor names", field=f"calibration[{i}].relearn"
            )
        relearn.append(frozenset(names))
    if torn and times:
        end = recording_span(session)[1]
        late = [i for i, t in enumerate(times) if isinstance(t, (int, float)) and t > end]
        times = [t for i, t in enumerate(times) if i not in late]
        fields = [f for i, f in enumerate(fields) if i not in late]
        relearn = [r for i, r in enumerate(relearn) if i not in late]
    checked = check_restarts(session, times, file=sidecar_file, fields=fields)
    return list(zip(checked, relearn, strict=True))
