"""Host-side unwrapping of the wrapping counters in IMU packets (u16 seq, u32 µs)."""

from __future__ import annotations


class Unwrapper:
    """Turns a counter that wraps at ``modulo`` into a monotonic-ish integer.

    Each value is placed at the unwrapped position nearest the previous one, so steps
    up to half the modulo in either direction are recovered: a u16 sequence number
    survives 32767 lost packets, a u32 µs clock 35.8 minutes without a packet.
    """

    __slots__ = ("_last", "modulo")

    def __init__(self, modulo: int) -> None:
        self.modulo = modulo
        self._last: int | None = None

    def __call__(self, value: int) -> int:
        if self._last is None:
            self._last = value
            return value
        delta = (value - self._last) % self.modulo
        if delta >= self.modulo // 2:
            delta -= self.modulo
        self._last += delta
        return self._last

    def reset(self) -> None:
        self._last = None
