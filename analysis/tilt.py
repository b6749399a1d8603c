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
``axis_establish_s``, nor moved less but always about one axis: ``axis_consistent_weight``
and ``axis_consistent_ratio``) the tilt is the unsigned excursion angle, taken as positive
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
        axis_consistent_weight: float = np.inf,
        axis_consistent_ratio: float = np.inf,
    ) -> None:
        self.signs = np.asarray(signs, dtype=float)
        s = len(self.signs)
        self.every = max(1, round(axis_update_s * grid_hz))
        self.sin_min = float(np.sin(np.radians(axis_min_deg)))
        self.sin_est = float(np.sin(np.radians(axis_establish_deg)))
        self.n_est = max(1, round(axis_establish_s * grid_hz))
        self.consistent_weight = axis_consistent_weight
        self.consistent_ratio = axis_consistent_ratio
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
        # u0 × u (``take`` is the fast gather; ndarray reductions without their wrappers)
        c = u0.take(_Y, axis=2) * u.take(_Z, axis=2) - u0.take(_Z, axis=2) * u.take(_Y, axis=2)
        cosang = _sum(u0 * u, axis=2)
        sinang = np.sqrt(_sum(c * c, axis=2))
        vote = sinang > self.sin_min  # NaN compares False
        # refresh points inside this chunk: after local index j where (k0 + j + 1) % every == 0
        k0 = self._k
        self._k = k0 + m
        first_end = self.every - k0 % self.every - 1
        if _any(vote, axis=None):
            w = self._sign_weights(sinang, vote)
            cw = np.where(vote[..., None], c, 0.0)
        else:  # nothing votes: no weights, and every vote vector is zero
            w = self._no_votes()
            cw = None
        if first_end >= m:  # fast path: one axis for the whole chunk
            if cw is not None:
                self._accumulate(cw, w, sinang > self.sin_est)
            ax = self.axis[:, None, :]
            if self._all_trusted:
                return np.arctan2(_sum(ax * c, axis=2), cosang) * self._scale
            ax = np.broadcast_to(ax, (s, m, 3))
        else:
            if cw is None:
                cw = np.zeros_like(c)
            ax = self._refresh(cw, w, sinang > self.sin_est, first_end, m)
            self._all_trusted = bool(np.isfinite(self.axis).all())
        signed = np.arctan2((ax * c).sum(axis=2), cosang)
        unsigned = np.arctan2(sinang, cosang)
        ang = np.where(np.isfinite(ax[..., 0]), signed, unsigned)
        return ang * self._scale

    def _sign_weights(self, sinang: np.ndarray, vote: np.ndarray) -> np.ndarray:
        """Per-sample weights ``w`` (S, m) of the sign votes ``w c``: the growth of the running
        peak of ``|c|`` within its excursion over ``|c|`` (zero while an excursion holds or
        returns, and where nothing votes), so each excursion's votes add up to its direction
        ``c/|c|`` times (peak − threshold). The running peak
        restarts at every excursion: offsetting run ``r`` by ``2 r`` (``|c|`` ≤ 1) lets one
        cumulative maximum over the chunk do all runs; the run under way at the chunk's end
        carries over, so any chunking gives the same votes."""
        if vote.size <= _SMALL:
            return self._sign_weights_small(sinang, vote)
        start = np.where(self._in_run, self._peak, self.sin_min + 2.0)
        prev = np.empty_like(vote)
        prev[:, 0] = self._in_run
        prev[:, 1:] = vote[:, :-1]
        off = 2.0 * np.cumsum(vote > prev, axis=1)  # run 0 = the excursion carried in
        val = np.where(vote, sinang, self.sin_min + 2.0) + off
        peak = np.maximum(np.maximum.accumulate(val, axis=1), start[:, None])
        grow = np.empty_like(peak)
        grow[:, 0] = peak[:, 0] - start
        grow[:, 1:] = peak[:, 1:] - peak[:, :-1]
        self._in_run = vote[:, -1].copy()
        self._peak = np.where(self._in_run, peak[:, -1] - off[:, -1], self.sin_min)
        return np.where(vote, grow / np.maximum(sinang, self.sin_min), 0.0)  # NaN stays NaN

    def _sign_weights_small(self, sinang: np.ndarray, vote: np.ndarray) -> np.ndarray:
        """``_sign_weights`` for a few samples (live packets): plain loops beat a dozen
        numpy calls there; the same arithmetic up to rounding."""
        lo = self.sin_min
        runs, peaks = self._in_run.tolist(), self._peak.tolist()
        out = []
        for i, (xs, vs) in enumerate(zip(sinang.tolist(), vote.tolist(), strict=True)):
            in_run, p = runs[i], peaks[i]
            row = [0.0] * len(xs)
            for j, (x, v) in enumerate(zip(xs, vs, strict=True)):
                if not v:
                    in_run, p = False, lo
                    continue
                if not in_run:
                    in_run, p = True, lo
                if x > p:
                    row[j] = (x - p) / x
                    p = x
            runs[i], peaks[i] = in_run, (p if in_run else lo)
            out.append(row)
        self._in_run = np.array(runs, dtype=bool)
        self._peak = np.array(peaks)
        return np.array(out)

    def _no_votes(self) -> None:
        """A chunk where nothing votes: every excursion has ended."""
        self._in_run[:] = False
        self._peak[:] = self.sin_min

    def _accumulate(self, cw: np.ndarray, w: np.ndarray | None, big: np.ndarray) -> None:
        if w is None:  # nothing voted (and nothing beyond ``axis_establish_deg`` either)
            return
        self.M = self.M + np.matmul(cw.transpose(0, 2, 1), cw)  # Σ c cᵀ
        self.votes = self.votes + np.matmul(w[:, None, :], cw)[:, 0]  # Σ w c
        self.n_big = self.n_big + big.sum(axis=1)

    def _refresh(
        self, cw: np.ndarray, w: np.ndarray | None, big: np.ndarray, first_end: int, m: int
    ) -> np.ndarray:
        """Axis per sample for a chunk with refresh points; updates the state."""
        ends = np.arange(first_end, m, self.every)
        outer = cw[:, :, :, None] * cw[:, :, None, :]
        cum_m = self.M[:, None] + np.cumsum(outer, axis=1).take(ends, axis=1)
        sv = cw * w[..., None] if w is not None else np.zeros_like(cw)
        cum_v = self.votes[:, None] + np.cumsum(sv, axis=1).take(ends, axis=1)
        cum_b = self.n_big[:, None] + np.cumsum(big, axis=1).take(ends, axis=1)
        lam, vecs = np.linalg.eigh(cum_m)  # ascending eigenvalues
        a = vecs[..., 2]  # (S, R, 3)
        sgn = np.sign(_sum(a * cum_v, axis=2))
        sgn[sgn == 0] = 1.0
        a = a * sgn[..., None]
        consistent = (lam[..., 2] >= self.consistent_weight) & (
            lam[..., 2] / self.consistent_ratio >= lam[..., 1]
        )
        a[(cum_b < self.n_est) & ~consistent] = np.nan
        axes = np.concatenate([self.axis[:, None, :], a], axis=1)  # (S, R + 1, 3)
        seg = np.searchsorted(ends, np.arange(m), side="left")
        last = int(ends[-1])
        self.M, self.votes, self.n_big = cum_m[:, -1], cum_v[:, -1], cum_b[:, -1]
        self.axis = a[:, -1]
        if last + 1 < m:
            rest_w = None if w is None else w[:, last + 1 :]
            self._accumulate(cw[:, last + 1 :], rest_w, big[:, last + 1 :])
        return axes.take(seg, axis=1)


_SMALL = 96
"""Chunks of at most this many sensor-samples take the loop in ``_sign_weights_small``."""
_sum = np.add.reduce
_any = np.logical_or.reduce
_Y = np.array([1, 2, 0])
_Z = np.array([2, 0, 1])
