"""Set marks in the recording: ``SessionRecorder.add_marker`` to the sidecar, read back by
``read_markers``, and kept when the process is killed mid-set (a real SIGKILL)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from analysis.errors import InputError
from analysis.session_csv import read_session_csv
from hipfirst.recording import RecordingMeta, SessionRecorder, read_sidecar
from hipfirst.recording.sidecar import read_markers


def test_markers_in_the_sidecar_at_the_next_flush_and_read_back_in_time_order(
    tmp_path: Path,
) -> None:
    p = tmp_path / "m.csv"
    rec = SessionRecorder(p, meta=RecordingMeta(exercise="rdl"), autoflush=False)
    got = rec.add_marker(time_s=12.34567, kind="set_end", source="button", sensor="lumbar", set=1)
    assert got == {"time_s": 12.3457, "kind": "set_end", "source": "button",
                   "sensor": "lumbar", "set": 1}  # fmt: skip
    side = read_sidecar(p)
    assert side is not None and side["markers"] == []  # not before the flush
    rec.add_marker(time_s=3.0, kind="recalibrate", source="key")
    rec.flush()
    side = read_sidecar(p)
    assert side is not None and side["complete"] is False
    assert [m["kind"] for m in side["markers"]] == ["set_end", "recalibrate"]  # as made
    assert [(m["time_s"], m["kind"], m.get("sensor")) for m in read_markers(p)] == [
        (3.0, "recalibrate", None),
        (12.3457, "set_end", "lumbar"),
    ]
    rec.close()
    rec.add_marker(time_s=20.0, kind="set_start", source="button", sensor="thigh")
    late = read_sidecar(p)  # a click after close still reaches the file
    assert late is not None and late["complete"] is True
    assert [m["kind"] for m in late["markers"]] == ["set_end", "recalibrate", "set_start"]


def test_bad_markers_refused_and_bad_sidecar_markers_named(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    rec = SessionRecorder(p, autoflush=False)
    with pytest.raises(ValueError, match="kind and a source"):
        rec.add_marker(time_s=1.0, kind="", source="button")
    with pytest.raises(ValueError, match="not finite"):
        rec.add_marker(time_s=float("nan"), kind="set_end", source="button")
    with pytest.raises(ValueError, match="'note'"):
        rec.add_marker(time_s=1.0, kind="set_end", source="key", note=[1, 2])  # type: ignore[arg-type]
    rec.close()
    assert read_markers(p) == []
    side = json.loads((tmp_path / "m.json").read_text())
    side["markers"] = [{"time_s": 1.0, "kind": "set_end", "source": "key"},
                       {"time_s": "soon", "kind": "set_start", "source": "key"}]  # fmt: skip
    (tmp_path / "m.json").write_text(json.dumps(side))
    with pytest.raises(InputError, match=r"^m\.json: markers\[1\]\.time_s: not a finite"):
        read_markers(p)
    assert read_markers(tmp_path / "absent.csv") == []


CHILD = r"""
import sys, time
import numpy as np
from hipfirst.recording import RecordingMeta, SessionRecorder
rec = SessionRecorder(sys.argv[1], meta=RecordingMeta(exercise="rdl"))
marks = [(0.6, "set_end", 1), (1.2, "set_start", 2)]
rate = 100.0
sent = {"lumbar": 0, "sacrum": 0, "thigh": 0}
t0 = time.monotonic()
print(repr(t0), flush=True)
while True:
    now = time.monotonic() - t0
    n = int(now * rate)
    for name in sent:
        idx = np.arange(sent[name], n)
        if len(idx):
            acc = np.column_stack([np.sin(idx / 50), np.cos(idx / 50), 0 * idx + 0.1])
            rec.add(name, idx / rate, acc, np.zeros((len(idx), 3)))
            sent[name] = n
    while marks and now >= marks[0][0]:
        _, kind, n_set = marks.pop(0)
        rec.add_marker(time_s=now, kind=kind, source="button", sensor="sacrum", set=n_set)
        print(f"{kind} {now!r}", flush=True)
    time.sleep(0.013)
"""


def test_marks_survive_a_kill_9_mid_set(tmp_path: Path) -> None:
    """A recording process clicks the set's end and the next set's start, is SIGKILLed a
    second later in the middle of set 2, and both marks are in the sidecar it left."""
    p = tmp_path / "killed.csv"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(p)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    t0 = float(child.stdout.readline())
    made = []
    for _ in range(2):
        kind, t = child.stdout.readline().split()
        made.append((kind, float(t)))
    time.sleep(1.0)  # two flush intervals of the writer (0.5 s)
    os.kill(child.pid, signal.SIGKILL)
    t_kill = time.monotonic() - t0
    child.wait()
    assert child.returncode == -signal.SIGKILL
    side = read_sidecar(p)
    assert side is not None and side["complete"] is False  # never closed
    marks = read_markers(p)
    assert [(m["kind"], m["time_s"]) for m in marks] == [(k, round(t, 4)) for k, t in made]
    assert all(m["source"] == "button" and m["sensor"] == "sacrum" for m in marks)
    assert [m["set"] for m in marks] == [1, 2]
    s = read_session_csv(p, allow_torn_tail=True, warn=lambda _m: None)
    for st in s.sensors.values():  # the samples around the marks are there too
        np.testing.assert_allclose(st.time_s, np.arange(st.samples) / 100.0)
        assert made[-1][1] < st.time_s[-1] and st.time_s[-1] >= t_kill - 1.0


def recorded_until(path: Path, sensors: tuple[str, ...]) -> float:
    """How far the recorder has flushed every one of ``sensors`` (the earliest of their
    last rows in the file's tail; -inf before each has one)."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))
            lines = f.read().split(b"\n")[1:-1]  # the first may be cut, the last torn
    except FileNotFoundError:
        return float("-inf")
    last: dict[bytes, float] = {}
    for line in lines:
        parts = line.split(b",", 2)
        if len(parts) == 3:
            with contextlib.suppress(ValueError):
                last[parts[1]] = float(parts[0])
    return min(last.get(n.encode(), float("-inf")) for n in sensors)


LIVE_CHILD = r"""
import asyncio, logging, sys
from analysis.config import PipelineConfig
from analysis.sim import SimConfig, simulate
from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
from firmware_bridge.manager.hipfirst_driver import CLICK_WAIT_S
from firmware_bridge.virtual_link import VirtualLink, virtual_link_settings
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.live import LiveHooks, LiveSession
from hipfirst.recording import RecordingMeta, SessionRecorder
from hipfirst.setflow import SetFlow
logging.getLogger("bumble").setLevel(logging.ERROR)
SPEED = 4.0
sim = simulate(SimConfig(exercise="rdl", reps=2, sets=2, rest_s=10.0, seed=4301, rate_hz=60.0,
                         clock_offset_s=0.0, clock_drift_ppm=0.0, still_start_s=6.0))
first = [r for r in sim.reps if r.set_index == 0]
second = [r for r in sim.reps if r.set_index == 1]
plan = [first[-1].end_s + 1.5, second[0].start_s - 4.0]
sensors = {}

class Lifter(LiveHooks):
    # presses the sacrum sensor's button at the planned times; prints each mark logged
    def attach(self, session):
        self.session, self.seen = session, 0
    def on_angles(self, latest):
        while plan and latest.time_s >= plan[0]:
            plan.pop(0)
            asyncio.ensure_future(sensors["sacrum"].press_button(1))
        marks = self.session.summary.markers
        for m in marks[self.seen:]:
            print(m["kind"], m["time_s"], second[0].start_s, second[-1].end_s, flush=True)
        self.seen = len(marks)

async def main():
    async with VirtualLink() as link:
        for p in ("lumbar", "sacrum", "thigh"):
            sensors[p] = VirtualSensor(link, SampleSource.from_sim(sim, p), speed=SPEED,
                                       placement=p)
        await asyncio.gather(*(s.start() for s in sensors.values()))
        drivers = [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()]
        for t in drivers:
            t.driver.click_wait_s = CLICK_WAIT_S / SPEED
        loop = asyncio.get_running_loop()
        manager = SensorManager(drivers, clock=lambda: loop.time() * SPEED,
                                settings=virtual_link_settings(link, rate_hz=60.0))
        recorder = SessionRecorder(sys.argv[1], meta=RecordingMeta(
            exercise="rdl", placements=["lumbar", "sacrum", "thigh"]))
        session = LiveSession(manager, config=PipelineConfig.for_exercise("rdl"),
                              recorder=recorder, hooks=[SetFlow(say=lambda _t: None), Lifter()],
                              rate_hz=60.0)
        await session.run(duration_s=1e6)

asyncio.run(main())
"""


def test_live_button_marks_survive_a_kill_9_mid_set(tmp_path: Path) -> None:
    """The whole live path in a real process: virtual hipfirst sensors over the virtual
    link, bleak, the driver's button clicks, the set flow, the session, the recorder. The
    sacrum button ends set 1 and starts set 2; the process is SIGKILLed in set 2's reps."""
    p = tmp_path / "live.csv"
    child = subprocess.Popen(
        [sys.executable, "-c", LIVE_CHILD, str(p)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    try:
        made = []
        for _ in range(2):
            kind, t, start2, end2 = child.stdout.readline().split()
            made.append((kind, float(t)))
        # kill in set 2's reps, once every sensor is recorded to their middle and past the
        # marks (waiting on the file, not the wall clock: a busy machine runs the child
        # slower, and its data can lag the session clock the marks carry by seconds)
        mid2 = max((float(start2) + float(end2)) / 2.0, made[-1][1] + 0.5)
        deadline = time.monotonic() + 60.0
        placements = ("lumbar", "sacrum", "thigh")
        while recorded_until(p, placements) < mid2 and time.monotonic() < deadline:
            assert child.poll() is None, "the session ended before the kill"
            time.sleep(0.05)
        assert recorded_until(p, placements) >= mid2, "the recording never reached set 2"
        assert child.poll() is None, "the session ended before the kill"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    side = read_sidecar(p)
    assert side is not None and side["complete"] is False
    marks = read_markers(p)
    assert [(m["kind"], m["time_s"]) for m in marks] == made
    assert [(m["kind"], m["set"], m["source"], m["sensor"]) for m in marks] == [
        ("set_end", 1, "button", "sacrum"),
        ("set_start", 2, "button", "sacrum"),
    ]
    assert [c["kind"] for c in side["calibration"]] == ["neutral"]
    s = read_session_csv(p, allow_torn_tail=True, warn=lambda _m: None)
    for st in s.sensors.values():  # recorded on past the marks
        assert st.time_s[-1] > made[-1][1]
