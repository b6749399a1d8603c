"""Haptic cues for real: the dispatcher's buzz goes through the connection manager and the
real bleak client over the virtual BLE link, and is checked on the virtual sensor's side
(what its control characteristic received and decoded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import numpy as np

from analysis.results import LiveEvent
from analysis.session import SensorStream
from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
from firmware_bridge.virtual_link import (
    VirtualLink,
    virtual_link_settings,
)
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.alerts import AlertDispatcher, AlertPolicy, HapticOut, NullSink

# HAPTIC on the control characteristic as PROFILE.md lays it out: 0x05, intensity %,
# n, n x u16 LE ms. Written out by hand for the patterns the cues are meant to have.
WIRE = {
    "lumbar_first": "05" "5a" "03" "7800" "5000" "7800",  # 90 %: 120 on, 80 off, 120 on
    "lumbar_flexion": "05" "50" "01" "9001",  # 80 %: 400 on
    "knee_dominant": "05" "46" "03" "fa00" "9600" "fa00",  # 70 %: 250, 150, 250
}  # fmt: skip


def still_source(seconds: float = 30.0) -> SampleSource:
    t = np.arange(int(seconds * 200)) / 200.0
    acc = np.tile([0.0, 0.0, 1.0], (len(t), 1)) + 0.01 * np.sin(t)[:, None]
    gyr = np.zeros_like(acc)
    return SampleSource.from_stream(SensorStream("still", t, acc, gyr))


@asynccontextmanager
async def streaming(**sensor_kwargs: dict) -> AsyncIterator[tuple[SensorManager, dict]]:
    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(link, still_source(), placement=p, **sensor_kwargs.get(p, {}))
            for p in ("lumbar", "thigh")
        }
        for s in sensors.values():
            await s.start()
        mgr = SensorManager(
            [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()],
            settings=virtual_link_settings(
                link, rate_hz=200, scan_timeout_s=3.0, backoff_min_s=0.05
            ),
        )  # fmt: skip
        mgr.start()
        try:
            await mgr.wait_streaming(timeout_s=10)
            yield mgr, sensors
        finally:
            await mgr.stop()
            for s in sensors.values():
                await s.close()


def alert(flag: str, rep: int, t: float) -> LiveEvent:
    return LiveEvent("alert", t, rep, flag=flag)


async def test_buzz_patterns_reach_the_lumbar_sensor_over_bleak() -> None:
    async with streaming() as (mgr, sensors):
        out = HapticOut(mgr)
        d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), audio=NullSink(), haptic=out)
        d.on_event(alert("lumbar_first", 1, 1.0))
        d.on_event(alert("lumbar_flexion", 1, 1.2))
        d.on_event(alert("lumbar_first", 1, 1.3))  # same rep: held back, no buzz
        d.on_event(alert("knee_dominant", 2, 4.0))
        await d.drain()
        received = [bytes(h.command).hex() for h in sensors["lumbar"].haptic_log]
        thigh = list(sensors["thigh"].haptic_log)
    assert received == [WIRE["lumbar_first"], WIRE["lumbar_flexion"], WIRE["knee_dominant"]]
    assert thigh == []
    assert [(h.flag, h.ok) for h in out.done] == [
        ("lumbar_first", True), ("lumbar_flexion", True), ("knee_dominant", True),
    ]  # fmt: skip
    assert all(h.done_s > h.decided_s for h in out.done)


async def test_buzz_on_the_thigh_when_asked() -> None:
    async with streaming() as (mgr, sensors):
        d = AlertDispatcher(haptic=HapticOut(mgr, placement="thigh"))
        d.on_event(alert("knee_dominant", 1, 1.0))
        await d.drain()
        assert [bytes(h.command).hex() for h in sensors["thigh"].haptic_log] == [
            WIRE["knee_dominant"]
        ]
        assert sensors["lumbar"].haptic_log == []


async def test_no_motor_or_no_sensor_is_noted_not_raised() -> None:
    async with streaming(lumbar={"has_haptic": False}) as (mgr, sensors):
        no_motor = HapticOut(mgr)
        no_sensor = HapticOut(mgr, placement="sacrum")
        for out in (no_motor, no_sensor):
            d = AlertDispatcher(audio=NullSink(), haptic=out)
            d.on_event(alert("lumbar_flexion", 1, 1.0))
            await d.drain()
            assert d.log[0].delivered  # the sound still went out
        # the lumbar sensor got the command and answered UNSUPPORTED
        assert any(type(c).__name__ == "Haptic" for c in sensors["lumbar"].commands)
        assert sensors["lumbar"].haptic_log == []
    assert [(h.ok, h.why_not) for h in no_motor.done] == [
        (False, "the lumbar sensor did not buzz (absent or no motor)")
    ]
    assert [(h.ok, h.why_not) for h in no_sensor.done] == [
        (False, "the sacrum sensor did not buzz (absent or no motor)")
    ]


async def test_a_buzz_that_cannot_start_in_time_is_skipped() -> None:
    async with streaming() as (mgr, sensors):
        out = HapticOut(mgr, stale_after_s=0.0)
        d = AlertDispatcher(haptic=out)
        d.on_event(alert("lumbar_first", 1, 1.0))
        await d.drain()
        assert sensors["lumbar"].haptic_log == []
    assert [(h.ok, h.why_not) for h in out.done] == [(False, "stale: the link was busy")]
