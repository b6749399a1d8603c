"""A Movella DOT's button marks sets in the live set flow: a simulated lifter on a virtual
DOT (lumbar) and two virtual hipfirst sensors, the real bleak client over the virtual BLE
link, the live session with the set flow and a recording. The DOT twin sends device
reports as the spec lays them out (XD0506P §2.3, Tables 9-11: type 5/6/7 = single/double/
triple click, length 4, u32 ms timestamp, zero-padded to 36 bytes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from analysis.config import PipelineConfig
from analysis.sim import SimConfig, simulate
from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.devices.movella_dot.twin import MovellaDotTwin
from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
from firmware_bridge.virtual_link import (
    VirtualLink,
    virtual_link_settings,
)
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.live import LiveSession
from hipfirst.recording import RecordingMeta, SessionRecorder, read_sidecar
from hipfirst.setflow import GO, NEUTRAL, RECALIBRATING, REFRESHED, REST, STAND, SetFlow
from tests.live_plan import Planned

logging.getLogger("bumble").setLevel(logging.ERROR)
SPEED = 1.0  # the DOT sends one sample per notification: with the Python BLE stack on both
# sides the test took 0.6 of a core at 2x, and a busy machine fell seconds behind (15 s at 4x)


def report(kind: int, ms: int) -> bytes:
    """A DOT device report, written out from the spec's table (not from the codec)."""
    return bytes([kind, 0x04]) + ms.to_bytes(4, "little") + bytes(30)


class Clicker(Planned[bytes | int]):
    """Clicks the DOT's button at given session times (as a lifter would): bytes = a
    device report sent as it is; an int = that many clicks by the twin's own encoder."""

    def __init__(self, twin: MovellaDotTwin, plan: list[tuple[float, bytes | int]]) -> None:
        super().__init__(plan)
        self.twin = twin

    def act(self, what: bytes | int) -> Coroutine[Any, Any, object]:
        if isinstance(what, bytes):
            return self.twin.notify(self.twin.report, what)
        return self.twin.press_button(what)


async def test_dot_button_marks_sets_and_double_click_recalibrates(tmp_path: Path) -> None:
    sim = simulate(
        SimConfig(exercise="rdl", reps=1, sets=2, rest_s=10.0, seed=4301, rate_hz=60.0,
                  clock_offset_s=0.0, clock_drift_ppm=0.0, still_start_s=6.0, still_end_s=7.0)
    )  # fmt: skip
    first = [r for r in sim.reps if r.set_index == 0]
    second = [r for r in sim.reps if r.set_index == 1]
    # set 2 is started 6 s before its first rep: a busy machine lets the data lag the clock
    t_end1, t_start2 = first[-1].end_s + 1.5, second[0].start_s - 6.0
    said: list[str] = []
    flow = SetFlow(say=said.append, rest_s=60.0)  # only the button ends a set here
    async with VirtualLink() as link:
        dot = MovellaDotTwin(link, SampleSource.from_sim(sim, "lumbar"), speed=SPEED)
        others = {
            p: VirtualSensor(link, SampleSource.from_sim(sim, p), speed=SPEED, placement=p)
            for p in ("sacrum", "thigh")
        }
        await asyncio.gather(dot.start(), *(s.start() for s in others.values()))
        ms0 = dot.device_time_us() // 1000 % (1 << 32)
        clicker = Clicker(
            dot,
            [
                (t_end1, report(0x05, ms0 + 1)),  # single click: end of set 1
                (t_end1 + 1.0, report(0x05, ms0 + 2)[:5]),  # torn: counted and dropped
                (t_start2, 1),  # single click (the twin's own encoder): set 2 starts
                (second[-1].end_s + 2.0, 2),  # double click: calibrate again
            ],
        )
        loop = asyncio.get_running_loop()
        dot_driver = MovellaDotDriver()
        manager = SensorManager(
            [
                Target("lumbar", dot.address, dot_driver),
                *(Target(p, s.address, HipfirstDriver()) for p, s in others.items()),
            ],
            settings=virtual_link_settings(link, rate_hz=60.0, backoff_min_s=0.05),
            clock=lambda: loop.time() * SPEED,
        )  # fmt: skip
        path = tmp_path / "dot.csv"
        recorder = SessionRecorder(
            path, meta=RecordingMeta(exercise="rdl", placements=["lumbar", "sacrum", "thigh"])
        )
        session = LiveSession(
            manager,
            config=PipelineConfig.for_exercise("rdl"),
            recorder=recorder,
            hooks=[flow, clicker],
            rate_hz=60.0,
        )
        assert session.button_sensors == ["lumbar", "sacrum", "thigh"]  # DOT and hipfirst
        stop = asyncio.Event()

        async def stop_when_done() -> None:
            await asyncio.sleep(1.0)
            while not all(s.stats.source_exhausted for s in others.values()) or dot.streaming:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3 / SPEED)
            stop.set()

        watcher = asyncio.create_task(stop_when_done())
        summary = await session.run(stop=stop, duration_s=sim.angles.time_s[-1] + 20.0)
        watcher.cancel()
        for t in clicker.tasks:
            await t
        await dot.close()
        for s in others.values():
            await s.close()

    assert not clicker.plan  # every click was made
    # the clicks came through bleak as the driver's presses, the torn report dropped
    assert [(p.clicks, p.device_ms) for p in dot_driver.button_presses[:1]] == [(1, ms0 + 1)]
    assert [p.clicks for p in dot_driver.button_presses] == [1, 1, 2]
    assert dot_driver.bad_reports == 1
    assert [(b.sensor, b.clicks) for b in summary.buttons] == [
        ("lumbar", 1),
        ("lumbar", 1),
        ("lumbar", 2),
    ]
    # ... each within a fraction of a second of the click (the session clock)
    sent_at = [t for t, what in clicker.sent if not (isinstance(what, bytes) and len(what) < 36)]
    for b, t in zip(summary.buttons, sent_at, strict=True):
        assert t <= b.time_s < t + 0.5 * SPEED
    # the flow: set 1 ended by the click, set 2 started by the next, then recalibrated
    # (standing in the rest, the neutral refreshes)
    flow_said = [m for m in said if m != REFRESHED]
    assert flow_said == [STAND, NEUTRAL, GO, f"Set 1 done. {REST}", "Set 2.",
                         RECALIBRATING, NEUTRAL, f"Set 3. {GO}"]  # fmt: skip
    assert said.index(f"Set 1 done. {REST}") < said.index(REFRESHED) < said.index("Set 2.")
    assert [(kind, n) for _, kind, n in flow.marks] == [("set_end", 1), ("set_start", 2)]
    for (t_mark, _, _), b in zip(flow.marks, summary.buttons, strict=False):
        assert t_mark == pytest.approx(b.time_s)
    # set 2's reps happened after its start mark, set 1's before its end mark
    reps = [e.rep for e in summary.events if e.kind == "rep_end" and e.rep is not None]
    assert len(reps) == 2
    assert reps[0].end_s < flow.marks[0][0] < flow.marks[1][0] < reps[1].start_s
    (rec,) = summary.recalibrations
    assert rec.done and rec.reason == "lumbar button double click"
    # the marks and the recalibration are in the recording's sidecar
    side = read_sidecar(path)
    assert side is not None and side["complete"]
    assert [(m["kind"], m["set"], m["source"], m["sensor"]) for m in side["markers"]] == [
        ("set_end", 1, "button", "lumbar"),
        ("set_start", 2, "button", "lumbar"),
        ("recalibrate", 2, "button", "lumbar"),
    ]
    assert [c["kind"] for c in side["calibration"]] == ["neutral", "recalibrate", "neutral"]
