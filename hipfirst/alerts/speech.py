"""Spoken cues from a local speech engine (espeak-ng, or the older espeak), rendered at
start-up: each phrase becomes PCM once, here; nothing is synthesised on the alert path.

With no engine installed the cues are tones only: :func:`render_speech` returns the reason,
and logs it, instead of failing. On Debian: ``apt-get install espeak-ng``.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import wave

import numpy as np

from hipfirst.alerts.cues import CUES, RATE_HZ

log = logging.getLogger(__name__)
LANGUAGES = ("en", "ja")
TIMEOUT_S = 10.0


def find_engine() -> str | None:
    """Path of espeak-ng (or espeak), None if neither is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def phrase(flag: str, language: str) -> str:
    cue = CUES[flag]
    return cue.words_en if language == "en" else cue.words_ja


def phonemes(engine: str, text: str, *, language: str) -> str:
    """What the engine will say, as its phoneme mnemonics (``-x``). Words it cannot read in
    ``language`` show up as a switch to another language, e.g. ``(en)``."""
    return subprocess.run(
        [engine, "-q", "-x", "-v", language, text],
        capture_output=True, timeout=TIMEOUT_S, check=True, text=True,
    ).stdout  # fmt: skip


def render_speech(
    language: str = "en", *, rate_hz: int = RATE_HZ
) -> tuple[dict[str, np.ndarray], str | None]:
    """(float32 PCM at ``rate_hz`` per flag, None), or ({}, why there is no speech)."""
    if language not in LANGUAGES:
        why = f"no spoken cues in {language!r} (have: {', '.join(LANGUAGES)}): tone cues only"
        log.warning("alerts: %s", why)
        return {}, why
    engine = find_engine()
    if engine is None:
        why = "no speech engine (espeak-ng) installed: tone cues only"
        log.info("alerts: %s", why)
        return {}, why
    out = {}
    for flag in CUES:
        try:
            wav = subprocess.run(
                [engine, "-v", language, "--stdout", phrase(flag, language)],
                capture_output=True, timeout=TIMEOUT_S, check=True,
            ).stdout  # fmt: skip
            out[flag] = _resample(*_read_wav(wav), rate_out=rate_hz)
        except (OSError, subprocess.SubprocessError, wave.Error, EOFError, ValueError) as exc:
            why = f"speech engine {engine} failed ({exc}): tone cues only"
            log.warning("alerts: %s", why)
            return {}, why
    return out, None


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise ValueError("expected 16-bit PCM")
        frames = w.readframes(w.getnframes())
        x = np.frombuffer(frames, dtype="<i2").astype(np.float32)
        x = x.reshape(-1, w.getnchannels())[:, 0] / 32768.0
        if not len(x):
            raise ValueError("the engine produced no audio")
        return x, w.getframerate()


def _resample(x: np.ndarray, rate_in: int, *, rate_out: int) -> np.ndarray:
    if rate_in == rate_out or len(x) < 2:
        return x.astype(np.float32)
    t_out = np.arange(int(len(x) * rate_out / rate_in)) / rate_out
    return np.interp(t_out, np.arange(len(x)) / rate_in, x).astype(np.float32)
