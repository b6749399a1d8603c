"""Signed sagittal tilt of each segment, with the flexion axis learned from the movement.

A sensor can sit in any orientation, so its flexion axis is unknown in its own frame.
Every excursion of the up vector ``u`` away from neutral ``u0`` rotates it about
``c = u0 × u`` (``|c| = sin`` of the excursion). Excursions beyond ``axis_min_deg`` vote
with ``c cᵀ``; the axis is the principal direction of the accumulated votes (a line, so
flexion and extension agree), and its sign makes the DOMINANT excursion a positive
rotation. For the sign every excursion (a run of samples beyond ``axis_min_deg``) votes
once, in its direction ``c/|c|``, weighted by how far it went (the growth of its running
peak of ``|c|``), not by how long it was held: a held offset (a sensor that slipped on its
segment and is not re-anchored yet, a long standing rest off neutral) counts like one
movement of that size, where a per-sample sum let 10 s of a 12° thigh slip outvote every
hinge before it and flip the thigh's sign. The axis is refreshed every
``axis_update_s`` of grid time and used for the samples after the refresh (causal, and the
refresh instants depend only on the grid index, so any chunking gives the same result).

Tilt = rotation of ``u`` about the axis relative to ``u0``: ``atan2(a·c, u0·u)``, which
is the angle of ``u`` projected onto the sagittal plane, so sideways sway barely leaks.
Before the axis is trusted (the segment has not yet moved ``axis_establish_deg`` for
``axis_establish_s``) the tilt is the unsigned excursion angle, taken as positive
(dominant direction). Standing sway then reads as a small positive tilt, which is why
offline review runs twice, seeding the second pass with the axes the first one learned
(:meth:`AxisTilt.seed`); live, the axes come from practice hinges when there are any.

Segment signs (DOMAIN.md): trunk and pelvis lean forward in every hinge, so their
dominant excursion is positive (``sign=+1``); the thigh's top moves back, so its
dominant excursion is negative (``sign=-1``).
"""

from __future__ import annotations

import numpy as np

SEGMENT_SIGN: dict[str, float] = {"lumbar": 1.0, "sacrum": 1.0, "thigh": -1.0}
SEED_SIGN_PER_WEIGHT = 0.02
"""A seeded axis's sign counts like ``weight / 25`` excursions to 30° (sin 30° = 0.5): with
the default weight one clear hinge of the trunk, ~6 of the thigh (8° each)."""


class AxisTilt:
    def __init__(
        self,
        signs: np.ndarray,
        *,
        grid_hz: float,
        axis_min_deg: float,
        axis_establish_deg: float,
        axis_establish_s: float,
        axis_update_s: float,
    ) -> None:
        self.signs = np.asarray(signs, dtype=float)
        s = len(self.signs)
        self.every = max(1, round(axis_update_s * grid_hz))
        self.sin_min = float(np.sin(np.radians(axis_min_deg)))
        self.sin_est = float(np.sin(np.radians(axis_establish_deg)))
        self.n_est = max(1, round(axis_establish_s * grid_hz))
        self._k = 0  # grid samples seen
        self.M = np.zeros((s, 3, 3))
        self.votes = np.zeros((s, 3))
        """Sign votes: per excursion, its direction times the growth of its peak ``|c|``."""
        self._peak = np.full(s, self.sin_min)  # running peak |c| of the excursion under way
        self._in_run = np.zeros(s, dtype=bool)  # an excursion is under way at the chunk end
        self.n_big = np.zeros(s)
        self.axis = np.full((s, 3), np.nan)
        """Current flexion axis per sensor in its own frame (NaN until trusted)."""
        self._all_trusted = False
        self._scale = np.degrees(self.signs)[:, None]

    def seed(self, axes: np.ndarray, *, weight: float = 25.0) -> None:
        """Start from known axes (``(S, 3)`` unit vectors in each sensor's frame; NaN rows
        stay unknown), e.g. learned from practice hinges or a first pass over a recording.
        They count like ``weight`` (≈ 1 s at 30° of excursion) of axis votes, and their sign
        like ``weight / 25`` excursions to 30°; the movement that follows refines both."""
        a = np.asarray(axes, dtype=float).reshape(self.axis.shape)
        ok = np.isfinite(a).all(axis=1)
        for i in np.flatnonzero(ok):
            v = a[i] / np.linalg.norm(a[i])
            self.M[i] += weight * np.outer(v, v)
            self.votes[i] += SEED_SIGN_PER_WEIGHT * weight * v
            self.n_big[i] = max(self.n_big[i], self.n_est)
            self.axis[i] = v
        self._all_trusted = bool(np.isfinite(self.axis).all())

    @property
    def established(self) -> np.ndarray:
        return np.isfinite(self.axis[:, 0])

    def update(self, up: np.ndarray, u0: np.ndarray) -> np.ndarray:
        """``up``, ``u0``: (S, m, 3) -> tilt (S, m) in degrees (NaN where ``u0`` is NaN)."""
        s, m, _ = up.shape
        if m == 0:
            return np.zeros((s, 0))
        # every formula below is invariant to |u| (atan2 of two terms scaling alike), and
        # grid up vectors are interpolated unit vectors, so no normalisation is needed
        u = up
        c = u0[..., _Y] * u[..., _Z] - u0[..., _Z] * u[..., _Y]  # u0 × u
        cosang = (u0 * u).sum(axis=2)
        sinang = np.sqrt((c * c).sum(axis=2))
        vote = sinang > self.sin_min  # NaN compares False
        big = sinang > self.sin_est
        cw = np.where(vote[..., None], c, 0.0)
        sv = self._sign_votes(cw, sinang, vote)
        # refresh points inside this chunk: after local index j where (k0 + j + 1) % every == 0
        k0 = self._k
        self._k = k0 + m
        first_end = self.every - k0 % self.every - 1
        if first_end >= m:  # fast path: one axis for the whole chunk
            self._accumulate(cw, sv, big)
            ax = self.axis[:, None, :]
            if self._all_trusted:
                return np.arctan2((ax * c).sum(axis=2), cosang) * self._scale
            ax = np.broadcast_to(ax, (s, m, 3))
        else:
            ax = self._refresh(cw, sv, big, first_end, m)
            self._all_trusted = bool(np.isfinite(self.axis).all())
        signed = np.arctan2((ax * c).sum(axis=2), cosang)
        unsigned = np.arctan2(sinang, cosang)
        ang = np.where(np.isfinite(ax[..., 0]), signed, unsigned)
        return ang * self._scale

    def _sign_votes(self, cw: np.ndarray, sinang: np.ndarray, vote: np.ndarray) -> np.ndarray:
        """Per-sample sign votes ``(S, m, 3)`` from the voting ``c`` (``cw``, zero elsewhere):
        ``c/|c|`` times the growth of the running peak
        of ``|c|`` within its excursion (zero while an excursion holds or returns), so each
        excursion's votes add up to its direction times (peak − threshold). The running peak
        restarts at every excursion: offsetting run ``r`` by ``2 r`` (``|c|`` ≤ 1) lets one
        cumulative maximum over the chunk do all runs; the run under way at the chunk's end
        carries over, so any chunking gives the same votes."""
        prev = np.concatenate([self._in_run[:, None], vote[:, :-1]], axis=1)
        run = np.cumsum(vote & ~prev, axis=1)  # 0 = the excursion carried in
        off = 2.0 * run
        val = np.where(vote, sinang + off, self.sin_min + off + 2.0)
        start = np.where(self._in_run, self._peak, self.sin_min + 2.0)
        peak = np.maximum.accumulate(np.concatenate([start[:, None], val], axis=1), axis=1)
        grow = np.where(vote, np.diff(peak, axis=1), 0.0)
        self._in_run = vote[:, -1].copy()
        self._peak = np.where(self._in_run, peak[:, -1] - off[:, -1], self.sin_min)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(vote, grow / sinang, 0.0)
        return cw * w[..., None]

    def _accumulate(self, cw: np.ndarray, sv: np.ndarray, big: np.ndarray) -> None:
        self.M = self.M + (cw[:, :, :, None] * cw[:, :, None, :]).sum(axis=1)
        self.votes = self.votes + sv.sum(axis=1)
        self.n_big = self.n_big + big.sum(axis=1)

    def _refresh(
        self, cw: np.ndarray, sv: np.ndarray, big: np.ndarray, first_end: int, m: int
    ) -> np.ndarray:
        """Axis per sample for a chunk with refresh points; updates the state."""
        ends = np.arange(first_end, m, self.every)
        outer = cw[:, :, :, None] * cw[:, :, None, :]
        cum_m = self.M[:, None] + np.cumsum(outer, axis=1)[:, ends]
        cum_v = self.votes[:, None] + np.cumsum(sv, axis=1)[:, ends]
        cum_b = self.n_big[:, None] + np.cumsum(big, axis=1)[:, ends]
        _, vecs = np.linalg.eigh(cum_m)  # ascending eigenvalues
        a = vecs[..., 2]  # (S, R, 3)
        sgn = np.sign((a * cum_v).sum(axis=2))
        sgn[sgn == 0] = 1.0
        a = a * sgn[..., None]
        a[cum_b < self.n_est] = np.nan
        axes = np.concatenate([self.axis[:, None, :], a], axis=1)  # (S, R + 1, 3)
        seg = np.searchsorted(ends, np.arange(m), side="left")
        last = int(ends[-1])
        self.M, self.votes, self.n_big = cum_m[:, -1], cum_v[:, -1], cum_b[:, -1]
        self.axis = a[:, -1]
        if last + 1 < m:
            self._accumulate(cw[:, last + 1 :], sv[:, last + 1 :], big[:, last + 1 :])
        return axes[:, seg]


_Y = np.array([1, 2, 0])
_Z = np.array([2, 0, 1])
