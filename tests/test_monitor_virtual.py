"""``hipfirst monitor`` end to end on virtual sensors: its own code path (scan results,
link settings and the manager's clock swapped for the virtual link's, nothing else)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
from firmware_bridge.virtual_link import VirtualLink, virtual_link_settings
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.cli import build_parser, main
from hipfirst.commands import monitor
from hipfirst.live.demo import DemoOptions, demo_sim

SPEED = 8.0
PLACEMENTS = ("lumbar", "sacrum", "thigh")


async def test_monitor_closes_with_the_sets_reps_not_the_practice_hinges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two practice hinges (monitor's default) and a 2-rep set: monitor ended with
    "4 reps", the demo and the review of the recording with 2."""
    monkeypatch.setenv("HIPFIRST_SENSORS_CONFIG", str(tmp_path / "sensors.json"))
    sim = demo_sim(DemoOptions(exercise="rdl", reps=4, faults={}, seed=23))
    duration_s = max(float(st.time_s[-1]) for st in sim.session.sensors.values())
    loop = asyncio.get_running_loop()
    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(
                link, SampleSource.from_sim(sim, p), speed=SPEED, placement=p, wait_for_go=True
            )
            for p in PLACEMENTS
        }
        await asyncio.gather(*(s.start() for s in sensors.values()))

        async def found(**_: object) -> tuple[list[Target], list[object]]:
            return [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()], []

        async def go_when_streaming() -> None:  # the lifter starts once the app is ready
            while not all(s.streaming for s in sensors.values()):
                await asyncio.sleep(0.01)
            now = loop.time()
            for s in sensors.values():
                s.go(now)

        monkeypatch.setattr(monitor, "find_targets", found)
        monkeypatch.setattr(
            monitor,
            "LinkSettings",
            lambda rate_hz: virtual_link_settings(link, rate_hz=rate_hz, backoff_min_s=0.05),
        )
        monkeypatch.setattr(
            monitor,
            "SensorManager",
            lambda targets, settings: SensorManager(
                targets, settings=settings, clock=lambda: loop.time() * SPEED
            ),
        )
        seconds = duration_s / SPEED + 1.5
        argv = ["monitor", "--exercise", "rdl", "--quiet", "--audio", "none", "--no-haptic"]
        argv += ["--out-dir", str(tmp_path), "--seconds", f"{seconds:.2f}"]
        args = build_parser("monitor").parse_args(argv)
        starter = asyncio.create_task(go_when_streaming())
        try:
            assert await monitor._monitor(args) == 0
        finally:
            starter.cancel()
            for s in sensors.values():
                await s.close()
    lines = capsys.readouterr().out.splitlines()
    assert sum("Now 2 slow practice hinges" in ln for ln in lines) == 1
    assert lines[-1].startswith("2 reps, ")
    (recording,) = tmp_path.glob("*_rdl.csv")
    assert main(["review", str(recording), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["reps"]) == 2
