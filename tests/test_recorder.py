"""Crash-safe recorder: ordering, drops, sidecar, names, and a real kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from analysis.results import LiveEvent
from analysis.session_csv import read_session_csv
from hipfirst.errors import UserError
from hipfirst.recording import (
    RecordingMeta,
    SessionRecorder,
    parse_recording_name,
    read_sidecar,
    recording_path,
)


class FakeClock:
    """Wall clock under test control (the recorder's hold is in wall time)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def block(rate: float, i0: int, n: int, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.arange(i0, i0 + n)
    t = idx / rate + offset
    acc = np.column_stack([np.sin(idx * 0.1), np.cos(idx * 0.1), 0.5 + 0 * idx]) * 0.9
    gyr = np.column_stack([idx * 0.01, -idx * 0.02, 1.0 + 0 * idx])
    return t, acc, gyr


def file_times(path: Path) -> list[float]:
    return [float(line.split(",")[0]) for line in path.read_text().splitlines()[1:]]


def test_interleaved_late_blocks_are_written_in_time_order(tmp_path: Path) -> None:
    clock = FakeClock()
    p = tmp_path / "r.csv"
    rec = SessionRecorder(p, meta=RecordingMeta(exercise="rdl"), autoflush=False, clock=clock)
    rng = np.random.default_rng(4)
    cursors = {"lumbar": 0, "sacrum": 0, "thigh": 0}
    rates = {"lumbar": 100.0, "sacrum": 100.0, "thigh": 50.0}
    for _ in range(60):
        name = rng.choice(list(cursors))
        n = int(rng.integers(1, 12))
        t, acc, gyr = block(rates[name], cursors[name], n, 0.001 * len(name))
        rec.add(name, t, acc, None if name == "thigh" else gyr)
        cursors[name] += n
        clock.now += 0.01
    rec.close()
    times = file_times(p)
    assert times == sorted(times)
    s = read_session_csv(p)
    for name, n in cursors.items():
        assert s.sensors[name].samples == n
        t, acc, gyr = block(rates[name], 0, n, 0.001 * len(name))
        np.testing.assert_allclose(s.sensors[name].time_s, t, atol=1e-6)
        np.testing.assert_allclose(s.sensors[name].acc_g, acc, atol=1e-5)
    assert s.sensors["thigh"].gyr_dps is None and s.sensors["lumbar"].gyr_dps is not None
    side = read_sidecar(p)
    assert side is not None and side["complete"] is True and side["exercise"] == "rdl"
    assert side["samples"] == cursors and side["simulated"] is False
    assert side["sample_rates_hz"]["thigh"] == pytest.approx(50.0, rel=1e-3)
    assert p.read_text().splitlines()[0].endswith(",device_time_s")


def test_rows_wait_for_the_slowest_sensor_but_at_most_max_hold(tmp_path: Path) -> None:
    clock = FakeClock()
    p = tmp_path / "r.csv"
    meta = RecordingMeta(placements=["lumbar", "sacrum"])
    rec = SessionRecorder(p, meta=meta, autoflush=False, clock=clock, max_hold_s=0.5)
    t, acc, gyr = block(100.0, 0, 50, 0.0)
    rec.add("lumbar", t[:10], acc[:10], gyr[:10])
    rec.add("sacrum", t[:5], acc[:5], gyr[:5])
    rec.flush()
    assert file_times(p) == sorted([*t[:5], *t[:5]])  # lumbar 5..9 wait for sacrum
    rec.add("sacrum", t[5:8], acc[5:8], gyr[5:8])
    rec.flush()
    assert len(file_times(p)) == 16
    clock.now = 0.6  # sacrum stalled: after the hold, lumbar goes out anyway
    rec.flush()
    assert len(file_times(p)) == 18
    rec.close()


def test_sidecar_sample_counts_follow_the_rows_without_other_changes(tmp_path: Path) -> None:
    # rows only, no alert or gap: after a crash the sidecar's counts may lag the CSV by at
    # most SIDECAR_COUNTS_S = 5 s (they once stayed at the last alert's, seconds behind)
    clock = FakeClock()
    p = tmp_path / "r.csv"
    rec = SessionRecorder(p, meta=RecordingMeta(placements=["lumbar"]), autoflush=False,
                          clock=clock, max_hold_s=0.0)  # fmt: skip
    rec.flush()
    assert read_sidecar(p)["samples"] == {}
    for k in range(1, 13):  # 12 s of rows, a flush every second
        t, acc, gyr = block(100.0, 100 * (k - 1), 100, 0.0)
        rec.add("lumbar", t, acc, gyr)
        clock.now = float(k)
        rec.flush()
        on_disk = read_sidecar(p)["samples"].get("lumbar", 0)
        assert 100 * k - on_disk <= 100 * 5.0, k  # SIDECAR_COUNTS_S of rows at 100 Hz
    rec.close()
    assert read_sidecar(p)["samples"] == {"lumbar": 1200}


def test_bad_samples_dropped_and_counted_file_stays_readable(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    rec = SessionRecorder(p, autoflush=False)
    t, acc, gyr = block(100.0, 0, 20, 0.0)
    rec.add("lumbar", t[:10], acc[:10], gyr[:10])
    rec.add("lumbar", t[5:15], acc[5:15], gyr[5:15])  # 5 re-sent samples
    acc2 = acc[15:20].copy()
    acc2[1, 0] = np.nan
    rec.add("lumbar", t[15:20], acc2, gyr[15:20])  # one NaN row
    rec.add("lumbar", t[18:20] + 1.0, acc[18:20], None)  # gyro sensor without gyro
    rec.add("sacrum", t[::-1], acc, gyr)  # backwards: only the first survives
    rec.close()
    s = read_session_csv(p, check_placements=False)
    assert s.sensors["lumbar"].samples == 19
    assert s.sensors["sacrum"].samples == 1
    side = read_sidecar(p)
    assert side is not None
    assert side["dropped_samples"] == {"lumbar": 5 + 1 + 2, "sacrum": 19}


def test_sidecar_alerts_gaps_devices_and_atomic_updates(tmp_path: Path) -> None:
    p = tmp_path / "20250101-120000_rdl.csv"
    meta = RecordingMeta(
        exercise="rdl",
        placements=["lumbar", "sacrum"],
        devices={"lumbar": {"address": "AA:BB", "firmware": "1.2.0"}},
        simulated=True,
    )
    rec = SessionRecorder(p, meta=meta, autoflush=False)
    first = read_sidecar(p)
    assert first is not None and first["complete"] is False and first["simulated"] is True
    rec.add_alert(LiveEvent("alert", 4.2, 1, flag="lumbar_first", message="hips first"))
    rec.add_alert(LiveEvent("rep_end", 5.0, 1))  # not an alert: ignored
    rec.add_gap({"sensor": "sacrum", "start_s": 3.0, "duration_s": 0.1, "samples_lost": 10})
    rec.add_calibration(start_s=0.5, end_s=2.5)
    t, acc, gyr = block(100.0, 0, 10, 0.0)
    rec.add("lumbar", t, acc, gyr)
    rec.flush()
    mid = json.loads((tmp_path / "20250101-120000_rdl.json").read_text())
    assert mid["alerts"] == [
        {"time_s": 4.2, "flag": "lumbar_first", "rep": 1, "message": "hips first"}
    ]
    assert mid["gaps"][0]["samples_lost"] == 10 and mid["calibration"][0]["end_s"] == 2.5
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    rec.close(status={"lumbar": {"address": "AA:BB", "samples_lost": 3, "rssi_dbm": -50}})
    end = read_sidecar(p)
    assert end is not None and end["complete"] is True
    assert end["devices"]["lumbar"] == {"address": "AA:BB", "firmware": "1.2.0", "samples_lost": 3}
    assert end["software"].startswith("hipfirst ")
    with pytest.raises(UserError, match="already exists"):
        SessionRecorder(p)


def test_names_sort_by_time_and_do_not_collide(tmp_path: Path) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7)
    a = recording_path("Romanian DL", directory=tmp_path, now=when)
    assert a == tmp_path / "20250304-050607_romanian_dl.csv"
    a.write_text("x")
    b = recording_path("Romanian DL", directory=tmp_path, now=when)
    assert b.name == "20250304-050607_romanian_dl-2.csv"
    assert parse_recording_name(b.name) == (when, "romanian_dl")
    assert parse_recording_name("20250304-050607_rdl.csv.gz") == (when, "rdl")
    assert parse_recording_name("notes.csv") is None
    assert recording_path(None, directory=tmp_path, now=when).name.endswith("_session.csv")


CHILD = r"""
import sys, time
import numpy as np
from hipfirst.recording import RecordingMeta, SessionRecorder
rec = SessionRecorder(sys.argv[1], meta=RecordingMeta(exercise="rdl"), buffer_bytes=100)
rate = 100.0
sent = {"lumbar": 0, "sacrum": 0, "thigh": 0}
t0 = time.monotonic()
print(repr(t0), flush=True)
while True:
    n = int((time.monotonic() - t0) * rate)
    for k, name in enumerate(sent):
        idx = np.arange(sent[name], n)
        if len(idx):
            acc = np.column_stack([np.sin(idx / 50), np.cos(idx / 50), 0 * idx + 0.1])
            gyr = np.column_stack([idx * 0.001, 0 * idx + 1.0, 0 * idx - 1.0])
            rec.add(name, idx / rate + 0.001 * k, acc, gyr, device_time_s=idx / rate)
            sent[name] = n
    time.sleep(0.013)
"""


def test_kill_9_loses_at_most_the_last_second(tmp_path: Path) -> None:
    """A real writer process, SIGKILLed mid-stream; the file reads back up to the kill.
    A power cut can also tear the last line (a kill rarely does: writes are whole), so the
    killed file is then cut mid-line as a power loss would leave it and read again."""
    p = tmp_path / "killed.csv"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(p)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    t0 = float(child.stdout.readline())
    time.sleep(2.3)
    os.kill(child.pid, signal.SIGKILL)
    t_kill = time.monotonic() - t0
    child.wait()
    raw = p.read_bytes()
    warnings: list[str] = []
    s = read_session_csv(p, allow_torn_tail=True, warn=warnings.append)
    torn = not raw.endswith(b"\n")
    assert len(warnings) == int(torn)
    times = [float(x.split(b",")[0]) for x in raw.split(b"\n")[1:-1]]
    assert times == sorted(times)
    for k, name in enumerate(("lumbar", "sacrum", "thigh")):
        st = s.sensors[name]
        # every sample from the start, none missing, none out of order
        np.testing.assert_allclose(st.time_s, np.arange(st.samples) / 100.0 + 0.001 * k)
        assert st.time_s[-1] >= t_kill - 1.0, (name, st.time_s[-1], t_kill)
    side = read_sidecar(p)
    assert side is not None and side["complete"] is False

    whole = raw[: raw.rindex(b"\n") + 1]
    cut = tmp_path / "cut.csv"
    cut.write_bytes(whole + raw.split(b"\n")[1][:17])  # a row torn after 17 bytes
    warnings.clear()
    s2 = read_session_csv(cut, allow_torn_tail=True, warn=warnings.append)
    n_rows = whole.count(b"\n") - 1
    assert sum(st.samples for st in s2.sensors.values()) == n_rows
    assert len(warnings) == 1 and f"cut.csv:{n_rows + 2}: last line is incomplete" in warnings[0]


def test_samples_are_taken_while_the_flush_thread_waits_on_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow fsync (an SD card) in the flush thread: ``add`` on the event loop must not
    wait for it (it waited on the recorder's lock: up to 153 ms with a 50 ms fsync), and
    the rows it added are in the file once the flush is let go."""
    import threading

    import hipfirst.recording.writer as writer

    real = os.fsync
    in_fsync, let_go = threading.Event(), threading.Event()

    def slow_fsync(fd: int) -> None:
        if threading.current_thread().name == "recorder-flush":
            in_fsync.set()
            let_go.wait(10.0)
        real(fd)

    monkeypatch.setattr(writer.os, "fsync", slow_fsync)
    rec = SessionRecorder(
        tmp_path / "r.csv", meta=RecordingMeta(placements=["lumbar"]), flush_interval_s=0.01
    )
    rec.add("lumbar", *block(100.0, 0, 10, 0.0))
    assert in_fsync.wait(10.0)  # the flush thread is now inside its fsync
    adder = threading.Thread(target=rec.add, args=("lumbar", *block(100.0, 10, 10, 0.0)))
    adder.start()
    adder.join(5.0)
    blocked = adder.is_alive()
    let_go.set()
    adder.join()
    rec.close()
    assert not blocked
    assert len(file_times(tmp_path / "r.csv")) == 20


def test_a_recording_never_writes_over_another_sidecar_nor_pretends_to_gzip(
    tmp_path: Path,
) -> None:
    """``demo -o X.csv.gz`` next to ``X.csv``: it replaced X.json, and wrote plain text
    under the .gz name. A sidecar already there (``X.csv.gz``'s, for ``-o X.csv``) is
    another recording's."""
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(UserError, match=r"x\.json: already exists"):
        SessionRecorder(tmp_path / "x.csv", meta=RecordingMeta(placements=["lumbar"]))
    with pytest.raises(UserError, match="plain CSV"):
        SessionRecorder(tmp_path / "y.csv.gz", meta=RecordingMeta(placements=["lumbar"]))
    assert (tmp_path / "x.json").read_text() == "{}"
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv.gz").exists()
