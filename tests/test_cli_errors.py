"""The CLI turns user-fixable errors into one line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.errors import InputError


def test_input_error_names_file_line_and_field() -> None:
    err = InputError("rec.csv", "time went backwards", line=812, field="time_s")
    assert str(err) == "rec.csv:812: time_s: time went backwards"
    assert str(InputError("rec.csv", "empty file")) == "rec.csv: empty file"


def test_version_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hipfirst.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.startswith("hipfirst ")


def test_rep_counts_that_would_exhaust_memory_or_run_for_days_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``simulate --reps 100000`` grew past 24 GB and was killed; ``demo`` runs in real time."""
    from hipfirst.cli import main

    assert main(["simulate", "--reps", "1001", "-o", str(tmp_path / "x.csv")]) == 2
    assert main(["demo", "--reps", "201"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "at most 1000 reps" in err[0] and "between 1 and 200" in err[1]
    assert not (tmp_path / "x.csv").exists()


def test_orientation_reads_a_recording_cut_by_a_crash_as_review_does(tmp_path: Path) -> None:
    """A recording whose sidecar says it was never closed ends in a torn line: review read
    it, ``orientation`` refused it ("csv:12366: acc_y_g: missing value")."""
    import json

    from hipfirst.cli import main

    src = tmp_path / "s.csv"
    assert main(["simulate", "--reps", "1", "-o", str(src)]) == 0
    raw = src.read_bytes()
    src.write_bytes(raw + raw.split(b"\n")[1][:17])  # a row torn after 17 bytes
    side = json.loads(src.with_suffix(".json").read_text())
    src.with_suffix(".json").write_text(json.dumps({**side, "complete": False}))
    out = tmp_path / "up.csv"
    assert main(["orientation", str(src), "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == raw.count(b"\n")  # header + every whole row
