"""``hipfirst history [DIR]``: one line per recorded session and a trend plot."""

from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from analysis.errors import InputError
from analysis.review import config_for_session, review_session
from analysis.session_csv import read_session_csv
from hipfirst.errors import UserError
from hipfirst.recording import DEFAULT_DIR, parse_recording_name, read_sidecar

CACHE = ".hipfirst-history.json"


@dataclass
class Row:
    file: str
    date: str
    exercise: str
    reps: int
    flagged: int
    lumbar_first: int
    median_lead_ms: float | None
    error: str | None = None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("history", help="one line per session and a trend plot")
    p.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    p.add_argument("--plot", type=Path, metavar="OUT.png", help="write the trend plot")
    p.set_defaults(func=run)


def session_files(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.name.endswith((".csv", ".csv.gz")))


def when(p: Path, side: dict | None) -> datetime:
    if side and isinstance(side.get("started_at"), str):
        try:
            return datetime.fromisoformat(side["started_at"]).replace(tzinfo=None)
        except ValueError:
            pass
    parsed = parse_recording_name(p.name)
    if parsed:
        return parsed[0]
    return datetime.fromtimestamp(p.stat().st_mtime)


def summarise(p: Path) -> Row:
    side = read_sidecar(p)
    date = when(p, side).isoformat(sep=" ", timespec="minutes")
    try:
        session = read_session_csv(p)
        cfg = config_for_session(session)
        rv = review_session(session, config=cfg)
    except InputError as exc:
        return Row(p.name, date, "?", 0, 0, 0, None, error=str(exc))
    leads = [r.lumbar_lead_ms for r in rv.reps if r.lumbar_lead_ms is not None]
    return Row(
        p.name,
        date,
        cfg.exercise,
        len(rv.reps),
        sum(1 for r in rv.reps if r.flags),
        sum(1 for r in rv.reps if "lumbar_first" in r.flags),
        float(np.median(leads)) if leads else None,
    )


def load_rows(d: Path) -> list[Row]:
    """Reviews are cached per file (name, size, mtime) in ``DIR/.hipfirst-history.json``."""
    cache_path = d / CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    rows, fresh = [], {}
    for p in session_files(d):
        st = p.stat()
        key = f"{p.name}|{st.st_size}|{st.st_mtime_ns}"
        row = Row(**cache[key]) if key in cache else summarise(p)
        fresh[key] = asdict(row)
        rows.append(row)
    with contextlib.suppress(OSError):  # a read-only directory: no cache, same answer
        cache_path.write_text(json.dumps(fresh), encoding="utf-8")
    return sorted(rows, key=lambda r: (r.date, r.file))


def run(args: argparse.Namespace) -> int:
    d: Path = args.dir
    if not d.is_dir():
        raise UserError(f"{d}: not a directory")
    rows = load_rows(d)
    if not rows:
        print(f"no session CSVs in {d}")
        return 0
    print(
        f"{'date':16s}  {'exercise':12s} {'reps':>4s} {'flagged':>8s} {'back-first':>10s} "
        f"{'median lead':>11s}  file"
    )
    for r in rows:
        if r.error:
            print(
                f"{r.date:16s}  {'-':12s} {'':>4s} {'':>8s} {'':>10s} {'':>11s}  "
                f"{r.file}: {r.error}"
            )
            continue
        share = f"{100 * r.flagged / r.reps:.0f}%" if r.reps else "-"
        lead = "-" if r.median_lead_ms is None else f"{r.median_lead_ms:+.0f} ms"
        print(
            f"{r.date:16s}  {r.exercise:12s} {r.reps:4d} {share:>8s} {r.lumbar_first:10d} "
            f"{lead:>11s}  {r.file}"
        )
    if args.plot:
        plot_trend([r for r in rows if not r.error and r.reps], args.plot)
        print(f"wrote {args.plot}")
    return 0


def plot_trend(rows: list[Row], out: Path) -> None:
    from hipfirst.report.plots import plt, png

    fig, ax1 = plt.subplots(figsize=(9, 3.5))
    x = np.arange(len(rows))
    ax1.plot(
        x, [100 * r.flagged / r.reps for r in rows], "o-", color="#d62728", label="flagged reps (%)"
    )
    ax1.set_ylabel("flagged reps (%)")
    ax1.set_ylim(0, 100)
    ax2 = ax1.twinx()
    ax2.plot(
        x,
        [np.nan if r.median_lead_ms is None else r.median_lead_ms for r in rows],
        "s--",
        color="#1f77b4",
        label="median lumbar lead (ms)",
    )
    ax2.axhline(0, color="grey", lw=0.5)
    ax2.set_ylabel("median lumbar lead (ms)")
    ax1.set_xticks(x, [f"{r.date[:10]}\n{r.exercise}" for r in rows], fontsize=7)
    ax1.set_title("Is the hinge improving? (lower is better on both)", loc="left", fontsize=10)
    fig.legend(loc="upper right", fontsize=8)
    out.write_bytes(png(fig))
