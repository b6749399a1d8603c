"""The hipfirst sensor's own button marks sets like a Movella DOT's: a simulated lifter on
three virtual hipfirst sensors, the real bleak client over the virtual BLE link, the live
session with the set flow and a recording. Button events are status notifications as
PROFILE.md lays them out (kind 0x03, event 0x01, u16 press count, u64 device time at the
press; one per press, presses <= 0.5 s apart on the device clock are one click)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from analysis.config import PipelineConfig
from analysis.sim import SimConfig, simulate
from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
from firmware_bridge.manager.hipfirst_driver import CLICK_WAIT_S, ButtonClick
from firmware_bridge.profile import DeviceEvent, decode_status
from firmware_bridge.profile.status import EVENT_BUTTON
from firmware_bridge.virtual_link import VirtualLink, virtual_link_settings
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.live import LiveSession
from hipfirst.recording import RecordingMeta, SessionRecorder, read_sidecar
from hipfirst.recording.sidecar import read_markers
from hipfirst.setflow import GO, NEUTRAL, RECALIBRATING, REFRESHED, REST, STAND, SetFlow
from tests.live_plan import Planned

logging.getLogger("bumble").setLevel(logging.ERROR)
SPEED = 2.0  # at 4x a busy machine let one sensor fall seconds behind the others
PLACEMENTS = ("lumbar", "sacrum", "thigh")


def event(count: int, t_us: int, *, code: int = 0x01) -> bytes:
    """A button event written out from PROFILE.md's table (not from the codec)."""
    return bytes([0x03, code]) + count.to_bytes(2, "little") + t_us.to_bytes(8, "little")


def test_spec_example_bytes() -> None:
    """PROFILE.md's example: a double click at device times 10.000 s and 10.300 s."""
    assert event(7, 10_000_000).hex(" ") == "03 01 07 00 80 96 98 00 00 00 00 00"
    assert event(8, 10_300_000).hex(" ") == "03 01 08 00 60 2a 9d 00 00 00 00 00"
    # and the codec reads them so
    for count, t_us in ((7, 10_000_000), (8, 10_300_000)):
        msg = decode_status(event(count, t_us))
        assert isinstance(msg, DeviceEvent)
        assert (msg.event, msg.count, msg.device_time_us) == (EVENT_BUTTON, count, t_us)


async def test_presses_group_into_clicks_on_the_device_clock() -> None:
    """Bytes into the driver's status callback (as bleak hands them): grouping by device
    time, merged presses by the count's jump, a restart, a repeat, malformed events."""
    driver = HipfirstDriver()
    driver.click_wait_s = 0.02
    got: list[ButtonClick] = []
    driver.on_button = got.append
    driver._clock = lambda: 100.0
    feed = [
        event(1, 5_000_000),  # single
        event(2, 7_000_000),  # double: 0.3 s later on the device clock
        event(3, 7_300_000),
        event(3, 7_300_000),  # the same count again: dropped
        event(5, 9_000_000),  # two presses merged in one event (count +2): double
        event(6, 9_100_000)[:11],  # torn: counted, dropped
        event(6, 9_100_000, code=0x02),  # unknown event: counted, dropped
        event(6, 12_000_000),  # three presses 0.4 s apart: triple
        event(7, 12_400_000),
        event(8, 12_800_000),
        event(9, 13_200_000),  # a fourth still joins the triple
        event(1, 20_000_000),  # the sensor restarted (count back to 1): single
        event(0xFFFF, 30_000_000),  # across the count's wrap: double
        event(0x0000, 30_450_000),
    ]
    for raw in feed:
        driver._on_status(None, bytearray(raw))
        await asyncio.sleep(0.005)  # presses of one click arrive closer than the wait
        if raw in (event(1, 5_000_000), event(3, 7_300_000), event(5, 9_000_000)):
            await asyncio.sleep(0.05)
        if raw in (event(9, 13_200_000), event(1, 20_000_000)):
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    assert [(c.clicks, c.device_time_us, c.count) for c in got] == [
        (1, 5_000_000, 1),
        (2, 7_000_000, 3),
        (2, 9_000_000, 5),
        (3, 12_000_000, 9),
        (1, 20_000_000, 1),
        (2, 30_000_000, 0),
    ]
    assert got[0].device_ms == 5_000 and got[0].host_s == 100.0
    assert driver.bad_status == 2 and driver.repeated_events == 1


async def test_far_apart_presses_are_two_clicks_without_waiting_twice() -> None:
    driver = HipfirstDriver()
    driver.click_wait_s = 10.0  # long: the second press closes the first click
    got: list[ButtonClick] = []
    driver.on_button = got.append
    driver._on_status(None, bytearray(event(1, 1_000_000)))
    driver._on_status(None, bytearray(event(2, 1_600_000)))  # 0.6 s later: a new click
    assert [c.device_time_us for c in got] == [1_000_000]
    driver._close_click()  # stop() makes the open click final
    assert [(c.clicks, c.device_time_us) for c in got] == [(1, 1_000_000), (1, 1_600_000)]


class Presser(Planned[int | str]):
    """Presses the sacrum sensor's button at given session times (as a lifter would):
    an int = that many presses through the virtual sensor; the other kinds send status
    bytes as they are."""

    def __init__(self, sensor: VirtualSensor, plan: list[tuple[float, int | str]]) -> None:
        super().__init__(plan)
        self.sensor = sensor

    def act(self, what: int | str) -> Coroutine[Any, Any, object]:
        s = self.sensor
        if isinstance(what, int):
            return s.press_button(what, gap_s=0.2)
        if what == "spec":  # one press, bytes from the spec table
            s.button_presses += 1
            return s.notify_status(event(s.button_presses, s.device_time_us()))
        if what == "repeat":  # the last press's event again
            return s.notify_status(event(s.button_presses, s.device_time_us()))
        # "torn"
        return s.notify_status(event(s.button_presses + 1, s.device_time_us())[:7])


async def test_hipfirst_button_marks_sets_and_double_click_recalibrates(tmp_path: Path) -> None:
    sim = simulate(
        SimConfig(exercise="rdl", reps=1, sets=2, rest_s=10.0, seed=4301, rate_hz=60.0,
                  clock_offset_s=0.0, clock_drift_ppm=0.0, still_start_s=6.0, still_end_s=7.0)
    )  # fmt: skip
    first = [r for r in sim.reps if r.set_index == 0]
    second = [r for r in sim.reps if r.set_index == 1]
    t_end1, t_start2 = first[-1].end_s + 1.5, second[0].start_s - 4.0
    said: list[str] = []
    flow = SetFlow(say=said.append, rest_s=60.0)  # only the button ends a set here
    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(link, SampleSource.from_sim(sim, p), speed=SPEED, placement=p)
            for p in PLACEMENTS
        }
        await asyncio.gather(*(s.start() for s in sensors.values()))
        presser = Presser(
            sensors["sacrum"],
            [
                (t_end1, 1),  # single press: end of set 1
                (t_end1 + 1.5, "repeat"),  # the same count again: dropped
                (t_end1 + 2.5, "torn"),  # 7 of 12 bytes: counted and dropped
                (t_start2, "spec"),  # spec bytes, one press: set 2 starts
                (second[-1].end_s + 2.0, 2),  # double press: calibrate again
            ],
        )
        loop = asyncio.get_running_loop()
        drivers = {p: HipfirstDriver() for p in PLACEMENTS}
        for d in drivers.values():
            d.click_wait_s = CLICK_WAIT_S / SPEED  # the lifter's 0.7 s, at the test's speed
        manager = SensorManager(
            [Target(p, s.address, drivers[p]) for p, s in sensors.items()],
            settings=virtual_link_settings(link, rate_hz=60.0, backoff_min_s=0.05),
            clock=lambda: loop.time() * SPEED,
        )
        path = tmp_path / "button.csv"
        recorder = SessionRecorder(
            path, meta=RecordingMeta(exercise="rdl", placements=list(PLACEMENTS))
        )
        session = LiveSession(
            manager,
            config=PipelineConfig.for_exercise("rdl"),
            recorder=recorder,
            hooks=[flow, presser],
            rate_hz=60.0,
        )
        assert session.button_sensors == list(PLACEMENTS)
        stop = asyncio.Event()
        t_last = float(sim.angles.time_s[-1])

        async def stop_when_done() -> None:
            # the sources are spent and the pipeline has caught up with them (a loaded
            # machine can hold the live pipeline seconds behind the link at 4x)
            while not all(s.stats.source_exhausted for s in sensors.values()):
                await asyncio.sleep(0.05)
            while (latest := session.pipeline.latest) is None or latest.time_s < t_last - 1.0:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3 / SPEED)
            stop.set()

        watcher = asyncio.create_task(stop_when_done())
        summary = await session.run(stop=stop, duration_s=t_last + 30.0)
        watcher.cancel()
        for t in presser.tasks:
            await t

    assert not presser.plan  # every press was made
    sacrum = drivers["sacrum"]
    # through bleak as the driver's clicks; the repeat and the torn event dropped
    assert [c.clicks for c in sacrum.clicks] == [1, 1, 2]
    assert [c.count for c in sacrum.clicks] == [1, 2, 4]
    assert sacrum.bad_status == 1 and sacrum.repeated_events == 1
    assert all(not drivers[p].clicks and drivers[p].bad_status == 0 for p in ("lumbar", "thigh"))
    # the torn event shows in the sensor's status and in the recording's sidecar
    assert {p: st.malformed_events for p, st in manager.status.items()} == {
        "lumbar": 0,
        "sacrum": 1,
        "thigh": 0,
    }
    side = read_sidecar(path)
    assert side is not None
    assert side["devices"]["sacrum"]["malformed_events"] == 1
    assert [(b.sensor, b.clicks) for b in summary.buttons] == [
        ("sacrum", 1),
        ("sacrum", 1),
        ("sacrum", 2),
    ]
    # each stamped at the (first) press's arrival, within a fraction of a second of it
    sent_at = [t for t, what in presser.sent if what not in ("repeat", "torn")]
    for b, t in zip(summary.buttons, sent_at, strict=True):
        assert t <= b.time_s < t + 0.5 * SPEED
    # the flow: set 1 ended by the press, set 2 started by the next, then recalibrated
    flow_said = [m for m in said if m != REFRESHED]
    assert flow_said == [STAND, NEUTRAL, GO, f"Set 1 done. {REST}", "Set 2.",
                         RECALIBRATING, NEUTRAL, f"Set 3. {GO}"]  # fmt: skip
    assert [(kind, n) for _, kind, n in flow.marks] == [("set_end", 1), ("set_start", 2)]
    reps = [e.rep for e in summary.events if e.kind == "rep_end" and e.rep is not None]
    assert len(reps) == 2
    assert reps[0].end_s < flow.marks[0][0] < flow.marks[1][0] < reps[1].start_s
    (rec,) = summary.recalibrations
    assert rec.done and rec.reason == "sacrum button double click"
    # the marks are in the recording, with the button that made them
    side = read_sidecar(path)
    assert side is not None and side["complete"]
    marks = read_markers(path)
    assert [(m["kind"], m["set"], m["source"], m["sensor"]) for m in marks] == [
        ("set_end", 1, "button", "sacrum"),
        ("set_start", 2, "button", "sacrum"),
        ("recalibrate", 2, "button", "sacrum"),
    ]
    assert [m["time_s"] for m in marks] == [round(b.time_s, 4) for b in summary.buttons]
    assert [c["kind"] for c in side["calibration"]] == ["neutral", "recalibrate", "neutral"]
