"""One-pole low-pass along the last axis with carried state, in numpy.

``y[n] = α x[n] + (1 − α) y[n − 1]``, the state being ``z = (1 − α) y[−1]``: the same as
``scipy.signal.lfilter([α], [1, α − 1], x, axis=-1, zi=z)`` to rounding (checked in
``tests/test_lowpass.py``). Written out because importing ``scipy.signal`` costs 1-2 s
(it loads ``scipy.stats`` and parses hundreds of docstrings), which every ``hipfirst``
command that runs the pipeline paid at start-up, and because ``lfilter``'s per-call
overhead dominated the live pipeline's short chunks.

How: within blocks of ``BLOCK`` samples the zero-state response is one product with the
filter's lower-triangular Toeplitz matrix ``T[k, n] = α (1 − α)^(n − k)``; the state
entering each block adds ``(1 − α)^n z``. Every term is at most ``α`` in size, so nothing
overflows or cancels. A chunk holding a non-finite value is filtered sample by sample, so
NaN spreads forwards only, as in ``lfilter`` (never back into earlier samples of a block).
"""

from __future__ import annotations

import math

import numpy as np

BLOCK = 64
"""Samples per matrix product (64 × 64 matrix; longer chunks are cut into blocks)."""


class OnePole:
    """The filter for one ``alpha``: ``filter(x, z) -> (y, z)``."""

    def __init__(self, alpha: float) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        self.alpha = alpha
        self.c = c = 1.0 - alpha
        n = np.arange(BLOCK)
        lag = n[None, :] - n[:, None]  # T[k, n]: output n from input k
        self._t = np.where(lag >= 0, alpha * c ** np.maximum(lag, 0), 0.0)
        self._pow = c**n  # (1 − α)^n: how the entering state reaches sample n of a block
        self._c_block = c**BLOCK

    def settled_on(self, x0: np.ndarray) -> np.ndarray:
        """The state of a filter that has sat at ``x0`` (shape (..., 1)) long enough: its
        next output starts from there instead of rising from 0."""
        return self.c * x0

    def filter(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``x`` (..., m), ``z`` (..., 1) -> ``y`` (..., m), the new state (..., 1)."""
        x = np.asarray(x, dtype=float)
        m = x.shape[-1]
        if m == 0:
            return x.copy(), z
        # a finite sum is the cheap proof that every value is finite
        if not math.isfinite(np.add.reduce(x, axis=None)) and not np.isfinite(x).all():
            return self._stepwise(x, z)
        if m <= BLOCK:
            y = x @ self._t[:m, :m]
            y += self._pow[:m] * z
            return y, self.c * y[..., -1:]
        nb = -(-m // BLOCK)
        xp = np.zeros((*x.shape[:-1], nb * BLOCK))
        xp[..., :m] = x
        blocks = xp.reshape(*x.shape[:-1], nb, BLOCK)
        y = blocks @ self._t  # zero-state response of every block
        # the state entering each block, in turn: z_{j+1} = c y_j[last], y_j = y0_j + c^n z_j
        ends = self.c * y[..., -1]  # (..., nb): c × zero-state last output of each block
        zs = np.empty_like(ends)
        cur = z[..., 0]
        for j in range(nb):
            zs[..., j] = cur
            cur = ends[..., j] + self._c_block * cur
        y += zs[..., None] * self._pow
        y = y.reshape(*x.shape[:-1], nb * BLOCK)[..., :m]
        return y, self.c * y[..., -1:]

    def _stepwise(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = np.empty_like(x)
        cur = np.array(z[..., 0], dtype=float)
        for n in range(x.shape[-1]):
            y[..., n] = self.alpha * x[..., n] + cur
            cur = self.c * y[..., n]
        return y, cur[..., None]
