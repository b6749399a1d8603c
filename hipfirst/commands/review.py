"""``hipfirst review FILE``: per-rep table, set summary, JSON, CSVs and an HTML report."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from analysis.config import EXERCISES, PipelineConfig
from analysis.recalibration import sidecar_recalibrations
from analysis.results import SessionReview
from analysis.review import review_session
from analysis.session_csv import read_session_csv, sidecar_path
from hipfirst.commands import COMMANDS
from hipfirst.errors import UserError
from hipfirst.recording import parse_recording_name, read_sidecar
from hipfirst.recording.practice import practice_windows
from hipfirst.report.rep_csv import write_angles_csv, write_rep_csv
from hipfirst.report.table import rep_table
from hipfirst.report.words import NOTE, summary_lines

DEFAULT_EXERCISE = "rdl"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("review", help=COMMANDS["review"])
    p.add_argument("file", type=Path, help="session CSV (DOMAIN.md format, .csv or .csv.gz)")
    p.add_argument(
        "--exercise",
        choices=EXERCISES,
        help=f"default: the sidecar's, else the file name's, else {DEFAULT_EXERCISE}",
    )
    p.add_argument("--json", action="store_true", help="print the review JSON only")
    p.add_argument("--angles-csv", type=Path, metavar="OUT", help="write the angle series")
    p.add_argument("--csv", type=Path, metavar="OUT", help="write the per-rep table")
    p.add_argument("--report", type=Path, metavar="OUT.html", help="write an HTML report")
    p.add_argument("--quiet", action="store_true", help="no table, no progress bar")
    p.add_argument(
        "--causal",
        action="store_true",
        help="orientation as live (forwards only) instead of smoothed over the whole recording",
    )
    p.set_defaults(func=run)


def resolve_exercise(path: Path, meta: dict[str, object], explicit: str | None) -> tuple[str, str]:
    """(exercise, where it came from): the option, the sidecar, the file name, the default."""
    if explicit:
        return PipelineConfig.for_exercise(explicit).exercise, "--exercise"
    parsed = parse_recording_name(path.name)
    for value, source in (
        (meta.get("exercise"), "sidecar"),
        (parsed[1] if parsed else None, "file name"),
    ):
        if isinstance(value, str):
            try:
                return PipelineConfig.for_exercise(value).exercise, source
            except ValueError:
                continue
    return DEFAULT_EXERCISE, "default"


def load_and_review(
    path: Path,
    exercise: str | None = None,
    progress: Callable[[float], None] | None = None,
    *,
    causal: bool = False,
) -> tuple[SessionReview, PipelineConfig, str]:
    """Read and review one session: (review, config used, where the exercise came from).
    The sidecar's re-calibrations (``calibration`` entries of kind ``recalibrate``, made
    live by ``LiveSession.recalibrate()``) restart the analysis where the session did."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a session CSV")
    side = read_sidecar(path) or {}
    # a recording cut by a crash ends in a torn line; its sidecar says it was not closed
    session = read_session_csv(path, allow_torn_tail=side.get("complete") is False)
    name, source = resolve_exercise(path, session.meta, exercise)
    cfg = PipelineConfig.for_exercise(name)
    recals = sidecar_recalibrations(
        session, side, sidecar_file=str(sidecar_path(path)), torn=side.get("complete") is False
    )
    review = review_session(
        session,
        config=cfg,
        progress=progress,
        smooth=not causal,
        restarts_s=[t for t, _ in recals],
        relearn=[names for _, names in recals],
    )
    return without_practice(review, practice_windows(side.get("markers"))), cfg, source


def without_practice(review: SessionReview, windows: list[tuple[float, float]]) -> SessionReview:
    """The review without the practice hinges (reps inside a practice phase), renumbered:
    ``--practice`` hinges were counted as the set's reps, flags and all."""
    if not windows:
        return review
    keep = [r for r in review.reps if not any(a <= r.start_s and r.end_s <= b for a, b in windows)]
    dropped = len(review.reps) - len(keep)
    if not dropped:
        return review
    reps = [dataclasses.replace(r, index=i) for i, r in enumerate(keep, start=1)]
    hinge_s = "hinge" if dropped == 1 else "hinges"
    note = f"{dropped} practice {hinge_s} before the set not counted as reps"
    return dataclasses.replace(review, reps=reps, missing=[note, *review.missing])


def _check_outputs(src: Path, outs: dict[str, Path | None]) -> None:
    """Before a long review, not after it: every output's directory must exist, no output
    may overwrite the recording or its sidecar, and no two outputs may share a file
    (``outs``: option -> path)."""
    keep = {src.resolve(), sidecar_path(src).resolve()}
    taken: dict[Path, str] = {}
    for option, out in outs.items():
        if out is None:
            continue
        if out.resolve() in taken:
            raise UserError(
                f"{out}: named by both {taken[out.resolve()]} and {option}; "
                "give each output its own file"
            )
        taken[out.resolve()] = option
        if out.is_dir():
            raise UserError(f"{out}: is a directory, expected a file name")
        if not out.parent.is_dir():
            raise UserError(f"{out}: directory {out.parent} does not exist")
        if out.resolve() in keep:
            raise UserError(f"{out}: is the recording under review; choose another output name")


def run(args: argparse.Namespace) -> int:
    _check_outputs(
        args.file, {"--angles-csv": args.angles_csv, "--csv": args.csv, "--report": args.report}
    )
    err = Console(stderr=True)
    if err.is_terminal and not (args.json or args.quiet):
        columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task(f"reviewing {escape(args.file.name)}", total=1.0)
            review, cfg, source = load_and_review(
                args.file,
                args.exercise,
                lambda f: bar.update(task, completed=f),
                causal=args.causal,
            )
    else:
        review, cfg, source = load_and_review(args.file, args.exercise, causal=args.causal)
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
    out = Console() if sys.stdout.isatty() else Console(width=120)  # a pipe: keep rows whole
    out.print(rep_table(review))
    where = {"sidecar": "from the sidecar", "file name": "from the file name"}.get(source, source)
    out.print(f"Exercise: {cfg.exercise} ({where})", highlight=False)
    for line in summary_lines(review):
        out.print(line, highlight=False, markup=False)
    if any("lumbar_first" in r.flags for r in review.reps):
        out.print(f"[dim]{NOTE}[/dim]")
    for path, what in (
        (args.csv, "rep table"),
        (args.angles_csv, "angles"),
        (args.report, "report"),
    ):
        if path:
            out.print(f"Wrote {what}: {path}", highlight=False, markup=False)
    return 0
