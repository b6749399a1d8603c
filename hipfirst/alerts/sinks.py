"""Where audio cues go: the sound device (PortAudio via ``sounddevice``), a WAV file, the
terminal bell, or nowhere. ``play`` only queues an already rendered buffer and returns.

``SoundDeviceSink`` and ``WavFileSink`` run the same callback over one :class:`CueMixer`:
PortAudio calls it for the device; for the file a :class:`PacedOutputStream` calls it on
PortAudio's schedule (same block size and period), so the file sink's timing is the
device's up to the callback, without a device. Every sink keeps ``started`` (when each cue
began playing); the WAV sink also writes ``NAME.timing.csv`` beside the WAV.

No sound device is not an error in ``auto`` mode: :func:`open_audio_sink` catches what
``sounddevice`` raises at creation (ImportError when the package is missing, OSError when
the PortAudio library is, PortAudioError / ValueError when there is no output device) and
falls back to the terminal bell with a logged reason.
"""

from __future__ import annotations

import csv
import logging
import sys
import time
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hipfirst.alerts.cues import RATE_HZ
from hipfirst.alerts.mixer import CueMixer, Started
from hipfirst.alerts.pacer import PacedOutputStream
from hipfirst.errors import UserError
from hipfirst.side_files import TIMING_HEADER

log = logging.getLogger(__name__)
BLOCK = 256
"""Frames per callback: 11.6 ms at 22.05 kHz, so a cue starts at most one block after its
decision plus the device's output latency."""


class NoAudioDevice(UserError):
    """The sound device cannot be opened (no sounddevice, no PortAudio, no output device)."""


class AudioSink(Protocol):
    started: list[Started]
    description: str

    def play(self, flag: str, buf: np.ndarray) -> None: ...
    def close(self) -> None: ...


class _CallbackSink:
    """What the device and file sinks share: the mixer and the block callback."""

    def __init__(self, *, max_wait_s: float) -> None:
        self.mixer = CueMixer(max_wait_s=max_wait_s)
        self.started = self.mixer.started
        self.underflows = 0
        self._closed = False

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status:
            self.underflows += 1
        n = self.mixer.fill(outdata[:, 0])
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]
        if n:
            self._played(outdata[:, 0])

    def _played(self, block: np.ndarray) -> None:
        """A block holding cue audio went out (the file sink records it)."""

    def play(self, flag: str, buf: np.ndarray) -> None:
        self.mixer.push(flag, buf)

    def _drain(self, *, timeout_s: float = 5.0) -> None:
        deadline = time.perf_counter() + timeout_s
        while self.mixer.busy and time.perf_counter() < deadline:
            time.sleep(0.005)


class SoundDeviceSink(_CallbackSink):
    """An output device through PortAudio (``pip install hipfirst[audio]``); ``device`` is a
    name or index as ``sounddevice`` takes it (None: the default output)."""

    def __init__(
        self,
        *,
        device: int | str | None = None,
        rate_hz: int = RATE_HZ,
        block: int = BLOCK,
        max_wait_s: float = 2.5,
    ) -> None:
        super().__init__(max_wait_s=max_wait_s)
        try:
            import sounddevice as sd
        except (ImportError, OSError) as exc:  # the package, or the PortAudio library
            raise NoAudioDevice(f"no sound device ({exc})") from exc
        stream = None
        try:
            stream = sd.OutputStream(
                device=device, samplerate=rate_hz, channels=1, dtype="float32",
                blocksize=block, latency="low", callback=self._callback,
            )  # fmt: skip
            name = sd.query_devices(stream.device)["name"]
            stream.start()
        except (sd.PortAudioError, ValueError, OSError) as exc:
            if stream is not None:
                stream.close()
            raise NoAudioDevice(f"no sound device ({str(exc).splitlines()[0]})") from exc
        self._stream = stream
        self.description = f"sound device {name!r}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._drain()
        self._stream.stop()
        self._stream.close()


class WavFileSink(_CallbackSink):
    """Writes what would be played to a 16-bit mono WAV, paced like the device; the silence
    between cues is left out (each cue's time is in ``NAME.timing.csv``: when it was
    decided, when it started, and its first frame in the WAV)."""

    def __init__(
        self,
        path: str | Path,
        *,
        rate_hz: int = RATE_HZ,
        block: int = BLOCK,
        max_wait_s: float = 2.5,
    ) -> None:
        super().__init__(max_wait_s=max_wait_s)
        self.path = Path(path)
        self.timing_path = self.path.with_suffix(".timing.csv")
        self.description = f"WAV file {self.path}"
        blocked = next((p for p in self.path.parents if p.exists() and not p.is_dir()), None)
        if blocked is not None:  # mkdir would only say "File exists"
            raise UserError(f"{self.path}: cannot write the cue WAV ({blocked} is a file)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # as --out-dir is made
            self._file = self.path.open("wb")
        except OSError as exc:
            raise UserError(f"{self.path}: cannot write the cue WAV ({exc.strerror})") from exc
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate_hz)
        self.stream = PacedOutputStream(
            samplerate=rate_hz, blocksize=block, callback=self._callback
        )
        self.stream.start()

    def _played(self, block: np.ndarray) -> None:
        self._wav.writeframes((np.clip(block, -1, 1) * 32767).astype("<i2").tobytes())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._drain()  # let queued cues finish
        self.stream.close()
        self._wav.close()
        self._file.close()
        with self.timing_path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(TIMING_HEADER)
            for s in self.started:
                w.writerow(
                    [s.flag, f"{s.decided_s:.6f}", f"{s.playing_s:.6f}", f"{s.latency_ms:.3f}",
                     s.frame]
                )  # fmt: skip
            for flag, decided in self.mixer.dropped:
                w.writerow([flag, f"{decided:.6f}", "", "", ""])


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
        log.info("cue %s (terminal bell)", flag)
        self.started.append(Started(flag, now, time.perf_counter(), len(self.started)))

    def close(self) -> None:
        pass


class NullSink:
    """Cues are decided and counted, never played."""

    def __init__(self) -> None:
        self.started: list[Started] = []
        self.description = "muted"

    def play(self, flag: str, buf: np.ndarray) -> None:
        now = time.perf_counter()
        self.started.append(Started(flag, now, now, len(self.started)))

    def close(self) -> None:
        pass


SINK_KINDS = "auto (sound device, else terminal bell), device, bell, none, file:OUT.wav"


def open_audio_sink(kind: str = "auto", *, device: int | str | None = None) -> AudioSink:
    """The sink named by ``kind`` (see :data:`SINK_KINDS`). Only ``device`` fails when there
    is no sound device (:class:`NoAudioDevice`); ``auto`` falls back to the bell."""
    if kind.startswith("file:") and len(kind) > 5:
        if not kind.lower().endswith(".wav"):  # file:rec.csv replaced a recording by a WAV
            raise UserError(f"audio sink {kind!r}: the cue file's name must end in .wav")
        return WavFileSink(kind[5:])
    if kind == "none":
        return NullSink()
    if kind == "bell":
        return BellSink()
    if kind == "device":
        return SoundDeviceSink(device=device)
    if kind != "auto":
        raise UserError(f"audio sink {kind!r}: expected {SINK_KINDS}")
    try:
        return SoundDeviceSink(device=device)
    except NoAudioDevice as exc:
        log.warning("alerts: %s; cues go to the terminal bell", exc)
        return BellSink(str(exc))
