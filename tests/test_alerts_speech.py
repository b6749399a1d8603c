"""Spoken cues through the locally installed engine (espeak-ng or espeak), rendered once at
start-up; skipped, with the reason, where no engine is installed (``apt-get install
espeak-ng``). Without an engine the cues are tones only, which test_alerts.py covers."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from analysis.results import LiveEvent
from hipfirst.alerts import CUES, AlertDispatcher, WavFileSink
from hipfirst.alerts.cues import RATE_HZ, render_cues
from hipfirst.alerts.speech import find_engine, phonemes, phrase, render_speech

ENGINE = find_engine()
needs_engine = pytest.mark.skipif(
    ENGINE is None, reason="no speech engine: espeak-ng/espeak not installed (apt-get install "
    "espeak-ng); spoken cues are optional and tones are tested without it",
)  # fmt: skip


def test_without_an_engine_cues_are_tones_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    speech, why = render_speech("en")
    assert speech == {} and why is not None and "espeak-ng" in why
    assert render_speech("fr")[1] is not None


@needs_engine
@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_phrase_is_read_in_its_own_language(language: str) -> None:
    # espeak marks words it cannot read in the voice's language with a switch such as
    # "(en)" (e.g. kanji become "Chinese letter"): none of that in any cue
    assert ENGINE is not None
    for flag in CUES:
        said = phonemes(ENGINE, phrase(flag, language), language=language)
        assert said.strip() and "(" not in said, (flag, said)


@needs_engine
@pytest.mark.parametrize("language", ["en", "ja"])
def test_spoken_cues_are_rendered_up_front(language: str) -> None:
    speech, why = render_speech(language)
    assert why is None and set(speech) == set(CUES)
    for flag, pcm in speech.items():
        assert pcm.dtype == np.float32
        seconds = len(pcm) / RATE_HZ
        assert 0.3 < seconds < 4.0, flag
        assert np.sqrt(np.mean(pcm**2)) > 0.01, f"{flag}: silent"
    # each cue is its tone, a short gap, then the words: nothing synthesised later
    cues = render_cues(speech=speech)
    tones = render_cues()
    for flag in CUES:
        n = len(tones[flag])
        assert np.array_equal(cues[flag][:n], tones[flag])
        assert np.array_equal(cues[flag][-len(speech[flag]) :], speech[flag])


@needs_engine
def test_spoken_cue_plays_into_the_wav(tmp_path: Path) -> None:
    speech, _ = render_speech("en")
    sink = WavFileSink(tmp_path / "said.wav")
    d = AlertDispatcher(audio=sink, speech=speech)
    d.on_event(LiveEvent("alert", 1.0, 1, flag="lumbar_first"))
    d.close()
    with wave.open(str(tmp_path / "said.wav")) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2") / 32767.0
    cue = d.cues["lumbar_first"]
    assert len(x) >= len(cue)
    assert np.max(np.abs(x[: len(cue)] - cue)) < 2 / 32767
