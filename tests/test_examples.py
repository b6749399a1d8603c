"""The bundled example sessions review as their simulator truth says (recordings/examples)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.review import review_session
from analysis.session_csv import read_session_csv
from analysis.sim import read_truth, truth_path

EXAMPLES = Path(__file__).resolve().parents[1] / "recordings" / "examples"


def review(name: str):  # type: ignore[no-untyped-def]
    f = EXAMPLES / name
    return review_session(read_session_csv(f)), read_truth(truth_path(f))[0]


def flagged(reps, flag: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [r.index for r in reps if flag in (r.flags if hasattr(r, "flags") else r.faults)]


def test_rdl_back_first_reps_are_the_true_ones() -> None:
    rv, truth = review("rdl_lumbar_first.csv")
    assert len(rv.reps) == len(truth) == 8
    assert flagged(rv.reps, "lumbar_first") == flagged(truth, "lumbar_first") == [1, 3, 7]


def test_deadlift_rounding_and_knee() -> None:
    rv, truth = review("deadlift_knee_rounding.csv")
    for flag in ("lumbar_flexion", "knee_dominant"):
        assert flagged(rv.reps, flag) == flagged(truth, flag) != []
    assert not flagged(rv.reps, "lumbar_first")


def test_two_sensors_say_what_is_missing() -> None:
    rv, truth = review("hinge_two_sensors.csv")
    assert len(rv.reps) == len(truth) == 5
    assert all(r.lumbar_peak_deg is None and r.lumbar_lead_ms is None for r in rv.reps)
    assert all(r.hip_rom_deg is not None and r.hip_rom_deg > 40 for r in rv.reps)
    assert rv.angles.lumbar_deg is None
    assert any("lumbar" in m for m in rv.missing)


def test_swing_reps_and_an_arched_lockout() -> None:
    rv, truth = review("swing_arching.csv")
    assert len(rv.reps) == len(truth) == 10
    assert 9 in flagged(rv.reps, "lumbar_extension")


def test_row_torso_drift_is_found() -> None:
    # the config comes from the sidecar (exercise row); the truth labels the one held rep
    rv, truth = review("row_torso_drift.csv")
    assert len(rv.reps) == len(truth) == 1
    assert flagged(rv.reps, "torso_drift") == flagged(truth, "torso_drift") == [1]


def test_simulate_command_writes_session_sidecar_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    cmd = [sys.executable, "-m", "hipfirst.cli", "simulate", "--exercise", "rdl", "--reps", "3"]
    done = subprocess.run(
        [*cmd, "--faults", "lumbar_first:1", "--seed", "3", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    side = json.loads((tmp_path / "s.json").read_text())
    assert side["simulated"] is True and side["exercise"] == "rdl"
    reps, _ = read_truth(tmp_path / "s.truth.json")
    assert len(reps) == 3 and sum("lumbar_first" in r.faults for r in reps) == 1
    assert read_session_csv(out).sensors["lumbar"].samples > 1000
    bad = subprocess.run(
        [*cmd, "--faults", "slouch:1", "-o", str(tmp_path / "t.csv")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "unknown fault 'slouch'" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.csv")))
def test_every_example_is_marked_simulated(name: str) -> None:
    side = json.loads((EXAMPLES / name).with_suffix(".json").read_text())
    assert side["simulated"] is True


def test_simulate_never_writes_over_another_recordings_sidecar(tmp_path: Path) -> None:
    """``-o X.csv.gz`` next to an existing ``X.csv``: both share ``X.json`` and
    ``X.truth.json``, and the new run replaced the old recording's sidecar (its exercise,
    alerts, gaps...), without a word."""
    from hipfirst.cli import main

    first = tmp_path / "x.csv"
    assert main(["simulate", "--exercise", "rdl", "--reps", "2", "-o", str(first)]) == 0
    side = (tmp_path / "x.json").read_bytes()
    truth = (tmp_path / "x.truth.json").read_bytes()
    gz = tmp_path / "x.csv.gz"
    assert main(["simulate", "--exercise", "swing", "--reps", "2", "-o", str(gz)]) == 2
    assert not gz.exists()
    assert (tmp_path / "x.json").read_bytes() == side
    assert (tmp_path / "x.truth.json").read_bytes() == truth
