"""``hipfirst history``: sessions in date order, flagged share, bad files reported, plot."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from analysis.review import review_session
from analysis.session_csv import read_session_csv, write_session_csv
from hipfirst.cli import main
from hipfirst.commands.history import cache_file
from hipfirst.recording import write_sidecar
from tests.test_pipeline import make_session


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """CSV bytes of a back-first set, a clean set and a sacrum+thigh set."""
    d = tmp_path_factory.mktemp("sets")
    out = {}
    for name, kw in (
        ("back_first", {"seed": 1400, "lead_s": 0.4}),
        ("clean", {"seed": 1401, "lead_s": 0.0}),
        ("two", {"seed": 1402, "sensors": ("sacrum", "thigh")}),
    ):
        s, _ = make_session(reps=3, **kw)  # type: ignore[arg-type]
        write_session_csv(s, d / f"{name}.csv")
        out[name] = (d / f"{name}.csv").read_bytes()
    return out


def _rows(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln[:2] in ("19", "20")]


def test_sessions_in_date_order_from_sidecar_file_name_and_mtime(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "recordings"
    d.mkdir()
    # directory order != date order: the sidecar, the file name or the mtime decides
    (d / "a_latest.csv").write_bytes(sessions["clean"])
    write_sidecar(d / "a_latest.csv", {"exercise": "deadlift", "started_at": "2025-03-20T10:00"})
    (d / "20250305-180000_rdl.csv").write_bytes(sessions["two"])
    (d / "z_oldest.csv").write_bytes(sessions["back_first"])
    old = datetime(2025, 3, 1, 8, 15).timestamp()
    os.utime(d / "z_oldest.csv", (old, old))
    (d / "notes.txt").write_text("not a session")
    assert main(["history", str(d)]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [r.split()[-1] for r in rows] == [
        "z_oldest.csv",
        "20250305-180000_rdl.csv",
        "a_latest.csv",
    ]
    assert [r[:16] for r in rows] == ["2025-03-01 08:15", "2025-03-05 18:00", "2025-03-20 10:00"]
    first, two, latest = (r.split() for r in rows)
    # date time exercise reps flagged back-first lead "ms" file
    assert first[2:6] == ["rdl", "3", "100%", "3"]  # no sidecar, no stamp: default rdl
    assert two[2:7] == ["rdl", "3", "0%", "n/a", "-"]  # no lumbar sensor: cannot tell
    assert latest[2:6] == ["deadlift", "3", "0%", "0"]
    # the median lead printed is the median of the review's leads
    leads = [r.lumbar_lead_ms for r in review_session(read_session_csv(d / "z_oldest.csv")).reps]
    assert first[6] == f"{np.median(leads):+.0f}" and float(first[6]) > 200
    assert "3 session file(s): 3 with reps." in out


def test_bad_files_are_listed_not_fatal(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "20250302-090000_rdl.csv").write_bytes(sessions["clean"])
    (tmp_path / "20250301-090000_rdl.csv").write_text("time_s,sensor\n0.0,lumbar\n")
    (tmp_path / "20250303-090000_rdl.csv.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    # a CSV of the user's own beside the recordings: time_s but no sensor column
    (tmp_path / "20250304-090000_rdl.csv").write_text("time_s,hip_deg,knee_deg\n0.0,1.0,2.0\n")
    write_sidecar(tmp_path / "20250304-090000_rdl.csv", {"started_at": "9999-12-31T23:59:00-05:00"})
    assert main(["history", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert len(rows) == 4
    # a start time out of range in local time falls back to the file name's stamp
    assert rows[3].startswith("2025-03-04 09:00  ?")
    assert "missing required column 'sensor'" in rows[3]
    assert rows[0].startswith("2025-03-01 09:00  ?")
    assert "20250301-090000_rdl.csv:1" in rows[0] and "missing required column" in rows[0]
    assert rows[1].split()[2:6] == ["rdl", "3", "0%", "0"]
    assert "20250303-090000_rdl.csv.gz" in rows[2] and "gzip" in rows[2]
    assert "4 session file(s): 1 with reps, 3 could not be read." in out
    assert all(ln.count("\n") == 0 for ln in rows)  # one line per bad file


def test_cache_gives_the_same_answer_and_follows_changes(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "rec"
    d.mkdir()
    p = d / "20250310-070000_rdl.csv"
    p.write_bytes(sessions["clean"])
    assert main(["history", str(d)]) == 0
    first = _rows(capsys.readouterr().out)
    cache = json.loads(cache_file().read_text(encoding="utf-8"))
    assert len(cache) == 1 and next(iter(cache.values()))["reps"] == 3
    assert not any(x.name.startswith(".") for x in d.iterdir())  # nothing written into DIR
    assert main(["history", str(d)]) == 0
    assert _rows(capsys.readouterr().out) == first
    # the same name, new content: reviewed again, not served stale from the cache
    p.write_bytes(sessions["back_first"])
    os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 10**9))
    assert main(["history", str(d)]) == 0
    again = _rows(capsys.readouterr().out)
    assert again[0].split()[4:6] == ["100%", "3"] and first[0].split()[4:6] == ["0%", "0"]
    assert len(json.loads(cache_file().read_text(encoding="utf-8"))) == 1  # old entry dropped
    assert main(["history", str(d), "--no-cache"]) == 0
    assert _rows(capsys.readouterr().out) == again


def test_trend_plot(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from matplotlib.image import imread

    for day, name in (("01", "back_first"), ("02", "two"), ("03", "clean")):
        (tmp_path / f"202503{day}-090000_rdl.csv").write_bytes(sessions[name])
    out = tmp_path / "trend.png"
    assert main(["history", str(tmp_path), "--plot", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    pixels = np.asarray(imread(io.BytesIO(out.read_bytes()), format="png"))
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    rgb = pixels[..., :3]
    assert 0.02 < np.any(rgb < 0.9, axis=-1).mean() < 0.5
    red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)
    assert red.sum() > 100  # the flagged-share line


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == f"hipfirst: error: {tmp_path / 'nope'}: not a directory\n"
    assert main(["history", str(tmp_path), "--plot", str(tmp_path / "no" / "t.png")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["history", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"no session CSVs in {tmp_path}\n"


def test_the_plot_never_replaces_a_session_or_its_sidecar_and_is_checked_first(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``history DIR --plot DIR/session.csv`` replaced the recording with a PNG; a plot
    path that is a directory failed only after every session had been reviewed."""
    (tmp_path / "20250301-090000_rdl.csv").write_bytes(sessions["clean"])
    write_sidecar(tmp_path / "20250301-090000_rdl.csv", {"exercise": "rdl"})
    for name in ("20250301-090000_rdl.csv", "20250301-090000_rdl.json"):
        before = (tmp_path / name).read_bytes()
        assert main(["history", str(tmp_path), "--plot", str(tmp_path / name)]) == 2
        captured = capsys.readouterr()
        assert captured.err == (
            f"hipfirst: error: {tmp_path / name}: is a recording's file in {tmp_path}; "
            "choose another name for the plot\n"
        )
        assert captured.out == ""  # refused before any review
        assert (tmp_path / name).read_bytes() == before
    assert main(["history", str(tmp_path), "--plot", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "is a directory" in captured.err and captured.out == ""


def test_no_plot_is_written_when_no_session_has_reps(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only sessions without reps (or none at all): an empty figure was written and
    "wrote OUT" printed; now no figure, a line saying why, exit 1."""
    d = tmp_path / "recordings"
    d.mkdir()
    out = tmp_path / "trend.png"
    assert main(["history", str(d), "--plot", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"hipfirst: {out} not written: no session CSVs in {d}, nothing to plot\n"
    lines = sessions["clean"].decode().splitlines()
    (d / "20250301-090000_rdl.csv").write_text("\n".join(lines[:1200]) + "\n")  # standing only
    assert main(["history", str(d), "--plot", str(out)]) == 1
    captured = capsys.readouterr()
    assert _rows(captured.out)[0].split()[3] == "0"  # listed, with 0 reps
    assert "wrote" not in captured.out
    why = f"no session in {d} has reps"
    assert captured.err == f"hipfirst: {out} not written: {why}, nothing to plot\n"
    assert not out.exists()


def test_a_recording_reachable_twice_is_listed_once(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symbolic link (or a hard link) beside a recording listed the session twice; now
    once, under the recording's own name. A link to a file outside the folder is its only
    way in there: listed."""
    d = tmp_path / "recordings"
    d.mkdir()
    real = d / "20250301-090000_rdl.csv"
    real.write_bytes(sessions["clean"])
    (d / "0_latest.csv").symlink_to(real.name)  # sorts before the recording
    os.link(real, d / "20250301-090000_rdl_hardlink.csv")
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(sessions["back_first"])
    (d / "20250302-090000_rdl.csv").symlink_to(outside)
    (d / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    assert main(["history", str(d)]) == 0
    out = capsys.readouterr().out
    assert [r.split()[-1] for r in _rows(out)] == [
        "20250301-090000_rdl.csv",
        "20250302-090000_rdl.csv",
    ]
    assert "2 session file(s): 2 with reps." in out


def test_hipfirsts_own_side_files_are_not_sessions(
    sessions: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--audio file:DIR/cues.wav`` left ``DIR/cues.timing.csv``, which history listed as
    a session it could not read; so were a review's exports and orientation's output saved
    beside the recordings. They are left out; any other unreadable CSV is still one line."""
    import gzip

    from hipfirst.alerts.cues import render_cues
    from hipfirst.alerts.sinks import WavFileSink

    d = tmp_path / "recordings"
    d.mkdir()
    rec = d / "20250301-090000_rdl.csv"
    rec.write_bytes(sessions["clean"])
    sink = WavFileSink(d / "cues.wav")
    sink.play("lumbar_first", render_cues()["lumbar_first"])
    sink.close()
    assert (d / "cues.timing.csv").read_text().startswith("flag,")
    exports = ["--csv", str(d / "reps.csv"), "--angles-csv", str(d / "angles.csv")]
    assert main(["review", str(rec), *exports]) == 0
    assert main(["orientation", str(rec), "-o", str(d / "up.csv")]) == 0
    (d / "up.csv.gz").write_bytes(gzip.compress((d / "up.csv").read_bytes()))
    two = d / "two_angles.csv"  # sacrum + thigh: other tilt columns
    (d / "two.csv").write_bytes(sessions["two"])
    assert main(["review", str(d / "two.csv"), "--angles-csv", str(two)]) == 0
    (d / "two.csv").unlink()
    # not hipfirst's: reported, one line each
    (d / "near_miss.timing.csv").write_text("flag,decided_s\nlumbar_first,1.0\n")
    (d / "empty.csv").write_bytes(b"")
    capsys.readouterr()
    assert main(["history", str(d)]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert [r.split()[-1] for r in rows if " rdl " in r] == [rec.name]
    bad = [r for r in rows if " rdl " not in r]
    assert len(bad) == 2
    assert any("near_miss.timing.csv" in r for r in bad) and any("empty.csv" in r for r in bad)
    assert "3 session file(s): 1 with reps, 2 could not be read." in out
    for name in ("cues.timing", "reps", "angles", "two_angles", "up"):
        assert f"{name}.csv" not in out
