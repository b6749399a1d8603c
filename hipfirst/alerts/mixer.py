"""A queue of pre-rendered cues, pulled block by block by an audio callback (thread-safe).

``push`` is the alert's hot path: it only appends a reference to an already rendered buffer
under a lock. ``fill`` runs in the audio callback (PortAudio's thread, or the paced stand-in):
it copies the next ``frames`` samples into the output block and notes, for every cue that
begins in this block, when the block was handed over (:class:`Started`). A cue that waited
longer than ``max_wait_s`` behind others is dropped (:attr:`CueMixer.dropped`) rather than
played late for a rep that is already over.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Started:
    flag: str
    decided_s: float
    """``time.perf_counter()`` when the alert was decided (the cue was queued)."""
    playing_s: float
    """...when the callback handed over the block holding the cue's first sample."""
    frame: int
    """Index of the cue's first sample in everything the sink has played (for a WAV sink:
    the frame in the file)."""

    @property
    def latency_ms(self) -> float:
        return (self.playing_s - self.decided_s) * 1000.0


@dataclass(frozen=True)
class _Queued:
    flag: str
    buf: np.ndarray
    decided_s: float


class CueMixer:
    """Cues play one after another, each exactly as rendered (mono float32)."""

    def __init__(self, *, max_wait_s: float = 2.5) -> None:
        self.max_wait_s = max_wait_s
        self._queue: collections.deque[_Queued] = collections.deque()
        self._cur: _Queued | None = None
        self._pos = 0
        self._lock = threading.Lock()
        self.frames_played = 0
        """Frames of cue audio handed out so far (silent blocks between cues not counted)."""
        self.started: list[Started] = []
        self.dropped: list[tuple[str, float]] = []
        """(flag, decided_s) of cues that waited longer than ``max_wait_s``."""

    def push(self, flag: str, buf: np.ndarray) -> None:
        item = _Queued(flag, buf, time.perf_counter())
        with self._lock:
            self._queue.append(item)

    @property
    def busy(self) -> bool:
        return self._cur is not None or bool(self._queue)

    def fill(self, out: np.ndarray) -> int:
        """Write the next ``len(out)`` samples into ``out`` (zeros where no cue plays).
        Returns how many samples belong to cues (0: the block is silence)."""
        frames = len(out)
        out[:] = 0.0
        i = 0
        now = time.perf_counter()
        with self._lock:
            while i < frames:
                if self._cur is None:
                    if not self._queue:
                        break
                    item = self._queue.popleft()
                    if now - item.decided_s > self.max_wait_s:
                        self.dropped.append((item.flag, item.decided_s))
                        continue
                    self._cur, self._pos = item, 0
                    self.started.append(
                        Started(item.flag, item.decided_s, now, self.frames_played + i)
                    )
                buf = self._cur.buf
                n = min(frames - i, len(buf) - self._pos)
                out[i : i + n] = buf[self._pos : self._pos + n]
                i += n
                self._pos += n
                if self._pos >= len(buf):
                    self._cur = None
            if i:
                # a block that holds cue audio is played whole: the silence after a cue's
                # end inside it counts too, so frame indices match what a recorder keeps
                self.frames_played += frames
        return i
