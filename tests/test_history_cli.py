"""``hipfirst history``: sessions in date order, flagged share, bad files reported, plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.session_csv import write_session_csv
from hipfirst.cli import main
from hipfirst.recording import write_sidecar
from tests.test_pipeline import make_session


def test_lists_sessions_by_date_with_shares_and_reports_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # written out of order; the sidecar's start time decides the order
    for name, day, lead in (("b.csv", "2025-03-02", 0.4), ("a.csv", "2025-03-09", 0.0)):
        s, _ = make_session(seed=1400 + len(name) + int(lead * 10), lead_s=lead, reps=3)
        write_session_csv(s, tmp_path / name)
        write_sidecar(tmp_path / name, {"exercise": "hinge", "started_at": f"{day}T10:00:00"})
    (tmp_path / "20250301-090000_rdl.csv").write_text("time_s,sensor\n")
    assert main(["history", str(tmp_path), "--plot", str(tmp_path / "trend.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [ln for ln in lines if ln.startswith("2025-")]
    assert [r.split()[-1] for r in rows[1:]] == ["b.csv", "a.csv"]
    assert "20250301-090000_rdl.csv:" in rows[0] and "missing required column" in rows[0]
    b, a = rows[1].split(), rows[2].split()
    assert b[2:6] == ["hinge", "3", "100%", "3"]  # all three back-first
    assert a[2:6] == ["hinge", "3", "0%", "0"]
    assert (tmp_path / "trend.png").read_bytes()[:4] == b"\x89PNG"
    # second run comes from the cache and says the same
    assert main(["history", str(tmp_path)]) == 0
    again = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("2025-")]
    assert again == rows
    assert main(["history", str(tmp_path / "nope")]) == 2
