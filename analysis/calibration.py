"""Neutral posture: no special pose, just the first stretch of standing still.

Neutral is the first stretch of ``neutral_s`` (2 s) on the common grid where every sensor
is still; each sensor's neutral up vector ``u0`` is the mean up vector over it.

Re-anchoring policy (``reanchor``): every later completed still stretch of ``neutral_s``
(a rest between sets, or the first one continuing) replaces ``u0`` of all sensors by that
stretch's mean, but only if every sensor's mean lies within ``reanchor_max_deg`` of its
ORIGINAL neutral. That removes slow drift (clip creep, estimator drift) while a held
hinge, a seated rest or a different stance can never become the new zero, and the
accumulated correction stays bounded by ``reanchor_max_deg``.

A slipped sensor (``slip_max_deg``, ``slip_confirm_s``): when exactly one sensor's mean is
farther than ``reanchor_max_deg`` from its original neutral (but within ``slip_max_deg``)
while every other sensor is within ``reanchor_max_deg`` of its own, the lifter stands as
at the start and that one sensor has turned on its segment (a clip knocked in a rest).
Once that holds for ``slip_confirm_s`` of one uninterrupted still stretch (consecutive
windows), every neutral is re-set to the newest window's mean: the slipped sensor's to
its new mounting, the others' as an ordinary re-anchor (they are within
``reanchor_max_deg``; without it they lost all drift correction after a slip, measured:
hip error 1.5° instead of 0.5° after a lumbar slip). Such stretches stay ``False`` in
``anchors`` (the stance check failed, and the set-up flow names the slipped sensor from
the tilts); ``slips`` logs each slip. Without this the slipped sensor read its slip as a
held tilt for the rest of the session (hip or lumbar angle off by the slip) and, before
``AxisTilt`` counted a held excursion once, 10 s of it outvoted the hinges and flipped the
axis sign. The wait keeps a briefly held one-segment posture (a shift of weight) from
becoming a zero, and keeps the offset visible for the first 10 s of a still rest, so the
set-up flow (which checks the tilts ``rest_s`` = 8 s after the last rep) still names the
slipped sensor. The original neutral stays the reference, so standing as at the start
again (sensor re-clipped) is an ordinary accepted re-anchor. What this cannot tell from a
slip: one segment alone held off its neutral, perfectly still, for 10 s of a rest
(standing slouched, one knee bent); it is then that sensor's zero until the next rest in
the starting stance.

Every later still window is also logged by posture (``postures``, ``analysis/stance.py``):
whether the first still posture was standing can only be judged from where the lifter
comes to rest later (a set begun in its held hinge makes the hinge the neutral). Offline
review then re-runs with a neutral given from the first sample (``seed``).

A re-anchor is blended in over ``ramp_s`` (normalised linear interpolation from the
neutral in use to the new one), not stepped: stillness is only known with the lag of its
low-pass, so a window can complete just as the next rep starts, and a step of a few
tenths of a degree there looked like the start of the movement (measured: it delayed
live lumbar-first alerts by up to 170 ms). The first neutral applies at once.
"""

from __future__ import annotations

import numpy as np

from analysis.stance import PostureLog


class NeutralFinder:
    def __init__(
        self,
        n_sensors: int,
        *,
        grid_hz: float,
        neutral_s: float,
        reanchor: bool,
        reanchor_max_deg: float,
        ramp_s: float = 1.0,
        slip_max_deg: float = 30.0,
        slip_confirm_s: float = 10.0,
    ) -> None:
        self.n_win = max(1, round(neutral_s * grid_hz))
        self.ramp_n = max(1, round(ramp_s * grid_hz))
        self._ramp_from: np.ndarray | None = None  # (S, 3) neutral the ramp started from
        self._ramp_pos = 0  # ramp samples done; the ramp ends at ``ramp_n``
        self.reanchor = reanchor
        self.cos_max = float(np.cos(np.radians(reanchor_max_deg)))
        self.cos_slip = float(np.cos(np.radians(slip_max_deg)))
        self.slip_windows = max(1, int(np.ceil(slip_confirm_s / neutral_s - 1e-9)))
        self._slip_seen: tuple[int, int] | None = None  # (sensor, windows in a row)
        self._s = n_sensors
        self._run = 0  # consecutive all-still samples up to now
        self._hist = np.zeros((n_sensors, 0, 3))
        self.u0: np.ndarray | None = None  # (S, 3), current neutral
        self.u0_original: np.ndarray | None = None
        self.anchors: list[tuple[float, bool]] = []
        """(time_s, accepted) for the first neutral and every later candidate."""
        self.slips: list[tuple[float, int, float]] = []
        """(time_s, sensor index, degrees it turned) for every confirmed slip of one sensor
        (see the module doc); later re-sets that follow the same held slip (less than
        ``reanchor_max_deg`` from the neutral in use) are not logged."""
        self._sensor_run = np.zeros(n_sensors, dtype=int)
        self.sensor_best_run = np.zeros(n_sensors, dtype=int)
        """Longest still stretch per sensor (grid samples), tracked until neutral is found."""
        self._views: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.postures = PostureLog(n_sensors, window_s=self.n_win / grid_hz)
        """Every later still window, for the check that the neutral was standing
        (``analysis/stance.py``; needs ``reanchor``, which keeps the windows coming)."""

    @property
    def found(self) -> bool:
        return self.u0 is not None

    def seed(self, u0: np.ndarray, time_s: float) -> None:
        """Use ``u0`` (``(S, 3)`` unit vectors) as the neutral from the first sample on,
        instead of searching one (offline review, when the first still posture was not
        standing and a later one was: ``analysis/stance.py``). ``time_s``: when that
        posture was seen, for the record (``anchors``). Later still windows re-anchor
        against it as against a found neutral."""
        u = np.array(u0, dtype=float).reshape(self._s, 3)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        self.u0_original = u
        self.u0 = u
        self.anchors.append((float(time_s), True))
        self.postures.start(float(time_s), u, held=False)

    def update(self, time_s: np.ndarray, up: np.ndarray, still: np.ndarray) -> np.ndarray:
        """``up`` (S, m, 3) unit vectors, ``still`` (S, m) bools -> u0 per sample (S, m, 3).

        Samples before the neutral is known get NaN. A new anchor applies from the sample
        that completes its window onward.
        """
        m = up.shape[1]
        all_still = np.logical_and.reduce(still, axis=0)
        if self.u0 is not None and self._ramp_from is None:
            # fast paths: nothing anchors in this chunk, so the neutral in use holds throughout
            if not self.reanchor:
                return self._held(m)
            if m <= _SMALL:  # a few samples: follow the still run in plain ints
                run, n = self._run, self.n_win
                for flag in all_still.tolist():
                    run = run + 1 if flag else 0
                    if run >= n and run % n == 0:
                        break  # a window completes: the general path below
                else:
                    self._run = run
                    self._hist = np.concatenate([self._hist, up], axis=1)[:, -n:]
                    if self.postures.watching():
                        self.postures.moved(up)
                    return self._held(m)
            elif self._run == 0 and not all_still.any():
                self._hist = np.concatenate([self._hist, up], axis=1)[:, -self.n_win :]
                if self.postures.watching():
                    self.postures.moved(up)
                return self._held(m)
        out = np.full((self._s, m, 3), np.nan)
        if m == 0:
            return out
        if not self.found:
            self._track_sensors(still)
        run = _run_lengths(all_still, self._run)
        self._run = int(run[-1])
        hits = np.flatnonzero((run >= self.n_win) & (run % self.n_win == 0))
        if len(hits) and (self.found and not self.reanchor):
            hits = hits[:0]
        hist = np.concatenate([self._hist, up], axis=1)
        off = self._hist.shape[1]
        seg_start = 0
        for h in hits:
            self._fill(out, seg_start, h)
            win = hist[:, off + h + 1 - self.n_win : off + h + 1]
            mean = win.mean(axis=1)
            mean /= np.linalg.norm(mean, axis=1, keepdims=True)
            if self.u0_original is None:
                self.u0_original = mean
                self.u0 = mean
                self.anchors.append((float(time_s[h]), True))
                self.postures.start(float(time_s[h]), mean, held=True)
            else:
                self.postures.moved(up[:, seg_start : h + 1])
                self.postures.add(float(time_s[h]), mean, new_run=bool(run[h] == self.n_win))
                cos = (mean * self.u0_original).sum(axis=1)
                near = cos >= self.cos_max
                ok = bool(near.all())
                if ok:
                    self._slip_seen = None
                    self._start_ramp(mean)
                else:
                    self._slipped(float(time_s[h]), mean, cos, near, first=run[h] == self.n_win)
                self.anchors.append((float(time_s[h]), ok))
            seg_start = h
        if self.found:
            self.postures.moved(up[:, seg_start:])
        self._fill(out, seg_start, m)
        self._hist = hist[:, -self.n_win :] if self.reanchor or not self.found else hist[:, :0]
        return out

    def _held(self, m: int) -> np.ndarray:
        """``u0`` for each of ``m`` samples: a read-only view, kept while ``u0`` stays."""
        view = self._views.get(m)
        if view is None or view[0] is not self.u0:
            assert self.u0 is not None
            if len(self._views) > 16:
                self._views.clear()
            view = self._views[m] = (self.u0, np.broadcast_to(self.u0[:, None, :], (self._s, m, 3)))
        return view[1]

    def _slipped(
        self, t: float, mean: np.ndarray, cos: np.ndarray, near: np.ndarray, *, first: bool
    ) -> None:
        """A refused window: count it towards a slip of the one sensor that is off, and
        re-set the neutrals once the slip has held ``slip_windows`` windows."""
        off = np.flatnonzero(~near)
        if self._s < 2 or len(off) != 1 or cos[off[0]] < self.cos_slip:
            self._slip_seen = None
            return
        i = int(off[0])
        seen = self._slip_seen
        n = seen[1] + 1 if seen is not None and seen[0] == i and not first else 1
        self._slip_seen = (i, n)
        if n < self.slip_windows:
            return
        assert self.u0 is not None
        if float(mean[i] @ self.u0[i]) < self.cos_max:  # a new slip, not the held one
            turn = float(np.degrees(np.arccos(np.clip(mean[i] @ self.u0[i], -1.0, 1.0))))
            self.slips.append((t, i, turn))
        self._start_ramp(mean)

    def _start_ramp(self, new_u0: np.ndarray) -> None:
        """Blend from the neutral in use to ``new_u0`` over the coming ``ramp_n`` samples."""
        self._ramp_from = self._current()
        self._ramp_pos = 0
        self.u0 = new_u0

    def _current(self) -> np.ndarray:
        """The neutral in use right now (part way along a ramp, if one is running)."""
        assert self.u0 is not None
        if self._ramp_from is None:
            return self.u0
        return _blend(self._ramp_from, self.u0, np.array([self._ramp_pos / self.ramp_n]))[:, 0]

    def _fill(self, out: np.ndarray, a: int, b: int) -> None:
        """Neutral for output samples ``a <= j < b``, advancing a running ramp."""
        if self.u0 is None or b <= a:
            return
        if self._ramp_from is None:
            out[:, a:b] = self.u0[:, None, :]
            return
        frac = np.minimum((self._ramp_pos + np.arange(1, b - a + 1)) / self.ramp_n, 1.0)
        out[:, a:b] = _blend(self._ramp_from, self.u0, frac)
        self._ramp_pos += b - a
        if self._ramp_pos >= self.ramp_n:
            self._ramp_from = None

    def _track_sensors(self, still: np.ndarray) -> None:
        for s in range(self._s):
            r = _run_lengths(still[s], int(self._sensor_run[s]))
            self._sensor_run[s] = r[-1]
            self.sensor_best_run[s] = max(int(self.sensor_best_run[s]), int(r.max()))


_SMALL = 32
"""Chunks of at most this many samples follow the still run in plain ints."""


def _run_lengths(flags: np.ndarray, carry: int) -> np.ndarray:
    """Length of the run of True ending at each sample, continuing a run of ``carry``."""
    n = len(flags)
    idx = np.arange(1, n + 1)
    last_false = np.maximum.accumulate(np.where(flags, 0, idx))
    run = idx - last_false
    # samples in the leading run (no False yet) continue the carried run
    lead = last_false == 0
    run[lead] += carry
    return run


def _blend(u_from: np.ndarray, u_to: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Unit vectors ``(S, len(frac), 3)`` from ``u_from`` to ``u_to`` (both ``(S, 3)``)."""
    v = u_from[:, None, :] + frac[None, :, None] * (u_to - u_from)[:, None, :]
    return v / np.sqrt(np.add.reduce(v * v, axis=2, keepdims=True))  # np.linalg.norm's sum
