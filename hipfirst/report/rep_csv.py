"""CSV exports of a review: the per-rep table and the angle time series (DOMAIN.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from analysis.results import SessionReview
from hipfirst.outfile import open_output
from hipfirst.report.words import rep_unchecked, unchecked, verdict

REP_FIELDS: tuple[str, ...] = (
    "start_s",
    "bottom_s",
    "end_s",
    "hip_rom_deg",
    "lumbar_peak_deg",
    "lumbar_min_deg",
    "hip_onset_s",
    "lumbar_onset_s",
    "lumbar_lead_ms",
)
REP_HEADER: tuple[str, ...] = (
    "rep",
    *REP_FIELDS,
    "tempo_down_s",
    "tempo_up_s",
    "flags",
    "verdict",
)
ANGLE_COLUMNS: tuple[str, ...] = ("time_s", "hip_deg", "lumbar_deg")
TILT_SUFFIX = "_tilt_deg"
"""The angle series' columns: ``ANGLE_COLUMNS``, then one ``<sensor>_tilt_deg`` per segment."""


def _cell(x: float | None) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.4f}".rstrip("0").rstrip(".")


def write_rep_csv(review: SessionReview, path: Path) -> None:
    """One row per rep; empty cells for what the sensors could not measure; ``flags``
    space-separated DOMAIN.md names."""
    skip = unchecked(review)
    with open_output(path) as fh:
        w = csv.writer(fh)
        w.writerow(REP_HEADER)
        for r in review.reps:
            w.writerow(
                [
                    r.index,
                    *(_cell(getattr(r, f)) for f in REP_FIELDS),
                    _cell(r.bottom_s - r.start_s),
                    _cell(r.end_s - r.bottom_s),
                    " ".join(r.flags),
                    verdict(r, not_checked=rep_unchecked(r, skip)),
                ]
            )


def write_angles_csv(review: SessionReview, path: Path) -> None:
    """``time_s,hip_deg,lumbar_deg`` plus ``<sensor>_tilt_deg`` per segment (DOMAIN.md);
    a column the sensors cannot give, or a sample they did not cover, is empty."""
    a = review.angles
    n = len(a.time_s)
    hip, lumbar = ANGLE_COLUMNS[1:]
    cols: list[tuple[str, np.ndarray | None]] = [(hip, a.hip_deg), (lumbar, a.lumbar_deg)]
    cols += [(f"{name}{TILT_SUFFIX}", v) for name, v in a.tilts_deg.items()]
    text = [np.char.mod("%.3f", np.asarray(a.time_s, dtype=float))]
    for _, v in cols:
        if v is None:
            text.append(np.full(n, "", dtype="<U1"))
            continue
        x = np.asarray(v, dtype=float)
        cells = np.char.mod("%.3f", np.where(np.isfinite(x), x, 0.0))
        cells = np.where(cells == "-0.000", "0.000", cells)
        text.append(np.where(np.isfinite(x), cells, ""))
    with open_output(path) as fh:
        fh.write(",".join([ANGLE_COLUMNS[0], *(c for c, _ in cols)]) + "\n")
        step = 50_000  # bounded memory for hour-long sessions
        for i in range(0, n, step):
            block = [col[i : i + step] for col in text]
            fh.write("".join(",".join(row) + "\n" for row in zip(*block, strict=True)))
