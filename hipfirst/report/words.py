"""Plain-words verdicts per rep and a set summary."""

from __future__ import annotations

import numpy as np

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
NOTE = (
    "Note: 'started from the lower back' is a coaching rule for the hip hinge, not a "
    "diagnosis; in free bending most healthy people start with the lower back."
)


SHORT: dict[str, str] = {
    "lumbar_first": "back first",
    "lumbar_flexion": "rounded",
    "lumbar_extension": "arched",
    "knee_dominant": "knees",
    "torso_drift": "torso drift",
}


def verdict(rep: RepResult, *, short: bool = False) -> str:
    if not rep.flags:
        return "good" if short else "good: hips first, back steady"
    words = SHORT if short else PHRASES
    return ", ".join(words.get(f, f) for f in rep.flags)


def summary_lines(review: SessionReview) -> list[str]:
    reps = review.reps
    n = len(reps)
    if n == 0:
        return ["No reps found."]
    lines = []
    good = sum(1 for r in reps if not r.flags)
    lines.append(f"{n} rep{'s' if n != 1 else ''}: {good} clean.")
    for flag, words in SUMMARY.items():
        k = sum(1 for r in reps if flag in r.flags)
        if k:
            lines.append(f"{k} of {n} reps {words}.")
    leads = [r.lumbar_lead_ms for r in reps if r.lumbar_lead_ms is not None]
    if leads:
        lines.append(
            f"Median lumbar lead {np.median(leads):+.0f} ms "
            "(positive = the back moved before the hips)."
        )
    lines.extend(review.missing)
    return lines
