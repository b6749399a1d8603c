"""CSVs hipfirst writes that are not sessions, known by their header row: the audio cue
timing log (``--audio file:X.wav`` writes ``X.timing.csv``), the review's per-rep table
(``--csv``) and angle series (``--angles-csv``), and ``hipfirst orientation``'s output.
``hipfirst history`` leaves them out of its listing (JSON sidecars and truth files are not
CSVs).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from hipfirst.commands.orientation import HEADER as UP_HEADER
from hipfirst.report.rep_csv import ANGLE_COLUMNS, REP_HEADER, TILT_SUFFIX

TIMING_HEADER: tuple[str, ...] = ("flag", "decided_s", "playing_s", "latency_ms", "wav_frame")
"""The cue timing log's columns (:class:`hipfirst.alerts.sinks.WavFileSink`)."""

_MAX_HEADER = 1 << 16


def _header(path: Path) -> tuple[str, ...] | None:
    """The first line's column names, or None when it cannot be read as text."""
    try:
        with path.open("rb") as raw:
            if raw.read(2) == b"\x1f\x8b":
                raw.seek(0)
                with gzip.open(raw) as fh:
                    line = fh.readline(_MAX_HEADER)
            else:
                raw.seek(0)
                line = raw.readline(_MAX_HEADER)
        text = line.decode("utf-8").removeprefix("\ufeff").rstrip("\r\n")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    return tuple(n.strip() for n in text.split(","))


def side_file_kind(path: Path) -> str | None:
    """What hipfirst wrote ``path`` as (``"cue timing log"``, ``"rep table"``, ``"angle
    series"``, ``"orientation output"``), or None: a session, or something else."""
    names = _header(path)
    if names is None:
        return None
    if names == TIMING_HEADER:
        return "cue timing log"
    if names == REP_HEADER:
        return "rep table"
    if names == tuple(UP_HEADER.split(",")):
        return "orientation output"
    n = len(ANGLE_COLUMNS)
    if names[:n] == ANGLE_COLUMNS and all(c.endswith(TILT_SUFFIX) for c in names[n:]):
        return "angle series"
    return None
