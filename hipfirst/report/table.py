"""The per-rep table: rich for the terminal, CSV for spreadsheets."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.table import Table

from analysis.results import SessionReview
from hipfirst.report.words import verdict

COLUMNS: tuple[tuple[str, str], ...] = (
    ("rep", "index"),
    ("start_s", "start_s"),
    ("bottom_s", "bottom_s"),
    ("end_s", "end_s"),
    ("hip_rom_deg", "hip_rom_deg"),
    ("lumbar_peak_deg", "lumbar_peak_deg"),
    ("lumbar_min_deg", "lumbar_min_deg"),
    ("lumbar_lead_ms", "lumbar_lead_ms"),
)


def _fmt(x: float | None, nd: int = 1) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def rep_table(review: SessionReview) -> Table:
    t = Table(title=f"{review.file}", title_justify="left")
    for name in ("rep", "start s", "down/up s", "hip°", "lumbar+°", "lumbar-°", "lead ms"):
        t.add_column(name, justify="right", no_wrap=True)
    t.add_column("verdict", justify="left")
    for r in review.reps:
        style = "red" if r.flags else None
        t.add_row(
            str(r.index),
            f"{r.start_s:.2f}",
            f"{r.bottom_s - r.start_s:.1f}/{r.end_s - r.bottom_s:.1f}",
            _fmt(r.hip_rom_deg),
            _fmt(r.lumbar_peak_deg),
            _fmt(r.lumbar_min_deg),
            _fmt(r.lumbar_lead_ms, 0),
            verdict(r, short=True),
            style=style,
        )
    return t


def write_rep_csv(review: SessionReview, path: Path) -> None:
    """One row per rep; empty cells for what the sensors could not measure."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c for c, _ in COLUMNS] + ["tempo_down_s", "tempo_up_s", "flags", "verdict"])
        for r in review.reps:
            vals = [getattr(r, a) for _, a in COLUMNS]
            w.writerow(
                ["" if v is None else (round(v, 4) if isinstance(v, float) else v) for v in vals]
                + [
                    round(r.bottom_s - r.start_s, 3),
                    round(r.end_s - r.bottom_s, 3),
                    " ".join(r.flags),
                    verdict(r),
                ]
            )


def write_angles_csv(review: SessionReview, path: Path) -> None:
    """``time_s,hip_deg,lumbar_deg`` plus each segment tilt (DOMAIN.md); empty = null."""
    a = review.angles
    cols: list[tuple[str, object]] = [("hip_deg", a.hip_deg), ("lumbar_deg", a.lumbar_deg)]
    cols += [(f"{n}_tilt_deg", v) for n, v in a.tilts_deg.items()]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(["time_s", *(c for c, _ in cols)]) + "\n")
        for i, t in enumerate(a.time_s):
            cells = [f"{t:.3f}"]
            for _, v in cols:
                x = None if v is None else float(v[i])  # type: ignore[index]
                cells.append("" if x is None or x != x else f"{x:.3f}")
            fh.write(",".join(cells) + "\n")
