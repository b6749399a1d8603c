"""The per-rep table for the terminal (rich)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from analysis.hold import review_holds
from analysis.results import SessionReview
from hipfirst.report.words import rep_unchecked, unchecked, verdict

NOT_MEASURED = "–"


def fmt(x: float | None, nd: int = 1) -> str:
    """A number for people: ``–`` when not measured, never ``-0.0``."""
    if x is None or x != x:
        return NOT_MEASURED
    text = f"{x:.{nd}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def rep_table(review: SessionReview) -> Table:
    """rep, start, hip range, lumbar peak flexion/extension, lead, tempo, verdict."""
    skip = unchecked(review)
    t = Table(
        title=Text(review.file),  # a file name is not rich markup ("q[/i]z.csv" raised)
        title_justify="left",
        caption=(
            f"{NOT_MEASURED} = not measured with these sensors (lead: or the back moved under "
            "3°); lead > 0 = back moved first"
        ),
        caption_justify="left",
    )
    for name in ("rep", "start s", "hip ROM°", "lumbar flex°", "lumbar ext°", "lead ms"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("down/up s", justify="right", no_wrap=True)
    # the hinge drill is done with a pause at the bottom: show how long and how still
    holds = review_holds(review) if review.settings.get("exercise") == "hinge" else None
    if holds is not None:
        t.add_column("hold s", justify="right", no_wrap=True)
        t.add_column("stability", justify="right", no_wrap=True)
    t.add_column("verdict", justify="left")
    for i, r in enumerate(review.reps):
        extra = []
        if holds is not None:
            h = holds[i]
            extra = [fmt(h.hold_s), NOT_MEASURED if h.stability is None else str(h.stability)]
        t.add_row(
            str(r.index),
            f"{r.start_s:.2f}",
            fmt(r.hip_rom_deg),
            fmt(r.lumbar_peak_deg),
            fmt(r.lumbar_min_deg),
            fmt(r.lumbar_lead_ms, 0),
            f"{r.bottom_s - r.start_s:.1f}/{r.end_s - r.bottom_s:.1f}",
            *extra,
            verdict(r) if r.flags else ("no fault seen" if rep_unchecked(r, skip) else "good"),
            style="red" if r.flags else None,
        )
    return t
