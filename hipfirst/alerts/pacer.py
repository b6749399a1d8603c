"""A stand-in for ``sounddevice.OutputStream`` where PortAudio cannot run (no library, no
device, CI): a thread that wakes every block period and calls the same callback, with the
same arguments, that PortAudio would call.

It keeps PortAudio's contract where it matters for cue latency: blocks of ``blocksize``
frames at ``samplerate``, one call per block period on a fixed schedule (not "sleep a
period after the last call", which drifts), a ``(frames, channels)`` float32 ``outdata`` the
callback fills in place, and a status that reports an output underflow when the thread woke
more than a block late (the audio a device would have glitched). What it lacks is the
device's own output latency after the callback (DAC buffer), which no software stand-in has.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BlockTime:
    """Like PortAudio's ``time`` argument (seconds on ``time.perf_counter``'s clock)."""

    currentTime: float  # PortAudio's field names
    outputBufferDacTime: float


@dataclass(frozen=True)
class BlockStatus:
    """Like ``sounddevice.CallbackFlags``: falsy unless something went wrong."""

    output_underflow: bool = False

    def __bool__(self) -> bool:
        return self.output_underflow


Callback = Callable[[np.ndarray, int, BlockTime, BlockStatus], None]


class PacedOutputStream:
    """``start`` / ``stop`` / ``close`` as on ``sounddevice.OutputStream``."""

    def __init__(
        self, *, samplerate: int, blocksize: int, channels: int = 1, callback: Callback
    ) -> None:
        self.samplerate = samplerate
        self.blocksize = blocksize
        self.channels = channels
        self.period_s = blocksize / samplerate
        self._callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.blocks = 0
        self.underflows = 0
        self.wake_late_s: collections.deque[float] = collections.deque(maxlen=100_000)
        """How late each recent wake-up was against the schedule (for the bench)."""

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="paced-audio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        out = np.zeros((self.blocksize, self.channels), dtype=np.float32)
        due = time.perf_counter() + self.period_s
        while not self._stop.is_set():
            delay = due - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
                if self._stop.is_set():
                    break
            now = time.perf_counter()
            late = now - due
            self.wake_late_s.append(late)
            status = BlockStatus(output_underflow=late > self.period_s)
            if status:
                self.underflows += 1
                due = now  # PortAudio restarts its schedule after an underflow
            self._callback(out, self.blocksize, BlockTime(now, now + self.period_s), status)
            self.blocks += 1
            due += self.period_s

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self.stop()
