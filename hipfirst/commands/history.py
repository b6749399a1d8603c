"""``hipfirst history [DIR]``: one line per recorded session and a trend plot."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import stat
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from analysis.errors import InputError
from analysis.session_csv import sidecar_path
from hipfirst.commands import COMMANDS
from hipfirst.commands.review import load_and_review
from hipfirst.errors import UserError
from hipfirst.outfile import open_output
from hipfirst.recording import DEFAULT_DIR, parse_recording_name, read_sidecar
from hipfirst.side_files import side_file_kind

CACHE_VERSION = 2
"""Bump when ``Row`` or the review changes what a cached row means."""


@dataclass
class Row:
    file: str
    date: str
    """``YYYY-MM-DD HH:MM`` local time: the sidecar's start, else the file name's, else mtime."""
    exercise: str
    reps: int
    flagged: int
    lumbar_first: int | None
    """None: the sensors present cannot tell (no hip or no lumbar angle)."""
    median_lead_ms: float | None
    error: str | None = None

    @property
    def flagged_share(self) -> float | None:
        return self.flagged / self.reps if self.reps and not self.error else None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("history", help=COMMANDS["history"])
    p.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR, help="default: recordings/")
    p.add_argument("--plot", type=Path, metavar="OUT.png", help="write the trend plot")
    p.add_argument("--no-cache", action="store_true", help="review every file again")
    p.set_defaults(func=run)


def session_files(d: Path) -> list[Path]:
    """The CSVs of ``d``, each file once: a recording reachable under two names (a symbolic
    or hard link beside it) is listed under its own name, not the link's. CSVs hipfirst
    writes beside recordings that are not sessions (a cue timing log, a review's exports,
    see :mod:`hipfirst.side_files`) are left out; any other CSV is in, readable or not."""
    found: dict[tuple[int, int], Path] = {}
    for p in sorted(d.iterdir()):
        if not p.name.endswith((".csv", ".csv.gz")):
            continue
        try:
            st = p.stat()
        except OSError:  # a dangling link, a file gone meanwhile
            continue
        if not stat.S_ISREG(st.st_mode) or side_file_kind(p):
            continue
        kept = found.setdefault((st.st_dev, st.st_ino), p)
        if kept.is_symlink() and not p.is_symlink():
            found[(st.st_dev, st.st_ino)] = p
    return sorted(found.values())


def session_date(p: Path, side: dict[str, object] | None) -> datetime:
    """The sidecar's ``started_at``, else the file name's stamp, else the file's mtime."""
    stamp = side.get("started_at") if side else None
    if isinstance(stamp, str):
        try:
            when = datetime.fromisoformat(stamp)
            return when.astimezone().replace(tzinfo=None) if when.tzinfo else when
        except (ValueError, OverflowError):  # unreadable, or out of range in local time
            pass
    parsed = parse_recording_name(p.name)
    if parsed:
        return parsed[0]
    return datetime.fromtimestamp(p.stat().st_mtime)


def summarise(p: Path) -> Row:
    """One session as a row; a file that cannot be reviewed becomes a row with its error."""
    date = session_date(p, read_sidecar(p)).isoformat(sep=" ", timespec="minutes")
    try:
        rv, cfg, _ = load_and_review(p)
    except (InputError, UserError) as exc:
        return Row(p.name, date, "?", 0, 0, None, None, error=str(exc))
    except OSError as exc:
        return Row(p.name, date, "?", 0, 0, None, None, error=f"{p}: {exc.strerror or exc}")
    except Exception as exc:  # one file the review cannot take must not end the listing
        return Row(p.name, date, "?", 0, 0, None, None, error=f"{p}: {type(exc).__name__}: {exc}")
    measurable = rv.angles.hip_deg is not None and rv.angles.lumbar_deg is not None
    leads = [r.lumbar_lead_ms for r in rv.reps if r.lumbar_lead_ms is not None]
    return Row(
        p.name,
        date,
        cfg.exercise,
        len(rv.reps),
        sum(1 for r in rv.reps if r.flags),
        sum(1 for r in rv.reps if "lumbar_first" in r.flags) if measurable else None,
        round(float(np.median(leads)), 1) if leads else None,
    )


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hipfirst" / "history.json"


def _key(p: Path) -> str:
    """Changes when the CSV or its sidecar (exercise, start time) changes."""
    st = p.stat()
    side = p.with_name(p.name.removesuffix(".gz").removesuffix(".csv") + ".json")
    side_ns = side.stat().st_mtime_ns if side.exists() else 0
    return f"{CACHE_VERSION}|{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{side_ns}"


def load_rows(d: Path, *, use_cache: bool = True, progress: bool = False) -> list[Row]:
    """Every session in ``d``, oldest first. Reviews are cached per file in
    ``$XDG_CACHE_HOME/hipfirst/history.json`` (never written into the data folder)."""
    path = cache_file()
    cache: dict[str, dict[str, object]] = {}
    if use_cache:
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            cache = loaded if isinstance(loaded, dict) else {}
    files = session_files(d)
    rows = []
    for i, p in enumerate(files):
        if progress:
            print(f"\rreviewing {i + 1}/{len(files)} {p.name}\x1b[K", end="", file=sys.stderr)
        key = _key(p)
        hit = cache.get(key)
        try:
            row = Row(**hit) if isinstance(hit, dict) else summarise(p)  # type: ignore[arg-type]
        except TypeError:  # a cached row from another layout
            row = summarise(p)
        cache[key] = asdict(row)
        rows.append(row)
    if progress and files:
        print("\r\x1b[K", end="", file=sys.stderr)
    if use_cache:
        # forget old versions of this folder's files and rows of another cache version
        here = f"{CACHE_VERSION}|{d.resolve()}{os.sep}"
        fresh = {_key(p) for p in files}
        cache = {
            k: v
            for k, v in cache.items()
            if k.startswith(f"{CACHE_VERSION}|") and (k in fresh or not k.startswith(here))
        }
        with contextlib.suppress(OSError):  # no writable cache: same answer, just slower
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache), encoding="utf-8")
            tmp.replace(path)
    return sorted(rows, key=lambda r: (r.date, r.file))


def format_row(r: Row) -> str:
    if r.error:
        return f"{r.date:16s}  {'?':9s} {'':>4s} {'':>7s} {'':>10s} {'':>11s}  {r.error}"
    share = "-" if r.flagged_share is None else f"{100 * r.flagged_share:.0f}%"
    first = "n/a" if r.lumbar_first is None else str(r.lumbar_first)
    lead = "-" if r.median_lead_ms is None else f"{r.median_lead_ms:+.0f} ms"
    return (
        f"{r.date:16s}  {r.exercise:9s} {r.reps:4d} {share:>7s} {first:>10s} {lead:>11s}  {r.file}"
    )


HEADER = (
    f"{'date':16s}  {'exercise':9s} {'reps':>4s} {'flagged':>7s} {'back-first':>10s} "
    f"{'median lead':>11s}  file"
)


def check_plot_path(plot: Path, d: Path) -> None:
    """Before reviewing every session, not after: the plot's directory must exist, and the
    plot may not replace a directory, a session of ``d`` or its sidecar."""
    if plot.is_dir():
        raise UserError(f"{plot}: is a directory, expected a file name")
    if not plot.parent.is_dir():
        raise UserError(f"{plot}: directory {plot.parent} does not exist")
    if plot.exists():
        target = plot.resolve()
        for p in session_files(d):
            if target in (p.resolve(), sidecar_path(p).resolve()):
                raise UserError(
                    f"{plot}: is a recording's file in {d}; choose another name for the plot"
                )


def run(args: argparse.Namespace) -> int:
    d: Path = args.dir
    if not d.is_dir():
        raise UserError(f"{d}: not a directory")
    if args.plot is not None:
        check_plot_path(args.plot, d)
    rows = load_rows(d, use_cache=not args.no_cache, progress=sys.stderr.isatty())
    if not rows:
        print(f"no session CSVs in {d}")
        return _no_plot(args.plot, f"no session CSVs in {d}")
    print(HEADER)
    for r in rows:
        print(format_row(r))
    good = [r for r in rows if not r.error and r.reps]
    bad = sum(1 for r in rows if r.error)
    print(
        f"{len(rows)} session file(s): {len(good)} with reps"
        + (f", {bad} could not be read" if bad else "")
        + ". back-first n/a = the sensors worn cannot tell."
    )
    if args.plot and not good:
        return _no_plot(args.plot, f"no session in {d} has reps")
    if args.plot:
        from hipfirst.report.trend import plot_trend  # matplotlib only when asked

        png = plot_trend(good)
        with open_output(args.plot, binary=True) as fh:
            fh.write(png)
        print(f"wrote {args.plot}")
    return 0


def _no_plot(plot: Path | None, why: str) -> int:
    """``--plot`` asked for a trend there is nothing to draw for: no figure (an empty one
    looked like a broken plot), a line saying so, exit 1; an older plot is left as it was."""
    if plot is None:
        return 0
    print(f"hipfirst: {plot} not written: {why}, nothing to plot", file=sys.stderr)
    return 1
