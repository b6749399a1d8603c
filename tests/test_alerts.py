"""Alert audio and policy for real: cues rendered once, played through the WAV sink (paced
like PortAudio) into a real WAV file, checked by FFT; the policy; the no-device fallback.

The haptic path over bleak is in test_alerts_haptic.py, spoken cues in
test_alerts_speech.py.
"""

from __future__ import annotations

import csv
import itertools
import logging
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from analysis.results import FLAGS, LiveEvent
from hipfirst.alerts import (
    CUES,
    AlertDispatcher,
    AlertPolicy,
    BellSink,
    CueMixer,
    NoAudioDevice,
    NullSink,
    PacedOutputStream,
    WavFileSink,
    open_audio_sink,
)
from hipfirst.alerts.cues import RATE_HZ
from hipfirst.errors import UserError

# The pitch each fault is meant to have (Hz): written out here, not read from CUES, so a
# changed or swapped pitch fails.
PITCH_HZ = {
    "lumbar_first": 988.0,
    "lumbar_flexion": 330.0,
    "lumbar_extension": 659.0,
    "knee_dominant": 523.0,
    "torso_drift": 415.0,
}
NO_SUCH_DEVICE = "hipfirst-test-no-such-output-device"
CUES_RENDERED = AlertDispatcher().cues


def dominant_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE_HZ)[np.argmax(spec)])


def alert(flag: str, rep: int, t: float) -> LiveEvent:
    return LiveEvent("alert", t, rep, flag=flag, message="")


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE_HZ)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32767.0


def test_every_fault_has_a_cue() -> None:
    assert set(CUES) == set(FLAGS) == set(PITCH_HZ)


def test_each_fault_sounds_different_in_the_wav(tmp_path: Path) -> None:
    out = tmp_path / "cues.wav"
    sink = WavFileSink(out)
    d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), audio=sink)
    flags = ["knee_dominant", "lumbar_first", "torso_drift", "lumbar_extension", "lumbar_flexion"]
    for i, flag in enumerate(flags):
        d.on_event(alert(flag, i + 1, float(i)))
    d.close()
    x = read_wav(out)
    with (tmp_path / "cues.timing.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["flag"] for r in rows] == flags
    heard = {}
    for r in rows:
        start = int(r["wav_frame"])
        cue = d.cues[r["flag"]]
        seg = x[start : start + len(cue)]
        # the WAV holds exactly the rendered cue (16-bit rounding aside) at the logged frame
        assert len(seg) == len(cue)
        assert np.max(np.abs(seg - cue)) < 2 / 32767
        heard[r["flag"]] = dominant_hz(seg)
        assert float(r["latency_ms"]) >= 0
    for flag, hz in heard.items():
        assert hz == pytest.approx(PITCH_HZ[flag], abs=12), flag
    for a, b in itertools.combinations(heard.values(), 2):
        assert abs(np.log2(a / b)) > 1 / 12  # at least a semitone apart
    assert [s.flag for s in sink.started] == flags


def test_wav_sink_makes_its_folder_or_says_what_stands_in_the_way(tmp_path: Path) -> None:
    out = tmp_path / "new" / "set 1" / "cues.wav"  # as with --out-dir new/set 1, not made yet
    sink = WavFileSink(out)
    sink.play("lumbar_first", CUES_RENDERED["lumbar_first"])
    sink.close()
    cue, x = CUES_RENDERED["lumbar_first"], read_wav(out)
    assert len(x) >= len(cue) and np.max(np.abs(x[: len(cue)] - cue)) < 2 / 32767
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match=r"cannot write the cue WAV .*afile is a file"):
        WavFileSink(tmp_path / "afile" / "cues.wav")


def test_wav_sink_leaves_out_silence_and_drops_stale_cues(tmp_path: Path) -> None:
    sink = WavFileSink(tmp_path / "late.wav", max_wait_s=0.3)
    sink.play("lumbar_flexion", CUES_RENDERED["lumbar_flexion"])  # 350 ms
    sink.play("lumbar_first", CUES_RENDERED["lumbar_first"])  # waits 350 ms: too long
    time.sleep(0.6)  # a pause longer than any cue: nothing is written for it
    sink.play("torso_drift", CUES_RENDERED["torso_drift"])
    sink.close()
    x = read_wav(tmp_path / "late.wav")
    assert [s.flag for s in sink.started] == ["lumbar_flexion", "torso_drift"]
    assert [f for f, _ in sink.mixer.dropped] == ["lumbar_first"]
    n1 = len(CUES_RENDERED["lumbar_flexion"])
    n2 = len(CUES_RENDERED["torso_drift"])
    blocks = -(-n1 // 256) + -(-n2 // 256)  # whole 256-frame blocks, nothing in between
    assert len(x) == blocks * 256
    assert sink.started[1].frame == -(-n1 // 256) * 256
    with (tmp_path / "late.timing.csv").open() as f:
        rows = list(csv.reader(f))
    assert [r[0] for r in rows[1:]] == ["lumbar_flexion", "torso_drift", "lumbar_first"]
    assert rows[-1][2:] == ["", "", ""]  # dropped: never played


def test_mixer_plays_cues_back_to_back_at_the_right_frames() -> None:
    m = CueMixer()
    a = np.full(300, 0.25, dtype=np.float32)
    b = np.full(100, -0.5, dtype=np.float32)
    m.push("lumbar_first", a)
    m.push("knee_dominant", b)
    out = np.empty((256, 1), dtype=np.float32)
    assert m.fill(out[:, 0]) == 256 and np.all(out[:, 0] == 0.25)
    assert m.fill(out[:, 0]) == 144
    assert np.all(out[:44, 0] == 0.25) and np.all(out[44:144, 0] == -0.5)
    assert np.all(out[144:, 0] == 0.0)
    assert m.fill(out[:, 0]) == 0 and np.all(out == 0.0) and not m.busy
    assert [(s.flag, s.frame) for s in m.started] == [("lumbar_first", 0), ("knee_dominant", 300)]
    assert m.frames_played == 512


def test_paced_stream_calls_back_like_portaudio() -> None:
    calls: list[tuple[tuple[int, ...], np.dtype, int, bool]] = []

    def cb(outdata: np.ndarray, frames: int, t: object, status: object) -> None:
        calls.append((outdata.shape, outdata.dtype, frames, bool(status)))
        outdata[:] = 1.0

    s = PacedOutputStream(samplerate=RATE_HZ, blocksize=128, channels=2, callback=cb)
    s.start()
    deadline = time.perf_counter() + 5.0
    while len(calls) < 5 and time.perf_counter() < deadline:
        time.sleep(0.01)
    s.stop()
    n = len(calls)
    time.sleep(0.05)
    assert n >= 5 and len(calls) == n  # called repeatedly, and not after stop
    assert calls[0][:3] == ((128, 2), np.dtype("float32"), 128)
    assert s.blocks == n and len(s.wake_late_s) == n


def test_policy_once_per_rep_cooldown_and_mute() -> None:
    p = AlertPolicy(cooldown_s=2.0, muted={"torso_drift"})
    assert p.decide(flag="lumbar_first", rep=1, time_s=10.0) is None
    assert p.decide(flag="lumbar_first", rep=1, time_s=13.0) == "already said this rep"
    assert p.decide(flag="lumbar_first", rep=2, time_s=11.0) == "cooldown"
    assert p.decide(flag="lumbar_first", rep=3, time_s=12.5) is None
    assert p.decide(flag="lumbar_flexion", rep=3, time_s=12.5) is None  # other fault: own limit
    assert p.decide(flag="torso_drift", rep=3, time_s=20.0) == "muted"
    p.unmute("torso_drift")
    assert p.decide(flag="torso_drift", rep=3, time_s=20.0) is None
    p.mute("lumbar_first")
    assert p.decide(flag="lumbar_first", rep=9, time_s=99.0) == "muted"
    with pytest.raises(ValueError, match="unknown fault 'back_first'"):
        p.mute("back_first")
    with pytest.raises(ValueError):
        AlertPolicy(cooldown_s=-1.0)


def test_dispatcher_records_every_alert_for_the_sidecar() -> None:
    sink = NullSink()
    seen = []
    d = AlertDispatcher(
        policy=AlertPolicy(cooldown_s=1.0, muted={"knee_dominant"}), audio=sink,
        on_record=seen.append,
    )  # fmt: skip
    d.on_event(LiveEvent("rep_end", 1.0, 1))
    d.on_event(alert("lumbar_first", 1, 2.0))
    d.on_event(alert("lumbar_first", 1, 2.5))
    d.on_event(alert("knee_dominant", 1, 2.6))
    d.on_event(alert("lumbar_first", 2, 2.9))
    d.on_event(alert("lumbar_first", 3, 3.5))
    assert seen == d.log
    assert d.to_json() == [
        {"time_s": 2.0, "rep": 1, "flag": "lumbar_first", "delivered": True, "why_not": None},
        {"time_s": 2.5, "rep": 1, "flag": "lumbar_first", "delivered": False,
         "why_not": "already said this rep"},
        {"time_s": 2.6, "rep": 1, "flag": "knee_dominant", "delivered": False,
         "why_not": "muted"},
        {"time_s": 2.9, "rep": 2, "flag": "lumbar_first", "delivered": False,
         "why_not": "cooldown"},
        {"time_s": 3.5, "rep": 3, "flag": "lumbar_first", "delivered": True, "why_not": None},
    ]  # fmt: skip
    assert [s.flag for s in sink.started] == ["lumbar_first", "lumbar_first"]


def test_no_sound_device_falls_back_to_the_bell(caplog: pytest.LogCaptureFixture) -> None:
    # A device name that matches nothing: without PortAudio (or without sounddevice) this
    # fails at import, with PortAudio at stream creation; either way at sink creation.
    with caplog.at_level(logging.INFO, logger="hipfirst.alerts"):
        sink = open_audio_sink("auto", device=NO_SUCH_DEVICE)
        assert isinstance(sink, BellSink)
        assert "no sound device" in sink.description
        d = AlertDispatcher(audio=sink)
        d.on_event(alert("lumbar_flexion", 1, 1.0))
        d.close()
    assert [s.flag for s in sink.started] == ["lumbar_flexion"]
    assert "cues go to the terminal bell" in caplog.text
    assert "cue lumbar_flexion (terminal bell)" in caplog.text
    with pytest.raises(NoAudioDevice, match="no sound device"):
        open_audio_sink("device", device=NO_SUCH_DEVICE)


def test_sink_kinds_and_bad_ones(tmp_path: Path) -> None:
    assert isinstance(open_audio_sink("none"), NullSink)
    assert isinstance(open_audio_sink("bell"), BellSink)
    wav = open_audio_sink(f"file:{tmp_path / 'x.wav'}")
    assert isinstance(wav, WavFileSink)
    wav.close()
    wav.close()  # twice is fine
    with pytest.raises(UserError, match="audio sink 'speaker'"):
        open_audio_sink("speaker")
    (tmp_path / "no").write_text("a file, not a folder")
    with pytest.raises(UserError, match="cannot write the cue WAV"):
        open_audio_sink(f"file:{tmp_path / 'no' / 'dir' / 'x.wav'}")

    # ``--audio file:rec.csv`` (a slip for rec.wav) replaced that recording by the cues' WAV
    rec = tmp_path / "20250301-090000_rdl.csv"
    rec.write_text("time_s,sensor\n")
    with pytest.raises(UserError, match=r"must end in \.wav"):
        open_audio_sink(f"file:{rec}")
    assert rec.read_text() == "time_s,sensor\n"


def test_alert_without_an_event_loop_still_sounds_and_is_logged() -> None:
    class NeverCalled:
        async def haptic(self, placement: str, *, intensity_pct: int, pattern_ms: tuple) -> bool:
            raise AssertionError("no loop: no buzz")

    from hipfirst.alerts import HapticOut

    sink = NullSink()
    haptic = HapticOut(NeverCalled())
    d = AlertDispatcher(audio=sink, haptic=haptic)
    d.on_event(alert("torso_drift", 4, 9.0))
    assert [s.flag for s in sink.started] == ["torso_drift"]
    assert d.log[0].delivered
    assert haptic.done == []  # no buzz tried (HapticOut would swallow NeverCalled's error)


def test_device_callback_fills_every_channel_and_counts_underflows() -> None:
    # The callback SoundDeviceSink hands PortAudio (no PortAudio here to call it for real):
    # a (frames, channels) float32 block filled in place, the status flag counted.
    from hipfirst.alerts.pacer import BlockStatus, BlockTime
    from hipfirst.alerts.sinks import _CallbackSink

    sink = _CallbackSink(max_wait_s=1.0)
    sink.play("lumbar_first", CUES_RENDERED["lumbar_first"])
    out = np.full((256, 2), np.nan, dtype=np.float32)
    sink._callback(out, 256, BlockTime(0.0, 0.0), BlockStatus(output_underflow=True))
    assert np.array_equal(out[:, 0], CUES_RENDERED["lumbar_first"][:256])
    assert np.array_equal(out[:, 1], out[:, 0])
    assert sink.underflows == 1 and [s.flag for s in sink.started] == ["lumbar_first"]
