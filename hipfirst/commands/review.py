"""``hipfirst review FILE``: per-rep table, set summary, JSON, CSVs and an HTML report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from analysis.config import EXERCISES, PipelineConfig
from analysis.results import SessionReview
from analysis.review import config_for_session, review_session
from analysis.session_csv import read_session_csv
from hipfirst.errors import UserError
from hipfirst.report.table import rep_table, write_angles_csv, write_rep_csv
from hipfirst.report.words import NOTE, summary_lines


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("review", help="review a recorded session (table, report, JSON)")
    p.add_argument("file", type=Path, help="session CSV (DOMAIN.md format, .csv or .csv.gz)")
    p.add_argument("--exercise", choices=EXERCISES, help="default: from the sidecar, else hinge")
    p.add_argument("--json", action="store_true", help="print the review JSON only")
    p.add_argument("--angles-csv", type=Path, metavar="OUT", help="write the angle series")
    p.add_argument("--csv", type=Path, metavar="OUT", help="write the per-rep table")
    p.add_argument("--report", type=Path, metavar="OUT.html", help="write an HTML report")
    p.add_argument("--quiet", action="store_true", help="no table, no progress bar")
    p.set_defaults(func=run)


def load_and_review(
    path: Path, exercise: str | None, progress: Callable[[float], None] | None = None
) -> tuple[SessionReview, PipelineConfig]:
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a session CSV")
    session = read_session_csv(path)
    cfg = PipelineConfig.for_exercise(exercise) if exercise else config_for_session(session)
    return review_session(session, config=cfg, progress=progress), cfg


def run(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    show_progress = err.is_terminal and not (args.json or args.quiet)
    if show_progress:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"reviewing {args.file.name}", total=1.0)
            review, cfg = load_and_review(
                args.file, args.exercise, lambda f: bar.update(task, completed=f)
            )
    else:
        review, cfg = load_and_review(args.file, args.exercise)
    for out in (args.angles_csv, args.csv, args.report):
        if out is not None and not out.parent.exists():
            raise UserError(f"{out}: directory {out.parent} does not exist")
    if args.angles_csv:
        write_angles_csv(review, args.angles_csv)
    if args.csv:
        write_rep_csv(review, args.csv)
    if args.report:
        from hipfirst.report.html import write_report  # matplotlib only when asked

        write_report(review, cfg, args.report)
    if args.json:
        json.dump(review.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if args.quiet:
        return 0
    out = Console()
    if not out.is_terminal:  # a pipe or a file: no terminal width to fit, keep rows whole
        out = Console(width=120)
    out.print(rep_table(review))
    out.print(f"exercise: {cfg.exercise}")
    for line in summary_lines(review):
        out.print(line)
    if any("lumbar_first" in r.flags for r in review.reps):
        out.print(f"[dim]{NOTE}[/dim]")
    for path, what in (
        (args.csv, "rep table"),
        (args.angles_csv, "angles"),
        (args.report, "report"),
    ):
        if path:
            out.print(f"wrote {what}: {path}")
    return 0
