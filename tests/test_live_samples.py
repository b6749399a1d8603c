"""Raw samples reach the live hooks (``LiveHooks.on_samples``), and the set flow's 1 g /
frozen check at the neutral runs live: simulated lifter -> virtual sensors (one of them
broken) -> real bleak client over the virtual BLE link -> live session -> set flow."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.manager import SampleBlock
from hipfirst.cli import main
from hipfirst.live import LiveHooks
from hipfirst.live.demo import DemoOptions, parse_sensor_faults, run_demo
from hipfirst.setflow import GO, NEUTRAL, STAND, SetFlow


class Blocks(LiveHooks):
    def __init__(self) -> None:
        self.blocks: list[SampleBlock] = []

    def on_samples(self, block: SampleBlock) -> None:
        self.blocks.append(block)


def test_cli_demo_names_the_sensor_that_reads_half_a_g(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["demo", "--quiet", "--no-record", "--speed", "8", "--reps", "1"]
    assert main([*argv, "--sensor-fault", "thigh:scale=0.5"]) == 0
    # the quiet view's prompts: "   2.76 s  say: <prompt>"
    out = [ln.split("say: ", 1)[1] for ln in capsys.readouterr().out.splitlines() if "say: " in ln]
    named = [line for line in out if "g standing still" in line]
    # the simulated accelerometer's own scale error is within ±2 %
    assert len(named) == 1 and named[0].startswith("The thigh sensor reads ")
    assert float(named[0].split()[4]) == pytest.approx(0.5, abs=0.015)
    assert out.index(NEUTRAL) < out.index(named[0])
    assert not any(line.startswith(("The lumbar", "The sacrum")) for line in out)


async def test_frozen_sensor_is_named_and_every_sample_reaches_the_hook() -> None:
    said: list[str] = []
    raw = Blocks()
    opts = DemoOptions(reps=1, seed=31, speed=8.0, out_dir=None, sensor_faults={"lumbar": "frozen"})
    res = await run_demo(opts, hooks=[raw, SetFlow(say=said.append)])
    assert said[:2] == [STAND, NEUTRAL]
    assert said[2].startswith("The lumbar sensor sends the same reading every sample (frozen)")
    assert not any(m.startswith(("The sacrum", "The thigh")) for m in said)
    # on_samples saw every sample the virtual sensors sent, as they were decoded
    for name, sensor in res.sensors.items():
        mine = [b for b in raw.blocks if b.sensor == name]
        assert sum(len(b.time_s) for b in mine) == sensor.stats.samples_sent
        assert sum(len(b.time_s) for b in mine) == res.summary.samples[name]
        t = np.concatenate([b.time_s for b in mine])
        assert np.all(np.diff(t) > 0)
        assert all(b.acc_g.shape == (len(b.time_s), 3) and b.gyr_dps is not None for b in mine)
    lumbar = np.concatenate([b.acc_g for b in raw.blocks if b.sensor == "lumbar"])
    assert np.ptp(lumbar, axis=0).max() == 0.0  # frozen, as sent


async def test_good_sensors_pass_the_check() -> None:
    said: list[str] = []
    opts = DemoOptions(reps=1, seed=32, speed=8.0, out_dir=None)
    await run_demo(opts, hooks=[SetFlow(say=said.append)])
    assert said == [STAND, NEUTRAL, GO]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thigh", "expected PLACEMENT:FAULT"),
        ("thigh:scale=abc", "the scale must be a number"),
        ("thigh:melted", "unknown sensor fault 'melted'"),
    ],
)
def test_bad_sensor_fault_option_is_one_line(
    text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sensor_faults(text)
    assert main(["demo", "--quiet", "--no-record", "--sensor-fault", text]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sensor-fault" in err and "Traceback" not in err
