"""``hipfirst review``: table, summary, JSON, CSVs and the HTML report, on real files.

Sessions come from ``make_session`` (exact hinge kinematics, random sensor mounting):
``lead_s=0.4`` makes every rep back-first, ``lead_s=0`` none. Expected counts come from
that construction, not from the review's own output.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.config import PipelineConfig
from analysis.results import FLAGS, RepResult
from analysis.review import review_session
from analysis.session_csv import read_session_csv, write_session_csv
from hipfirst.cli import main
from hipfirst.commands.review import resolve_exercise
from hipfirst.recording import write_sidecar
from tests.test_pipeline import make_session

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, **kw: object) -> Path:
    s, _ = make_session(**kw)  # type: ignore[arg-type]
    write_session_csv(s, path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("rv")
    return {
        "back_first": _write(d / "back_first.csv", seed=1200, lead_s=0.4, reps=3),
        "clean": _write(d / "clean.csv", seed=1201, lead_s=0.0, reps=4),
        "no_thigh": _write(d / "no_thigh.csv", seed=1202, reps=3, sensors=("lumbar", "sacrum")),
    }


def _review(path: Path, exercise: str = "rdl"):  # type: ignore[no-untyped-def]
    return review_session(read_session_csv(path), config=PipelineConfig.for_exercise(exercise))


def _table_rows(out: str) -> list[list[str]]:
    """Body rows of the rich table: cells split on the vertical bar."""
    return [
        [c.strip() for c in ln.strip().strip("│").split("│")]
        for ln in out.splitlines()
        if ln.startswith("│")
    ]


def test_table_says_which_reps_started_from_the_lower_back(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", str(files["back_first"])]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    assert all(r[-1] == "started from the lower back" for r in rows)
    assert all(float(r[5]) > 200 for r in rows)  # lead ms: the back led by 400 ms
    assert all(float(r[2]) == pytest.approx(60, abs=3) for r in rows)  # hip ROM
    assert "3 of 3 reps started from the lower back." in out
    assert "No rounding beyond 20° or arching beyond 10°." in out  # lumbar 10° < 20°
    assert "Sensors: lumbar (100 Hz" in out and "Not worn" not in out
    assert "coaching rule" in out and "Exercise: rdl (default)" in out


def test_no_output_may_overwrite_the_recording_or_its_sidecar(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "victim.csv"
    src.write_bytes(files["clean"].read_bytes())
    before = src.read_bytes()
    for opt, out in (("--csv", src), ("--angles-csv", src), ("--report", src.with_suffix(".json"))):
        assert main(["review", str(src), opt, str(out), "--quiet"]) == 2, opt
        err = capsys.readouterr().err
        assert "is the recording under review" in err and "Traceback" not in err
    assert src.read_bytes() == before and not src.with_suffix(".json").exists()


def test_clean_set_is_called_good(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", str(files["clean"])]) == 0
    out = capsys.readouterr().out
    assert [r[-1] for r in _table_rows(out)] == ["good"] * 4
    assert "4 reps; 4 clean." in out
    assert "No rep started from the lower back: the hips led." in out
    assert "lower back." not in out and "coaching rule" not in out


def test_two_sensor_session_says_what_it_could_not_measure(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", str(files["no_thigh"])]) == 0
    out = capsys.readouterr().out
    rows = _table_rows(out)
    assert len(rows) == 3
    for r in rows:
        assert r[2] == "–" and r[5] == "–"  # hip ROM and lead: no thigh sensor
        assert float(r[3]) == pytest.approx(10, abs=1.5)  # lumbar still measured
        assert r[-1] == "no fault seen"  # not "good": half the checks could not run
    assert "Not worn: thigh." in out
    assert "hip angle, hip onset, hip range and knee-dominant cannot be measured" in out
    assert "clean" not in out and "No rep started from the lower back: the hips led." not in out


def test_json_is_exactly_the_domain_review_json(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for name, path in files.items():
        assert main(["review", str(path), "--json"]) == 0, name
        out, err = capsys.readouterr()
        got = json.loads(out)  # the whole of stdout is the JSON
        assert got == json.loads(json.dumps(_review(path).to_json())), name
        assert got["file"] == str(path) and err == ""
        assert set(got) == {"file", "sensors", "reps"}
        for sensor, info in got["sensors"].items():
            assert sensor in ("lumbar", "sacrum", "thigh")
            assert set(info) == {"rate_hz", "samples"} and info["rate_hz"] == 100.0
            assert isinstance(info["samples"], int) and info["samples"] > 1000
        assert [r["index"] for r in got["reps"]] == list(range(1, len(got["reps"]) + 1))
        for rep in got["reps"]:
            assert set(rep) == {
                "index", "start_s", "bottom_s", "end_s", "hip_rom_deg", "lumbar_peak_deg",
                "lumbar_min_deg", "hip_onset_s", "lumbar_onset_s", "lumbar_lead_ms", "flags",
            }  # fmt: skip
            assert rep["start_s"] < rep["bottom_s"] < rep["end_s"]
            assert set(rep["flags"]) <= set(FLAGS)
            for key in ("hip_rom_deg", "hip_onset_s", "lumbar_lead_ms"):
                assert (rep[key] is None) == (name == "no_thigh"), (name, key)
            assert isinstance(rep["lumbar_peak_deg"], float)


def test_rep_csv_matches_the_review(files: dict[str, Path], tmp_path: Path) -> None:
    for name in ("back_first", "no_thigh"):
        out = tmp_path / f"{name}.reps.csv"
        assert main(["review", str(files[name]), "--quiet", "--csv", str(out)]) == 0
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        rv = _review(files[name])
        assert len(rows) == len(rv.reps) == 3
        for row, r in zip(rows, rv.reps, strict=True):
            assert int(row["rep"]) == r.index
            for key in ("start_s", "end_s", "hip_rom_deg", "lumbar_peak_deg", "lumbar_lead_ms"):
                want = getattr(r, key)
                if want is None:
                    assert row[key] == "", key
                else:
                    assert float(row[key]) == pytest.approx(want, abs=1e-3), key
            assert float(row["tempo_down_s"]) == pytest.approx(r.bottom_s - r.start_s, abs=1e-3)
            assert row["flags"] == " ".join(r.flags)
        if name == "back_first":
            assert {row["flags"] for row in rows} == {"lumbar_first"}
            assert {row["verdict"] for row in rows} == {"started from the lower back"}
        else:  # clean reps, but two checks could not run: never plain "good"
            assert {row["verdict"] for row in rows} == {
                "no fault seen (not measured: hips-first order, knee bend)"
            }


def test_angles_csv_is_the_angle_series(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "angles.csv"
    assert main(["review", str(files["no_thigh"]), "--quiet", "--angles-csv", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "time_s,hip_deg,lumbar_deg,lumbar_tilt_deg,sacrum_tilt_deg"
    a = _review(files["no_thigh"]).angles
    assert len(lines) == len(a.time_s) + 1
    table = [ln.split(",") for ln in lines[1:]]
    assert all(row[1] == "" for row in table)  # no hip angle without a thigh sensor
    assert a.lumbar_deg is not None
    lumbar = np.array([np.nan if row[2] == "" else float(row[2]) for row in table])
    finite = np.isfinite(a.lumbar_deg)
    assert np.array_equal(np.isfinite(lumbar), finite) and finite.sum() > 1000
    assert np.max(np.abs(lumbar[finite] - a.lumbar_deg[finite])) <= 0.0005 + 1e-9
    assert np.nanmax(lumbar) == pytest.approx(10, abs=1.5)


def _pngs(html_text: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r"base64,([A-Za-z0-9+/=]+)", html_text)]


def _decode_png(data: bytes) -> np.ndarray:
    """Pixels (height, width, channels) in 0..1, decoded by matplotlib's PNG reader."""
    from matplotlib.image import imread

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(imread(io.BytesIO(data), format="png"))


def test_html_report_is_self_contained_with_readable_figures(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    assert main(["review", str(files["back_first"]), "--quiet", "--report", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert "Thresholds used" in text and "lumbar_first_lead_ms" in text
    assert "<td>100 ms</td>" in text  # the threshold of the config used
    assert text.count("started from the lower back</td>") == 3
    pngs = _pngs(text)
    assert len(pngs) == 3  # traces, lumbopelvic loops, per-rep bars
    for data in pngs:
        pixels = _decode_png(data)
        height, width = pixels.shape[:2]
        assert width > 600 and height > 250
        rgb = pixels[..., :3]
        inked = np.any(rgb < 0.9, axis=-1).mean()  # lines, text, shading: not a blank canvas
        assert 0.03 < inked < 0.6
        red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)
        assert red.sum() > 200  # every figure marks the flagged reps in red


def test_html_report_for_two_sensors_has_no_loop_plot(
    files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "r2.html"
    assert main(["review", str(files["no_thigh"]), "--quiet", "--report", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert len(_pngs(text)) == 2  # no hip angle: no hips-vs-back loop plot
    assert "Hips or back first?" not in text and "Not worn: thigh." in text


def test_exercise_comes_from_option_sidecar_file_name_then_default(tmp_path: Path) -> None:
    p = tmp_path / "20250301-090000_swing.csv"
    assert resolve_exercise(p, {}, None) == ("swing", "file name")
    assert resolve_exercise(p, {"exercise": "Good Morning"}, None) == ("good_morning", "sidecar")
    assert resolve_exercise(p, {"exercise": "sumo"}, None) == ("swing", "file name")
    assert resolve_exercise(p, {"exercise": "row"}, "deadlift") == ("deadlift", "--exercise")
    assert resolve_exercise(tmp_path / "x.csv", {}, None) == ("rdl", "default")


def test_sidecar_exercise_changes_the_thresholds(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "set.csv"
    p.write_bytes(files["clean"].read_bytes())
    write_sidecar(p, {"exercise": "deadlift"})
    report = tmp_path / "set.html"
    assert main(["review", str(p), "--report", str(report)]) == 0
    assert "Exercise: deadlift (from the sidecar)" in capsys.readouterr().out
    assert "<td>65 °</td>" in report.read_text(encoding="utf-8")  # deadlift knee threshold


def test_torn_tail_is_read_when_the_sidecar_says_the_recording_was_cut(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "cut.csv"
    p.write_bytes(files["clean"].read_bytes() + b"23.001,lumbar,0.1,-0.9")
    assert main(["review", str(p), "--quiet"]) == 2  # no sidecar: strict
    capsys.readouterr()
    write_sidecar(p, {"exercise": "rdl", "complete": False})
    assert main(["review", str(p), "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)["reps"]) == 4 and "cut.csv" in err


def test_missing_file_and_bad_output_paths(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err == f"hipfirst: error: {tmp_path / 'nope.csv'}: no such file\n"
    assert main(["review", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    # the output path is checked before the review runs: a bad CSV is not even read
    bad = REPO / "tests" / "corpus" / "not_a_number.csv"
    assert main(["review", str(bad), "--csv", str(tmp_path / "no" / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "directory" in err and "does not exist" in err
    assert main(["review", str(files["clean"]), "--report", str(tmp_path)]) == 2
    assert "is a directory, expected a file name" in capsys.readouterr().err


def test_two_outputs_may_not_share_a_file(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--csv out.csv --angles-csv out.csv``: the angles silently replaced the rep table
    both had been told to write (exit 0, "Wrote rep table: out.csv")."""
    out = tmp_path / "out.csv"
    argv = ["review", str(files["clean"]), "--csv", str(out), "--angles-csv"]
    assert main([*argv, str(tmp_path / "." / "out.csv")]) == 2
    assert capsys.readouterr().err == (
        f"hipfirst: error: {tmp_path / '.' / 'out.csv'}: named by both --angles-csv and --csv; "
        "give each output its own file\n"
    )
    assert not out.exists()


def test_progress_bar_only_on_a_terminal(files: dict[str, Path]) -> None:
    import pty

    cmd = [sys.executable, "-m", "hipfirst.cli", "review", str(files["clean"])]
    env = {**os.environ, "COLUMNS": "120"}
    master, slave = pty.openpty()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, timeout=60)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert done.returncode == 0
    assert b"reviewing clean.csv" in err  # the bar drew on the terminal
    assert b"reviewing" not in done.stdout and b"4 reps; 4 clean." in done.stdout


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", str(files["clean"])]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "4 reps; 4 clean." in out


CORPUS = REPO / "tests" / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_corpus_one_line_exit_2(name: str, capsys: pytest.CaptureFixture[str]) -> None:
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


def test_bad_input_in_a_real_process_has_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hipfirst.cli", "review", str(CORPUS / "not_a_number.csv")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_json_never_writes_negative_zero() -> None:
    # a lumbar that never extended reads -0.00001°: the JSON says 0.0, not -0.0
    rep = RepResult(index=1, start_s=1.0, bottom_s=2.0, end_s=3.0, hip_rom_deg=60.0,
                    lumbar_peak_deg=5.0, lumbar_min_deg=-0.00001, hip_onset_s=1.0,
                    lumbar_onset_s=1.0, lumbar_lead_ms=-0.01)  # fmt: skip
    out = json.dumps(rep.to_json())
    assert "-0.0" not in out and '"lumbar_min_deg": 0.0' in out


def test_file_names_are_printed_as_they_are_not_as_markup(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``recordings/q[/i]z.csv`` (a folder ``q[``): the table's title went through rich
    markup, "[/i]" a closing tag: MarkupError traceback, exit 1; "[bold]y.csv" lost its
    "[bold]"."""
    (tmp_path / "q[").mkdir()
    odd = tmp_path / "q[" / "i]z.csv"
    odd.write_bytes(files["clean"].read_bytes())
    out = tmp_path / "q[" / "i]out.csv"
    assert main(["review", str(odd), "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(odd) in printed and f"Wrote rep table: {out}" in printed
    bold = tmp_path / "[bold]y.csv"
    bold.write_bytes(files["clean"].read_bytes())
    assert main(["review", str(bold)]) == 0
    assert str(bold) in capsys.readouterr().out
