"""``hipfirst review``: table, summary, JSON, CSVs and the HTML report, on real files."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pytest

from analysis.review import review_session
from analysis.session_csv import read_session_csv, write_session_csv
from hipfirst.cli import main
from tests.test_pipeline import make_session


@pytest.fixture(scope="module")
def back_first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s, _ = make_session(seed=1200, lead_s=0.4, reps=3)
    p = tmp_path_factory.mktemp("rv") / "back_first.csv"
    write_session_csv(s, p)
    return p


def test_table_and_plain_words_summary(back_first: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["review", str(back_first), "--exercise", "hinge"]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 reps started from the lower back." in out
    assert out.count("back first") == 3
    assert "coaching rule" in out


def test_json_is_the_domain_review_json(back_first: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["review", str(back_first), "--exercise", "hinge", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert set(got) == {"file", "sensors", "reps"}
    assert set(got["reps"][0]) == {
        "index", "start_s", "bottom_s", "end_s", "hip_rom_deg", "lumbar_peak_deg",
        "lumbar_min_deg", "hip_onset_s", "lumbar_onset_s", "lumbar_lead_ms", "flags",
    }  # fmt: skip
    rv = review_session(read_session_csv(back_first))
    assert got == json.loads(json.dumps(rv.to_json()))


def test_rep_csv_and_angles_csv(back_first: Path, tmp_path: Path) -> None:
    reps, angles = tmp_path / "reps.csv", tmp_path / "angles.csv"
    args = ["review", str(back_first), "--quiet", "--csv", str(reps), "--angles-csv", str(angles)]
    assert main(args) == 0
    rows = list(csv.DictReader(io.StringIO(reps.read_text())))
    rv = review_session(read_session_csv(back_first))
    assert len(rows) == len(rv.reps) == 3
    for row, r in zip(rows, rv.reps, strict=True):
        assert float(row["hip_rom_deg"]) == pytest.approx(r.hip_rom_deg, abs=1e-3)
        assert row["flags"] == " ".join(r.flags)
    head, _first = angles.read_text().splitlines()[:2]
    assert head.startswith("time_s,hip_deg,lumbar_deg")
    assert len(angles.read_text().splitlines()) == len(rv.angles.time_s) + 1


def test_html_report_embeds_readable_figures(back_first: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["review", str(back_first), "--quiet", "--report", str(out)]) == 0
    text = out.read_text()
    assert 'src="http' not in text and "Thresholds used" in text
    pngs = [base64.b64decode(b) for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", text)]
    assert len(pngs) == 3
    for data in pngs:
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        assert width > 500


def test_missing_file_and_bad_output_dir(
    back_first: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["review", str(tmp_path / "nope.csv")]) == 2
    assert (
        capsys.readouterr().err.strip() == f"hipfirst: error: {tmp_path / 'nope.csv'}: no such file"
    )
    assert main(["review", str(back_first), "--csv", str(tmp_path / "no" / "x.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_corpus_one_line_exit_2(name: str, capsys: pytest.CaptureFixture) -> None:
    exp = EXPECTED[name]
    assert main(["review", str(CORPUS / name)]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and out == ""
    says = exp["says"] if isinstance(exp["says"], list) else [exp["says"]]
    assert name in lines[0] and any(x in lines[0] for x in says)
    if exp["line"] is not None and name not in ("no_still_start.csv", "too_short.csv"):
        assert f"{name}:{exp['line']}" in lines[0]
    if exp["field"]:
        assert exp["field"] in lines[0]


@pytest.mark.parametrize("name", ["not_a_number.csv", "no_still_start.csv"])
def test_bad_input_in_a_real_process_has_no_traceback(name: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "hipfirst.cli", "review", str(CORPUS / name)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
