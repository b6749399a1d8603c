"""Spoken cues from a local speech engine (espeak-ng or espeak), rendered at start-up.

Nothing is synthesised on the alert path: each phrase is rendered once to PCM here. With no
engine installed the cues are tones only (and the reason is returned for the log).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from hipfirst.alerts.cues import CUES, RATE_HZ

VOICES = {"en": "en", "ja": "ja"}


def find_engine() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")


def render_speech(
    language: str = "en", *, rate_hz: int = RATE_HZ
) -> tuple[dict[str, np.ndarray], str | None]:
    """(phrase PCM per flag, None) or ({}, why not)."""
    if language not in VOICES:
        return {}, f"no spoken cues in {language!r} (have: {', '.join(VOICES)})"
    engine = find_engine()
    if engine is None:
        return {}, "no speech engine (espeak-ng) installed: tone cues only"
    out = {}
    for flag, cue in CUES.items():
        text = cue.words_en if language == "en" else cue.words_ja
        try:
            wav = subprocess.run(
                [engine, "-v", VOICES[language], "--stdout", text],
                capture_output=True,
                timeout=10,
                check=True,
            ).stdout
            out[flag] = _resample(*_read_wav(wav), rate_hz)
        except (OSError, subprocess.SubprocessError, wave.Error, ValueError) as exc:
            return {}, f"speech engine failed ({exc}): tone cues only"
    return out, None


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise ValueError("expected 16-bit PCM")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
        x = x.reshape(-1, w.getnchannels())[:, 0] / 32768.0
        return x, w.getframerate()


def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out or len(x) < 2:
        return x
    t_out = np.arange(int(len(x) * rate_out / rate_in)) / rate_out
    return np.interp(t_out, np.arange(len(x)) / rate_in, x).astype(np.float32)
