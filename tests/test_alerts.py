"""Alerts for real: cues rendered and played through a WAV sink paced like PortAudio, the
policy, and haptic buzzes written through bleak to a virtual sensor and checked there."""

from __future__ import annotations

import asyncio
import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

from analysis.results import LiveEvent
from hipfirst.alerts import (
    CUES,
    PATTERNS,
    AlertDispatcher,
    AlertPolicy,
    BellSink,
    HapticOut,
    NullSink,
    WavFileSink,
    open_audio_sink,
)
from hipfirst.alerts.cues import RATE_HZ
from hipfirst.alerts.speech import find_engine, render_speech


def dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE_HZ)[np.argmax(spec)])


def alert(flag: str, rep: int, t: float) -> LiveEvent:
    return LiveEvent("alert", t, rep, flag=flag, message="")


def test_each_fault_sounds_different_in_the_wav(tmp_path: Path) -> None:
    out = tmp_path / "cues.wav"
    sink = WavFileSink(out)
    d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), audio=sink)
    flags = list(CUES)
    for i, flag in enumerate(flags):
        d.on_event(alert(flag, i + 1, float(i)))
    d.close()
    with wave.open(str(out)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    # the cues were played back to back, in order, each exactly as rendered
    lengths = [len(d.cues[f]) for f in flags]
    assert len(x) >= sum(lengths)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    got = [dominant_hz(x[a:b]) for a, b in itertools.pairwise(bounds)]
    for flag, hz in zip(flags, got, strict=True):
        assert hz == pytest.approx(CUES[flag].freq_hz, abs=15), flag
    assert [s.flag for s in sink.started] == flags
    # the first cue started within a few 11.6 ms blocks of its decision (timing figures
    # are bench/alerts.py's job; this only catches a sink that does not play on time)
    assert sink.started[0].playing_s - sink.started[0].decided_s < 0.1


def test_policy_once_per_rep_cooldown_and_mute() -> None:
    p = AlertPolicy(cooldown_s=2.0, muted=frozenset({"torso_drift"}))
    assert p.decide(flag="lumbar_first", rep=1, time_s=10.0) is None
    assert p.decide(flag="lumbar_first", rep=1, time_s=13.0) == "already said this rep"
    assert p.decide(flag="lumbar_first", rep=2, time_s=11.0) == "cooldown"
    assert p.decide(flag="lumbar_first", rep=3, time_s=12.5) is None
    assert p.decide(flag="lumbar_flexion", rep=3, time_s=12.5) is None
    assert p.decide(flag="torso_drift", rep=3, time_s=20.0) == "muted"


def test_dispatcher_logs_every_decision_and_ignores_other_events() -> None:
    sink = NullSink()
    d = AlertDispatcher(audio=sink)
    d.on_event(LiveEvent("rep_end", 1.0, 1))
    d.on_event(alert("lumbar_first", 1, 2.0))
    d.on_event(alert("lumbar_first", 1, 2.5))
    assert [(x.flag, x.delivered, x.why_not) for x in d.log] == [
        ("lumbar_first", True, None),
        ("lumbar_first", False, "already said this rep"),
    ]
    assert [s.flag for s in sink.started] == ["lumbar_first"]


def test_no_audio_device_falls_back_to_the_bell() -> None:
    sink = open_audio_sink("auto")
    try:
        if isinstance(sink, BellSink):
            sink.play("lumbar_first", np.zeros(10, dtype=np.float32))
            assert sink.started and "bell" in sink.description
    finally:
        sink.close()
    assert isinstance(open_audio_sink("none"), NullSink)


@pytest.mark.skipif(find_engine() is None, reason="no espeak-ng/espeak on this machine")
def test_spoken_cues_are_rendered_up_front() -> None:
    for lang in ("en", "ja"):
        speech, why = render_speech(lang)
        assert why is None and set(speech) == set(CUES)
        assert all(len(v) > 0.2 * RATE_HZ for v in speech.values())


async def test_haptic_pattern_reaches_the_virtual_sensor_over_bleak() -> None:
    from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
    from firmware_bridge.virtual_link import VirtualLink
    from firmware_bridge.virtual_sensor import VirtualSensor
    from tests.test_live_manager import hinge_source, settings

    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(link, hinge_source(i, seconds=30.0, offset_s=0.0, drift_ppm=0.0))
            for i, p in enumerate(("lumbar", "thigh"))
        }
        for s in sensors.values():
            await s.start()
        mgr = SensorManager(
            [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()],
            settings=settings(link),
        )
        mgr.start()
        await mgr.wait_streaming(timeout_s=10)
        out = HapticOut(mgr)
        d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), haptic=out)
        d.on_event(alert("lumbar_first", 1, 1.0))
        d.on_event(alert("lumbar_flexion", 1, 1.2))
        await d.drain()
        await mgr.stop()
        for s in sensors.values():
            await s.close()
    got = [(h.command.intensity_pct, h.command.pattern_ms) for h in sensors["lumbar"].haptic_log]
    assert got == [PATTERNS["lumbar_first"], PATTERNS["lumbar_flexion"]]
    assert sensors["thigh"].haptic_log == []
    assert [h.ok for h in out.done] == [True, True]
    await asyncio.sleep(0)
