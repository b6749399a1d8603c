"""Plain-words verdicts per rep and a set summary, honest about what was not measured."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.config import PipelineConfig
from analysis.results import RepResult, SessionReview

PHRASES: dict[str, str] = {
    "lumbar_first": "started from the lower back",
    "lumbar_flexion": "back rounded",
    "lumbar_extension": "back arched",
    "knee_dominant": "squatted it (knees, not hips)",
    "torso_drift": "torso angle drifted",
}
SUMMARY: dict[str, str] = {
    "lumbar_first": "started from the lower back",
    "lumbar_flexion": "rounded the back",
    "lumbar_extension": "arched the back",
    "knee_dominant": "bent the knees more than a hinge needs",
    "torso_drift": "let the torso angle drift",
}
SHORT: dict[str, str] = {
    "lumbar_first": "back first",
    "lumbar_flexion": "rounded",
    "lumbar_extension": "arched",
    "knee_dominant": "knees",
    "torso_drift": "torso drift",
}
CHECK_NAMES: dict[str, str] = {
    "lumbar_first": "hips-first order",
    "lumbar_flexion": "rounding",
    "lumbar_extension": "arching",
    "knee_dominant": "knee bend",
}
NOTE = (
    "Note: 'started from the lower back' is a coaching rule for the hip hinge, not a "
    "diagnosis; in free bending most healthy people start with the lower back."
)


def unchecked(review: SessionReview) -> tuple[str, ...]:
    """Flags the sensors present cannot decide (DOMAIN.md: two-sensor sessions)."""
    a = review.angles
    out: list[str] = []
    if a.hip_deg is None or a.lumbar_deg is None:
        out.append("lumbar_first")
    if a.lumbar_deg is None:
        out += ["lumbar_flexion", "lumbar_extension"]
    if "thigh" not in a.tilts_deg:
        out.append("knee_dominant")
    return tuple(out)


def rep_unchecked(rep: RepResult, skip: Sequence[str] = ()) -> tuple[str, ...]:
    """``skip`` (the session's, from ``unchecked``) and what this rep's own data could not
    decide: its lumbar or hip angle not known through the rep (a sensor lost mid-rep leaves
    those figures None). Such a rep was called "good: hips first, back steady"."""
    out = list(skip)
    lost: list[str] = []
    if rep.lumbar_peak_deg is None:
        lost += ["lumbar_first", "lumbar_flexion", "lumbar_extension"]
    if rep.hip_rom_deg is None:
        lost += ["lumbar_first", "knee_dominant"]
    return tuple(out + [f for f in dict.fromkeys(lost) if f not in out])


def verdict(rep: RepResult, *, short: bool = False, not_checked: Sequence[str] = ()) -> str:
    """``"started from the lower back"``, ``"good"``... ``not_checked`` (from
    ``unchecked``) keeps a clean rep from being called good when checks were missing."""
    if rep.flags:
        words = SHORT if short else PHRASES
        return ", ".join(words.get(f, f) for f in rep.flags)
    if not_checked:
        if short:
            return "no fault seen*"
        missing = ", ".join(CHECK_NAMES[f] for f in not_checked if f in CHECK_NAMES)
        return f"no fault seen (not measured: {missing})"
    return "good" if short else "good: hips first, back steady"


def _setting(review: SessionReview, name: str) -> float:
    value = review.settings.get(name, getattr(PipelineConfig(), name))
    return float(value)  # type: ignore[arg-type]


def sensor_line(review: SessionReview) -> str:
    parts = [
        f"{name} ({info.rate_hz:.0f} Hz, {info.samples:,} samples)"
        for name, info in review.sensors.items()
    ]
    absent = [n for n in ("lumbar", "sacrum", "thigh") if n not in review.sensors]
    line = "Sensors: " + ", ".join(parts) + "."
    if absent:
        line += f" Not worn: {', '.join(absent)}."
    return line


def summary_lines(review: SessionReview) -> list[str]:
    """The set in plain words: counts per fault, what was clean, what was not measured."""
    reps = review.reps
    n = len(reps)
    skip = unchecked(review)
    lines = [sensor_line(review)]
    if n == 0:
        lines.append("No reps found (a rep needs the hips to fold past the rep threshold).")
        return lines + [_sentence(m) for m in review.missing]
    rep_s = "rep" if n == 1 else "reps"
    if skip:
        clean = sum(1 for r in reps if not r.flags)
        lines.append(f"{n} {rep_s}; {clean} with no fault seen in what these sensors measure.")
    else:
        partial = [bool(rep_unchecked(r)) for r in reps if not r.flags]
        clean, part = partial.count(False), partial.count(True)
        line = f"{n} {rep_s}; {clean} clean."
        if part:
            line += (
                f" {part} with no fault seen but not fully measured (part of it not seen: a "
                "sensor's data missing, or the set begun already in its hinge)."
            )
        lines.append(line)
    for flag, words in SUMMARY.items():
        k = sum(1 for r in reps if flag in r.flags)
        if k:
            lines.append(f"{k} of {n} {rep_s} {words}.")
    lines += _clean_lines(review, tuple({f for r in reps for f in rep_unchecked(r, skip)}))
    leads = [r.lumbar_lead_ms for r in reps if r.lumbar_lead_ms is not None]
    first = [r for r in reps if "lumbar_first" in r.flags and r.lumbar_lead_ms is not None]
    if first:
        worst = max(first, key=lambda r: r.lumbar_lead_ms or 0.0)
        lines.append(
            f"Clearest back-first rep: rep {worst.index}, the back moved "
            f"{worst.lumbar_lead_ms:.0f} ms before the hips."
        )
    if leads:
        lines.append(
            f"Median lumbar lead {_signed(float(np.median(leads)))} ms "
            "(positive = the back moved before the hips; a lead counts as back-first "
            f"when the back also moved at least {_setting(review, 'lumbar_first_min_deg'):g}° "
            "early)."
        )
    down = float(np.median([r.bottom_s - r.start_s for r in reps]))
    up = float(np.median([r.end_s - r.bottom_s for r in reps]))
    lines.append(f"Tempo (median): {down:.1f} s down, {up:.1f} s up.")
    return lines + [_sentence(m) for m in review.missing]


def _clean_lines(review: SessionReview, skip: tuple[str, ...]) -> list[str]:
    """Positive statements for the checks that ran and found nothing."""
    reps = review.reps
    seen = {f for r in reps for f in r.flags}
    out: list[str] = []
    if "lumbar_first" not in skip and "lumbar_first" not in seen:
        out.append("No rep started from the lower back: the hips led.")
    flex = _setting(review, "lumbar_flexion_deg")
    ext = abs(_setting(review, "lumbar_extension_deg"))
    no_round = "lumbar_flexion" not in skip and "lumbar_flexion" not in seen
    no_arch = "lumbar_extension" not in skip and "lumbar_extension" not in seen
    if no_round and no_arch:
        out.append(f"No rounding beyond {flex:g}° or arching beyond {ext:g}°.")
    elif no_round:
        out.append(f"No rounding beyond {flex:g}°.")
    elif no_arch:
        out.append(f"No arching beyond {ext:g}°.")
    if "knee_dominant" not in skip and "knee_dominant" not in seen:
        out.append("No rep bent the knees more than a hinge needs.")
    if review.settings.get("exercise") == "row" and "torso_drift" not in seen:
        drift = _setting(review, "torso_drift_deg")
        out.append(f"The torso angle held within {drift:g}° through the hold.")
    return out


def _signed(x: float) -> str:
    r = round(x)
    return "0" if r == 0 else f"{r:+d}"


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
