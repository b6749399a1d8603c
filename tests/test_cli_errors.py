"""The CLI turns user-fixable errors into one line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

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
