"""Streaming rep segmentation: a dual-threshold detector with duration limits.

Works on the rep signal (hip flexion, or a proxy) on the grid, like kineticstoolkit's
``detect_cycles``: a rep is entered when the signal rises above ``enter_deg``; its bottom
is announced once the signal has come back ``bottom_margin_deg`` from its deepest point
(it may still go deeper, then the bottom moves); it is exited when the signal falls
below ``exit_deg``. Reps shorter than ``min_s`` or longer than ``max_s`` (enter to exit)
are discarded. Only threshold crossings are handled in Python, so a whole session is
processed in a few vectorised steps, and any chunking gives the same events.

Events are ``RepEvent``s with absolute grid indices; the rep start and end times
(leaving and reaching the top) are refined by the caller from the signal history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.arrays import first_true, nanargmax

IDLE, DOWN, UP, SKIP = 0, 1, 2, 3


@dataclass(frozen=True)
class RepEvent:
    kind: str
    """``"start"``, ``"bottom"``, ``"end"`` (a valid rep) or ``"discard"``."""
    k: int
    """Grid index of the sample that triggered the event."""
    enter_k: int
    peak_k: int
    peak: float


class RepDetector:
    def __init__(
        self,
        *,
        grid_hz: float,
        enter_deg: float,
        exit_deg: float,
        bottom_margin_deg: float,
        min_s: float,
        max_s: float,
    ) -> None:
        if exit_deg >= enter_deg:
            raise ValueError("exit_deg must be below enter_deg")
        self.enter = enter_deg
        self.exit = exit_deg
        self.margin = bottom_margin_deg
        self.min_n = round(min_s * grid_hz)
        self.max_n = round(max_s * grid_hz)
        self.phase = IDLE
        self.enter_k = -1
        self.peak = -np.inf
        self.peak_k = -1
        self._bottom_sent = False

    def update(self, k0: int, r: np.ndarray) -> list[RepEvent]:
        """Feed grid samples ``r`` whose first has grid index ``k0``."""
        ev: list[RepEvent] = []
        m = len(r)
        j = 0
        while j < m:
            seg = r[j:]
            if self.phase in (IDLE, SKIP):
                hit = (seg > self.enter) if self.phase == IDLE else (seg < self.exit)
                i = first_true(hit)
                if i < 0:
                    return ev
                if self.phase == SKIP:
                    self.phase = IDLE
                    j += i + 1
                    continue
                self.phase = DOWN
                self.enter_k = k0 + j + i
                self.peak, self.peak_k = float(seg[i]), self.enter_k
                self._bottom_sent = False
                ev.append(RepEvent("start", self.enter_k, self.enter_k, self.peak_k, self.peak))
                j += i + 1
                continue
            # DOWN or UP: the deepest point so far, and the timeout. A sample past ``left``
            # can only time the rep out, so the search stops there
            left = self.max_n - (k0 + j - self.enter_k)
            i = self._first_turn(seg[: max(left + 1, 0)])
            limit = i if i >= 0 else len(seg)
            if left < limit:  # too long: give up on this rep
                self.phase = SKIP
                ev.append(
                    RepEvent("discard", k0 + j + max(left, 0), self.enter_k, self.peak_k, self.peak)
                )
                j += max(left, 0) + 1
                continue
            if i < 0:
                self._take_peak(k0 + j, seg, len(seg))
                return ev
            if self.phase == DOWN:
                self._take_peak(k0 + j, seg, i)
                self.phase = UP
                if not self._bottom_sent:
                    self._bottom_sent = True
                    ev.append(RepEvent("bottom", k0 + j + i, self.enter_k, self.peak_k, self.peak))
                j += i  # the same sample may also end the rep
            elif seg[i] > self.peak:  # deeper again: the bottom moves
                self.phase = DOWN
                j += i
            else:
                k = k0 + j + i
                kind = "end" if k - self.enter_k >= self.min_n else "discard"
                ev.append(RepEvent(kind, k, self.enter_k, self.peak_k, self.peak))
                self.phase = IDLE
                j += i + 1
        return ev

    def _first_turn(self, seg: np.ndarray) -> int:
        """First sample of ``seg`` that ends the DOWN phase (``bottom_margin_deg`` back from
        the deepest point so far) or the UP phase (below the exit threshold, or deeper than
        the peak), or -1. Searched in growing windows: a rep costs what its own samples
        do, not what the rest of the chunk does."""
        peak = self.peak
        a, n = 0, 256
        while a < len(seg):
            part = seg[a : a + n]
            if self.phase == DOWN:
                run = np.fmax.accumulate(np.concatenate(([peak], part)))[1:]
                hit = part < run - self.margin
                peak = run[-1]
            else:
                hit = (part < self.exit) | (part > self.peak)
            i = first_true(hit)
            if i >= 0:
                return a + i
            a, n = a + n, 2 * n
        return -1

    def _take_peak(self, kbase: int, seg: np.ndarray, n: int) -> None:
        if n <= 0:
            return
        part = seg[:n]
        a = nanargmax(part)
        if a < 0:
            return
        if part[a] > self.peak:
            self.peak, self.peak_k = float(part[a]), kbase + a
