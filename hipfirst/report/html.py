"""A self-contained HTML report (PNG figures embedded as base64)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from analysis.config import PipelineConfig
from analysis.results import SessionReview
from hipfirst.report import plots
from hipfirst.report.words import NOTE, summary_lines, verdict

THRESHOLDS: tuple[tuple[str, str], ...] = (
    ("lumbar_first_lead_ms", "back-first: onset lead beyond (ms)"),
    ("lumbar_first_min_deg", "back-first: early lumbar movement at least (°)"),
    ("lumbar_first_share", "back-first: or early share of the lumbar excursion"),
    ("lumbar_flexion_deg", "rounding: lumbar flexion beyond (°)"),
    ("lumbar_extension_deg", "arching: lumbar extension beyond (°)"),
    ("knee_thigh_deg", "knee-dominant: thigh tilt beyond (°)"),
    ("knee_ratio", "knee-dominant: or thigh tilt / hip ROM beyond"),
    ("torso_drift_deg", "torso drift across a hold beyond (°)"),
)


def _img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _cell(x: float | None, nd: int = 1) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def render(review: SessionReview, config: PipelineConfig) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>hipfirst review: {html.escape(review.file)}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}td.v{text-align:left}tr.flag{background:#fde8e8}"
        "img{max-width:100%;display:block;margin:1em 0}.note{color:#666;font-size:90%}</style>",
        "</head><body>",
        f"<h1>hipfirst review</h1><p>{html.escape(review.file)} — exercise "
        f"<b>{html.escape(config.exercise)}</b></p>",
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in summary_lines(review)) + "</ul>",
        _img(plots.png(plots.traces(review)), "hip and lumbar angles"),
    ]
    loop = plots.loops(review)
    if loop is not None:
        parts.append(_img(plots.png(loop), "lumbopelvic loop per rep"))
    bar = plots.bars(
        review, lead_ms=config.lumbar_first_lead_ms, flexion_deg=config.lumbar_flexion_deg
    )
    if bar is not None:
        parts.append(_img(plots.png(bar), "lumbar lead and peak per rep"))
    parts.append(
        "<h2>Reps</h2><table><tr><th>rep</th><th>start s</th><th>hip ROM °</th>"
        "<th>lumbar peak °</th><th>lumbar min °</th><th>lead ms</th>"
        "<th>verdict</th></tr>"
    )
    for r in review.reps:
        cls = " class='flag'" if r.flags else ""
        parts.append(
            f"<tr{cls}><td>{r.index}</td><td>{r.start_s:.2f}</td><td>{_cell(r.hip_rom_deg)}</td>"
            f"<td>{_cell(r.lumbar_peak_deg)}</td><td>{_cell(r.lumbar_min_deg)}</td>"
            f"<td>{_cell(r.lumbar_lead_ms, 0)}</td>"
            f"<td class='v'>{html.escape(verdict(r))}</td></tr>"
        )
    parts.append("</table><h2>Thresholds used</h2><table>")
    settings = config.settings()
    for key, label in THRESHOLDS:
        parts.append(f"<tr><td class='v'>{html.escape(label)}</td><td>{settings[key]}</td></tr>")
    parts.append(f"</table><p class='note'>{html.escape(NOTE)}</p></body></html>")
    return "\n".join(parts)


def write_report(review: SessionReview, config: PipelineConfig, path: Path) -> None:
    path.write_text(render(review, config), encoding="utf-8")
