"""Angle channels built from smooth point-to-point movements.

Every joint or segment angle of the simulated lifter is a sum of minimum-jerk transitions
(Flash & Hogan 1985, the profile of smooth voluntary point-to-point movement): each moves
the angle by ``delta_deg`` between ``t0_s`` and ``t0_s + dur_s``. Evaluation touches only
the samples inside each transition, so hour-long sessions stay cheap.
"""

from __future__ import annotations

import numpy as np


def minjerk(tau: np.ndarray) -> np.ndarray:
    """Normalised minimum-jerk position, 0 at tau <= 0 and 1 at tau >= 1."""
    x = np.clip(tau, 0.0, 1.0)
    return x * x * x * (10.0 - 15.0 * x + 6.0 * x * x)


class Channel:
    """A piecewise-smooth angle: a constant plus a list of min-jerk transitions."""

    def __init__(self, base_deg: float = 0.0) -> None:
        self.base_deg = base_deg
        self._moves: list[tuple[float, float, float]] = []

    def move(self, *, t0_s: float, dur_s: float, delta_deg: float) -> None:
        if dur_s <= 0:
            raise ValueError("a transition needs a positive duration")
        if delta_deg:
            self._moves.append((t0_s, dur_s, delta_deg))

    @property
    def moves(self) -> list[tuple[float, float, float]]:
        return list(self._moves)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Angle at the (sorted) times ``t``."""
        t = np.asarray(t, dtype=float)
        out = np.full(t.shape, self.base_deg)
        if not self._moves:
            return out
        m = np.asarray(self._moves)
        ends = m[:, 0] + m[:, 1]
        order = np.argsort(ends)
        done = np.concatenate([[0.0], np.cumsum(m[order, 2])])
        out += done[np.searchsorted(ends[order], t, side="right")]
        lo = np.searchsorted(t, m[:, 0], side="right")
        hi = np.searchsorted(t, ends, side="right")
        for (t0, dur, delta), a, b in zip(self._moves, lo, hi, strict=True):
            if b > a:
                out[a:b] += delta * minjerk((t[a:b] - t0) / dur)
        return out


class Sway:
    """Smooth random wobble: a few slow sinusoids (postural sway, out-of-plane rocking)."""

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        amp_deg: float,
        f_lo_hz: float = 0.1,
        f_hi_hz: float = 0.6,
        parts: int = 3,
    ) -> None:
        self.f = rng.uniform(f_lo_hz, f_hi_hz, parts)
        self.phase = rng.uniform(0, 2 * np.pi, parts)
        self.amp = amp_deg / np.sqrt(parts) * rng.uniform(0.6, 1.4, parts)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros(t.shape)
        for f, p, a in zip(self.f, self.phase, self.amp, strict=True):
            out += a * np.sin(2 * np.pi * f * t + p)
        return out
