"""A self-contained HTML report: one file, PNG figures embedded as base64, no links out."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from analysis.config import PipelineConfig
from analysis.results import SessionReview
from hipfirst.outfile import open_output
from hipfirst.report import plots
from hipfirst.report.table import fmt
from hipfirst.report.words import NOTE, rep_unchecked, summary_lines, unchecked, verdict

THRESHOLDS: tuple[tuple[str, str, str], ...] = (
    ("lumbar_first_lead_ms", "back first: the back starts moving this long before the hips", "ms"),
    ("lumbar_first_min_deg", "back first: ...and has moved at least this much early on", "°"),
    ("lumbar_first_share", "back first: or has done this share of its movement early on", ""),
    (
        "lumbar_first_early_hip_frac",
        "'early on' = the hips have done this share of their range",
        "",
    ),
    ("lumbar_flexion_deg", "rounding: lumbar flexion beyond the rep's start posture", "°"),
    ("lumbar_extension_deg", "arching: lumbar extension beyond the rep's start posture", "°"),
    ("knee_thigh_deg", "knee-dominant: thigh tilt at the bottom beyond", "°"),
    ("knee_ratio", "knee-dominant: or thigh tilt beyond this × hip range", ""),
    ("torso_drift_deg", "torso drift across a held hinge beyond", "°"),
    ("rep_enter_deg", "a rep counts once the hips fold past", "°"),
    ("rep_exit_deg", "...and ends when they come back under", "°"),
    ("neutral_s", "standing still needed at the start (neutral)", "s"),
)
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.4}table{border-collapse:collapse;margin:.6em 0 1.4em}"
    "td,th{border:1px solid #ccc;padding:3px 9px;text-align:right}th{background:#f3f3f3}"
    "td.t{text-align:left}tr.flag td{background:#fde8e8}img{max-width:100%;display:block;"
    "margin:.6em 0 1.6em}.note{color:#666;font-size:90%}h2{margin-top:1.6em}"
    "ul.summary li{margin:.15em 0}"
)


def _img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _e(x: object) -> str:
    return html.escape(str(x))


def render(review: SessionReview, config: PipelineConfig) -> str:
    skip = unchecked(review)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>hipfirst review: {_e(Path(review.file).name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Hip hinge review</h1><p><b>{_e(review.file)}</b> — exercise "
        f"<b>{_e(config.exercise)}</b></p>",
        "<ul class='summary'>" + "".join(f"<li>{_e(x)}</li>" for x in summary_lines(review)),
        "</ul>",
        "<h2>Angles through the set</h2>",
        _img(plots.png(plots.traces(review, complete=not skip)), "hip and lumbar angles"),
    ]
    loop = plots.loops(review, early_frac=config.lumbar_first_early_hip_frac)
    if loop is not None:
        parts += ["<h2>Hips or back first?</h2>", _img(plots.png(loop), "lumbar vs hip per rep")]
    bar = plots.bars(
        review,
        lead_ms=config.lumbar_first_lead_ms,
        early_deg=config.lumbar_first_min_deg,
        flexion_deg=config.lumbar_flexion_deg,
        extension_deg=config.lumbar_extension_deg,
    )
    if bar is not None:
        parts += ["<h2>Lower back per rep</h2>", _img(plots.png(bar), "lumbar lead and range")]
    parts += [_rep_rows(review, skip), "<h2>Thresholds used</h2>", _thresholds(config)]
    parts.append(
        f"<p class='note'>{_e(NOTE)} Thresholds are settings of the analysis "
        "(<code>analysis/config.py</code>), not clinical limits.</p></body></html>"
    )
    return "\n".join(parts)


def _rep_rows(review: SessionReview, skip: tuple[str, ...]) -> str:
    rows = [
        "<h2>Reps</h2><table><tr><th>rep</th><th>start s</th><th>hip ROM °</th>"
        "<th>lumbar flex °</th><th>lumbar ext °</th><th>back lead ms</th>"
        "<th>down / up s</th><th>verdict</th></tr>"
    ]
    for r in review.reps:
        cls = " class='flag'" if r.flags else ""
        rows.append(
            f"<tr{cls}><td>{r.index}</td><td>{r.start_s:.2f}</td><td>{fmt(r.hip_rom_deg)}</td>"
            f"<td>{fmt(r.lumbar_peak_deg)}</td><td>{fmt(r.lumbar_min_deg)}</td>"
            f"<td>{fmt(r.lumbar_lead_ms, 0)}</td>"
            f"<td>{r.bottom_s - r.start_s:.1f} / {r.end_s - r.bottom_s:.1f}</td>"
            f"<td class='t'>{_e(verdict(r, not_checked=rep_unchecked(r, skip)))}</td></tr>"
        )
    rows.append(
        "</table><p class='note'>– = not measured with these sensors "
        "(lead: or the back moved less than 3°).</p>"
    )
    return "".join(rows)


def _thresholds(config: PipelineConfig) -> str:
    settings = config.settings()
    rows = ["<table><tr><th>setting</th><th>value</th><th>meaning</th></tr>"]
    for key, label, unit in THRESHOLDS:
        value = settings[key]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        rows.append(
            f"<tr><td class='t'><code>{_e(key)}</code></td><td>{_e(shown)} {_e(unit)}</td>"
            f"<td class='t'>{_e(label)}</td></tr>"
        )
    return "".join(rows) + "</table>"


def write_report(review: SessionReview, config: PipelineConfig, path: Path) -> None:
    page = render(review, config)
    with open_output(path) as fh:
        fh.write(page)
