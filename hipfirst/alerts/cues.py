"""One short, distinct tone cue per fault, rendered once at start-up (never on the hot path).

Each cue is a few beeps of one pitch; the pitch tells the fault without looking: high
quick double beep = back moved first, low long tone = rounding, short-long pair = arching,
quick triple = knees, slow double = torso drift. The pitches are at least a semitone apart
(most a third or more) and the rhythms differ as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE_HZ = 22050


@dataclass(frozen=True)
class Cue:
    flag: str
    freq_hz: float
    beeps_ms: tuple[int, ...]
    """Beep and pause durations in ms, alternating (starts with a beep)."""
    words_en: str
    words_ja: str


CUES: dict[str, Cue] = {
    c.flag: c
    for c in (
        Cue("lumbar_first", 988.0, (90, 60, 90), "hips back", "おしりを、うしろに"),
        Cue("lumbar_flexion", 330.0, (350,), "keep your back flat", "せなかを、まっすぐ"),
        Cue(
            "lumbar_extension", 659.0, (120, 60, 160),
            "ribs down", "こしを、そらさないで",
        ),
        Cue(
            "knee_dominant", 523.0, (70, 50, 70, 50, 70),
            "hinge, don't squat", "ひざを、まげすぎないで",
        ),
        Cue(
            "torso_drift", 415.0, (200, 150, 200),
            "hold your torso angle", "じょうたいの、かくどを、たもって",
        ),
    )
}  # fmt: skip
"""One cue per flag of ``analysis.results.FLAGS``. The Japanese words are in kana on
purpose: espeak-ng's Japanese voice reads kana but names each kanji ("Chinese letter")."""


def tone(cue: Cue, *, rate_hz: int = RATE_HZ, volume: float = 0.4) -> np.ndarray:
    """The cue as float32 mono samples in [-1, 1] (5 ms fades: no clicks)."""
    parts = []
    fade = int(0.005 * rate_hz)
    for i, ms in enumerate(cue.beeps_ms):
        n = int(ms / 1000 * rate_hz)
        if i % 2:
            parts.append(np.zeros(n, dtype=np.float32))
            continue
        t = np.arange(n) / rate_hz
        x = np.sin(2 * np.pi * cue.freq_hz * t)
        env = np.ones(n)
        env[:fade] = np.linspace(0, 1, fade)
        env[-fade:] = np.linspace(1, 0, fade)
        parts.append((volume * x * env).astype(np.float32))
    return np.concatenate(parts)


def render_cues(
    *, rate_hz: int = RATE_HZ, speech: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Tone per flag, followed by its spoken words when ``speech`` has them."""
    out = {}
    for flag, cue in CUES.items():
        buf = tone(cue, rate_hz=rate_hz)
        if speech and flag in speech:
            gap = np.zeros(int(0.05 * rate_hz), dtype=np.float32)
            buf = np.concatenate([buf, gap, speech[flag].astype(np.float32)])
        out[flag] = buf
    return out
