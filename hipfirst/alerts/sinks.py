"""Where audio cues go: the sound device (PortAudio via ``sounddevice``), a WAV file, the
terminal bell, or nowhere. All take pre-rendered buffers and return at once.

``SoundDeviceSink`` and ``WavFileSink`` share one :class:`CueMixer`, pulled block by block:
by PortAudio's callback for the device, and for the file by a thread that wakes every
block period exactly as the callback would (same block size, same queue), so the file
sink's timing is the device's timing without a device. Each sink logs when every cue
actually started playing (``started``), which is what ``bench/alerts.py`` measures.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from hipfirst.alerts.cues import RATE_HZ

log = logging.getLogger(__name__)
BLOCK = 256
"""Frames per callback: 11.6 ms at 22.05 kHz."""


@dataclass(frozen=True)
class Started:
    flag: str
    decided_s: float
    """``time.perf_counter()`` when the alert was decided (``play`` was called)."""
    playing_s: float
    """...when the block holding the cue's first sample was handed to the output."""


class AudioSink(Protocol):
    started: list[Started]
    description: str

    def play(self, flag: str, buf: np.ndarray) -> None: ...
    def close(self) -> None: ...


class CueMixer:
    """A queue of cues played one after another, pulled in blocks (thread-safe)."""

    def __init__(self) -> None:
        self._queue: collections.deque[tuple[str, np.ndarray, float]] = collections.deque()
        self._cur: tuple[str, np.ndarray, float] | None = None
        self._pos = 0
        self._lock = threading.Lock()
        self.started: list[Started] = []

    def push(self, flag: str, buf: np.ndarray) -> None:
        with self._lock:
            self._queue.append((flag, buf, time.perf_counter()))

    @property
    def busy(self) -> bool:
        return self._cur is not None or bool(self._queue)

    def fill(self, frames: int) -> np.ndarray:
        out = np.zeros(frames, dtype=np.float32)
        i = 0
        with self._lock:
            while i < frames:
                if self._cur is None:
                    if not self._queue:
                        break
                    self._cur, self._pos = self._queue.popleft(), 0
                    flag, _, decided = self._cur
                    self.started.append(Started(flag, decided, time.perf_counter()))
                buf = self._cur[1]
                n = min(frames - i, len(buf) - self._pos)
                out[i : i + n] = buf[self._pos : self._pos + n]
                i += n
                self._pos += n
                if self._pos >= len(buf):
                    self._cur = None
        return out


class SoundDeviceSink:
    """The default output device through PortAudio (``pip install sounddevice``)."""

    def __init__(self, *, rate_hz: int = RATE_HZ, block: int = BLOCK) -> None:
        import sounddevice as sd  # raises OSError when the PortAudio library is missing

        self.mixer = CueMixer()
        self.started = self.mixer.started

        def callback(outdata: np.ndarray, frames: int, _t: object, _status: object) -> None:
            outdata[:, 0] = self.mixer.fill(frames)

        self._stream = sd.OutputStream(
            samplerate=rate_hz, channels=1, dtype="float32", blocksize=block,
            latency="low", callback=callback,
        )  # fmt: skip
        self._stream.start()
        self.description = f"sound device ({sd.query_devices(kind='output')['name']})"

    def play(self, flag: str, buf: np.ndarray) -> None:
        self.mixer.push(flag, buf)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


class WavFileSink:
    """Writes what would be played to a WAV file (16-bit mono), paced like the device."""

    def __init__(self, path: str | Path, *, rate_hz: int = RATE_HZ, block: int = BLOCK) -> None:
        self.path = Path(path)
        self.mixer = CueMixer()
        self.started = self.mixer.started
        self.description = f"WAV file {self.path}"
        self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate_hz)
        self._period = block / rate_hz
        self._block = block
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="wav-sink", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        next_t = time.perf_counter()
        while not self._stop.is_set():
            next_t += self._period
            delay = next_t - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if self.mixer.busy:
                x = self.mixer.fill(self._block)
                self._wav.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())

    def play(self, flag: str, buf: np.ndarray) -> None:
        self.mixer.push(flag, buf)

    def close(self) -> None:
        deadline = time.perf_counter() + 5.0
        while self.mixer.busy and time.perf_counter() < deadline:  # let queued cues finish
            time.sleep(self._period)
        self._stop.set()
        self._thread.join()
        self._wav.close()


class BellSink:
    """No audio device: the terminal bell (when stderr is a terminal) and the log."""

    def __init__(self, reason: str = "") -> None:
        self.started: list[Started] = []
        self.description = "terminal bell" + (f" ({reason})" if reason else "")

    def play(self, flag: str, buf: np.ndarray) -> None:
        now = time.perf_counter()
        if sys.stderr.isatty():
            sys.stderr.write("\a")
            sys.stderr.flush()
        log.info("cue %s (no audio device)", flag)
        self.started.append(Started(flag, now, time.perf_counter()))

    def close(self) -> None:
        pass


class NullSink:
    def __init__(self) -> None:
        self.started: list[Started] = []
        self.description = "muted"

    def play(self, flag: str, buf: np.ndarray) -> None:
        now = time.perf_counter()
        self.started.append(Started(flag, now, now))

    def close(self) -> None:
        pass


def open_audio_sink(kind: str = "auto") -> AudioSink:
    """``auto`` (device, else bell), ``device``, ``bell``, ``none`` or ``file:PATH``."""
    if kind.startswith("file:"):
        return WavFileSink(kind[5:])
    if kind == "none":
        return NullSink()
    if kind == "bell":
        return BellSink()
    try:
        return SoundDeviceSink()
    except Exception as exc:  # PortAudioError, OSError (no library), ValueError (no device)
        if kind == "device":
            raise
        return BellSink(f"no sound device: {str(exc).splitlines()[0]}")
