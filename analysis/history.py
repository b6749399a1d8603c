"""Bounded history of grid signals, addressed by absolute grid index."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class History:
    """The last ``capacity`` grid samples of a few named signals.

    ``extend`` appends a chunk (the whole chunk stays addressable until the next
    ``trim``); ``trim`` forgets everything older than ``capacity`` samples. Storage is a
    preallocated buffer that is compacted only when full, so appending is cheap and
    memory is bounded however long the session runs.
    """

    def __init__(self, names: tuple[str, ...], *, capacity: int) -> None:
        self.names = names
        self.row = {n: i for i, n in enumerate(names)}
        self.capacity = capacity
        self.k0 = 0  # grid index of buffer column 0
        self._buf = np.full((len(names), 2 * capacity + 256), np.nan)
        self._lo = 0  # first valid column
        self._hi = 0  # one past the last valid column

    @property
    def k_end(self) -> int:
        """One past the last stored grid index."""
        return self.k0 + self._hi

    @property
    def k_start(self) -> int:
        return self.k0 + self._lo

    def extend(self, k_first: int, m: int, signals: Mapping[str, np.ndarray]) -> None:
        """Append ``m`` samples: ``signals[name]`` (m,) per name; a name that is absent
        is unknown (NaN)."""
        if self._hi == self._lo:
            self.k0, self._lo, self._hi = k_first, 0, 0
        elif k_first != self.k_end:
            raise ValueError(f"history gap: expected grid index {self.k_end}, got {k_first}")
        if self._hi + m > self._buf.shape[1]:
            keep = self._buf[:, self._lo : self._hi]
            size = max(self._buf.shape[1], 2 * (keep.shape[1] + m))
            if size > self._buf.shape[1]:
                self._buf = np.full((len(self.names), size), np.nan)
            self._buf[:, : keep.shape[1]] = keep
            self.k0 += self._lo
            self._hi -= self._lo
            self._lo = 0
        cols = slice(self._hi, self._hi + m)
        for name, i in self.row.items():
            x = signals.get(name)
            self._buf[i, cols] = np.nan if x is None else x
        self._hi += m

    def trim(self) -> None:
        if self._hi - self._lo > self.capacity:
            self._lo = self._hi - self.capacity
        if self._buf.shape[1] > 4 * (self.capacity + 256) and self._lo > 0:
            keep = self._buf[:, self._lo : self._hi].copy()
            self._buf = np.full((len(self.names), 2 * self.capacity + 256), np.nan)
            self._buf[:, : keep.shape[1]] = keep
            self.k0 += self._lo
            self._hi -= self._lo
            self._lo = 0

    def get(self, name: str, k_from: int, k_to: int) -> np.ndarray:
        """Samples ``k_from <= k < k_to`` (clipped to what is stored); a view."""
        a = min(max(k_from - self.k0, self._lo), self._hi)
        b = min(max(k_to - self.k0, a), self._hi)
        return self._buf[self.row[name], a:b]

    def at(self, name: str, k: int) -> float:
        i = k - self.k0
        if self._lo <= i < self._hi:
            return float(self._buf[self.row[name], i])
        return float("nan")

    def block(self, rows: np.ndarray, k_from: int, k_to: int) -> np.ndarray:
        """Rows ``rows`` for ``k_from <= k < k_to``, shape (len(rows), n); the range must be
        stored (a negative offset would silently wrap to the buffer's end)."""
        a, b = k_from - self.k0, k_to - self.k0
        if a < self._lo or b > self._hi or b < a:
            raise IndexError(f"grid {k_from}..{k_to} not stored ({self.k_start}..{self.k_end})")
        return self._buf[rows, a:b]
