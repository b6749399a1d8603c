"""Recording file names: ``recordings/YYYYMMDD-HHMMSS_<exercise>.csv`` (sortable by time)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from analysis.session_csv import sidecar_path
from hipfirst.errors import UserError

DEFAULT_DIR = Path("recordings")
_NAME = re.compile(r"^(\d{8}-\d{6})_([a-z0-9_\-]+?)(?:-(\d+))?\.csv(?:\.gz)?$")


def exercise_slug(exercise: str | None) -> str:
    """``"Romanian DL"`` -> ``"romanian_dl"``; empty or None -> ``"session"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", (exercise or "").strip().lower()).strip("_")
    return slug or "session"


def recording_path(
    exercise: str | None,
    *,
    directory: str | Path = DEFAULT_DIR,
    now: datetime | None = None,
    suffix: str = ".csv",
) -> Path:
    """A new, not yet existing path; ``-2``, ``-3``... when two sessions share a second."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}_{exercise_slug(exercise)}"
    d = Path(directory)
    path = d / f"{base}{suffix}"
    k = 2
    while path.exists():
        path = d / f"{base}-{k}{suffix}"
        k += 1
    return path


def parse_recording_name(name: str) -> tuple[datetime, str] | None:
    """``(start time, exercise)`` from a recording's file name, or None if not one of ours."""
    m = _NAME.match(Path(name).name)
    if not m:
        return None
    try:
        when = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
    except ValueError:
        return None
    return when, m.group(2)


def check_folder(folder: Path) -> None:
    """``folder`` is, or can be made as, a directory: a UserError naming it if a file
    stands where it or one of its parents should be."""
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == folder else f"cannot be made: {p} is a file"
                raise UserError(f"{folder}: {what}, expected a folder for recordings")
            return


def check_new_recording(path: Path) -> None:
    """What :class:`~hipfirst.recording.SessionRecorder` would refuse, said before the
    sensors start (a live recording is plain CSV, never written over another's files)."""
    if path.suffix == ".gz":
        raise UserError(f"{path}: a live recording is plain CSV (crash-safe): use .csv")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a recording file name")
    if path.exists():
        raise UserError(f"{path}: already exists; a new recording never replaces a file")
    if sidecar_path(path).exists():  # X.csv.gz's, say: never write over another's
        raise UserError(f"{sidecar_path(path)}: already exists")
    check_folder(path.parent)
