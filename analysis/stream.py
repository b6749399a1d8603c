"""The streaming pipeline: raw IMU samples in, live events and angles out.

Stages (each a small object with explicit state, the same ones offline review uses):

1. orientation per sensor (``UpEstimator``): up vector in the sensor frame;
2. common time base (``GridResampler``): up vectors, accelerometer and gyro norm of every
   sensor on one uniform grid;
3. stillness (``GridStill``): quiet gyro and accelerometer, all sensors at once;
4. neutral (``NeutralFinder``): the first 2 s where every sensor is still (its later
   still windows are logged, ``stance.PostureLog``: was that neutral standing?);
5. flexion axis and signed tilt per segment (``AxisTilt``);
6. angles (``compute_angles``): hip = pelvis − thigh, lumbar = trunk − pelvis;
7. reps, onsets, alerts, per-rep results (``RepTracker``).

Raw samples are queued on ``push`` and the stages run as soon as the grid can advance
(every sensor has passed the next grid time), so work is batched without adding delay.
Memory is bounded: queues are drained on every advance and the tracker keeps a ring
buffer of ``rep_max_s`` + a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.align import GridResampler
from analysis.angles import AngleLayout, compute_angles, layout_for
from analysis.calibration import NeutralFinder
from analysis.config import PipelineConfig
from analysis.results import LiveEvent, RepResult
from analysis.stance import NotStanding
from analysis.still import GridStill
from analysis.tilt import AxisTilt
from analysis.tracker import RepTracker
from analysis.up import UpSource, make_up_estimator

LEAD_NEEDS_GYRO = ("lumbar", "sacrum")
"""Sensors whose onsets time the lumbar lead. From the accelerometer alone the trunk's and
pelvis's own acceleration at the start of a hinge shifts their onsets: lead error median
-361 ms (lumbar) and +186 ms (sacrum) against +1 ms with gyroscopes (simulated RDLs,
hinges and deadlifts, 18 sessions, ``tests/test_accel_only.py``), while the thigh's is
-15 ms. Without their gyros no lead is given; back-first is judged by the early share."""
ACC_MAX_G = 64.0
"""Larger accelerometer readings are not physical for a worn IMU (ranges end at ±16-32 g)."""
GYR_MAX_DPS = 8000.0
"""Larger gyro readings are not physical (ranges end at ±2000-4000 °/s)."""
MAX_JUMP_S = 3600.0
"""A sample more than an hour after its sensor's previous one (or, for a sensor's first
sample, after the newest sample of any sensor) has a broken time stamp: the grid would have
to fill the whole jump."""
MAX_SILENCE_S = 5.0
"""A sensor silent this long is held however seldom it sends packets."""
ACTIVE_GAP_S = 0.25
"""Longest pause between two packets (of any sensor) that counts towards a sensor's
silence: longer ones are the host not reading, not sensors not sending."""


def possible_readings(acc_g: np.ndarray, gyr_dps: np.ndarray | None) -> np.ndarray:
    """Per sample, whether a worn IMU can have given it: finite and within ``ACC_MAX_G`` /
    ``GYR_MAX_DPS`` (NaN fails every comparison)."""
    ok = (np.abs(acc_g) <= ACC_MAX_G).all(axis=1)
    if gyr_dps is not None:
        ok &= (np.abs(gyr_dps) <= GYR_MAX_DPS).all(axis=1)
    return ok


_max = np.maximum.reduce
_min = np.minimum.reduce


@dataclass(frozen=True)
class SensorSpec:
    rate_hz: float
    has_gyro: bool = True


@dataclass(frozen=True)
class LatestAngles:
    """The newest grid sample (NaN until neutral is known)."""

    time_s: float
    hip_deg: float | None
    lumbar_deg: float | None
    tilts_deg: dict[str, float]


@dataclass
class GridChunk:
    """Grid output of one advance (kept only when recording for offline review)."""

    k0: int
    time_s: np.ndarray
    tilts: np.ndarray  # (S, m)
    hip: np.ndarray | None
    lumbar: np.ndarray | None


class StreamingPipeline:
    def __init__(
        self,
        config: PipelineConfig | None = None,
        *,
        sensors: dict[str, SensorSpec],
        record: bool = False,
        hold_laggards: bool = True,
        axes: dict[str, np.ndarray] | None = None,
        up_sources: dict[str, UpSource] | None = None,
        neutral: tuple[dict[str, np.ndarray], float] | None = None,
    ) -> None:
        """``record`` keeps the grid angles for offline review. ``hold_laggards`` lets a
        sensor that has gone silent be held at its last value so the others keep flowing
        (live; see ``push``); offline review turns it off, as every sample is there.
        ``axes``: known flexion axes per sensor (see ``AxisTilt.seed``). ``neutral``: a
        known neutral (up vector per sensor, and when it was seen) used from the first
        sample instead of the first still stretch (``NeutralFinder.seed``; offline review
        when the first still posture was not standing). ``up_sources``:
        replaces the causal orientation estimator of those sensors (offline review's
        offline estimate, see ``analysis.up.PrecomputedUp``)."""
        self.config = c = config or PipelineConfig()
        self.layout: AngleLayout = layout_for(list(sensors))
        self.specs = sensors
        names = self.layout.sensors
        self._index = {n: i for i, n in enumerate(names)}
        self._up = {n: make_up_estimator(sensors[n].rate_hz, sensors[n].has_gyro) for n in names}
        self._up.update({n: src for n, src in (up_sources or {}).items() if n in self._up})
        self.still = GridStill(
            len(names),
            grid_hz=c.grid_hz,
            smooth_s=c.still_smooth_s,
            gyr_dps=c.still_gyr_dps,
            acc_g=c.still_acc_g,
        )
        self._max_lag_s = c.max_lag_s if hold_laggards else math.inf
        self.grid = GridResampler(
            len(names), 7, grid_hz=c.grid_hz, max_lag_s=self._max_lag_s, bridge_max_s=c.max_lag_s
        )
        self.neutral = NeutralFinder(
            len(names),
            grid_hz=c.grid_hz,
            neutral_s=c.neutral_s,
            reanchor=c.reanchor,
            reanchor_max_deg=c.reanchor_max_deg,
        )
        self.tilt = AxisTilt(
            self.layout.signs,
            grid_hz=c.grid_hz,
            axis_min_deg=c.axis_min_deg,
            axis_establish_deg=c.axis_establish_deg,
            axis_establish_s=c.axis_establish_s,
            axis_update_s=c.axis_update_s,
            axis_consistent_weight=c.axis_consistent_weight,
            axis_consistent_ratio=c.axis_consistent_ratio,
        )
        if axes:
            self.tilt.seed(np.array([axes.get(n, np.full(3, np.nan)) for n in names], dtype=float))
        if neutral is not None:
            self.neutral.seed(np.array([neutral[0][n] for n in names], dtype=float), neutral[1])
        has = {
            "r": True,
            "hip": self.layout.has_hip,
            "lumbar": self.layout.has_lumbar,
            "thigh": "thigh" in names,
            "trunk": "lumbar" in names or "sacrum" in names,
        }
        timed = all(sensors[n].has_gyro for n in LEAD_NEEDS_GYRO if n in sensors)
        self.tracker = RepTracker(c, has=has, timed=timed)
        self._trunk = self._index.get("lumbar", self._index.get("sacrum"))
        self._queue: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]] = {
            n: [] for n in names
        }
        self._last_raw = {n: -math.inf for n in names}
        self._silent_since: dict[str, float | None] = dict.fromkeys(names)
        self._silence_limit_s = dict.fromkeys(names, self._max_lag_s)
        self._active_s = 0.0
        self._last_push_s = math.inf
        self._next_t = -math.inf
        self.record = record
        self.chunks: list[GridChunk] = []
        self.latest: LatestAngles | None = None
        self.samples = {n: 0 for n in names}
        self.rejected = {n: 0 for n in names}
        """Samples dropped as impossible (see ``_sane``), per sensor."""

    # ------------------------------------------------------------------
    def push(
        self,
        sensor: str,
        time_s: np.ndarray,
        acc_g: np.ndarray,
        gyr_dps: np.ndarray | None = None,
        *,
        arrival_s: float | None = None,
        defer: bool = False,
    ) -> list[LiveEvent]:
        """Feed samples of one sensor (time increasing); returns the events they caused.

        ``defer``: only queue the samples; a later push processes them (a live consumer
        that is behind batches its backlog this way: the stages cost per call, not per
        sample, and the results are the same).

        ``arrival_s``: when the packet arrived, on the session clock (default: its last
        sample's time). A sensor is held (``hold_laggards``) once the others have kept
        delivering while it delivered nothing for ``max_lag_s``, or for 1.5 times the
        span of its recent packets if that is longer: not merely because its samples are
        older, so a sensor sending big packets seldom (Polar at 52 Hz: a frame every
        1.4-2 s) is waited for. Silence is timed on an activity clock that advances at
        most ``ACTIVE_GAP_S`` between consecutive packets: when nobody delivered (the
        host stalled), nobody was silent, so a backlog arriving sensor by sensor after
        the stall holds nobody."""
        if sensor not in self._queue or len(time_s) == 0:
            return []
        t, acc, gyr, newest = self._sane(sensor, time_s, acc_g, gyr_dps)
        if len(t) == 0:
            return []
        self._queue[sensor].append((t, acc, gyr))
        self._last_raw[sensor] = max(self._last_raw[sensor], newest)
        self.samples[sensor] += len(t)
        arrival = newest if arrival_s is None else float(arrival_s)
        self._active_s += min(max(arrival - self._last_push_s, 0.0), ACTIVE_GAP_S)
        self._last_push_s = arrival
        now = self._active_s
        # the longest recent packet span of this sensor, slowly forgotten
        span = 1.5 * (newest - float(t[0]) + 1.0 / self.specs[sensor].rate_hz)
        limit = self._silence_limit_s
        limit[sensor] = max(self._max_lag_s, min(span, MAX_SILENCE_S), 0.9 * limit[sensor])
        silent = self._silent_since
        silent[sensor] = None
        hold = False
        for other, since in silent.items():
            if since is None:
                if other != sensor:
                    silent[other] = now
            elif now - since > limit[other]:
                hold = True
        if not defer and (hold or min(self._last_raw.values()) >= self._next_t):
            return self._run(hold=hold)
        return []

    def _sane(
        self, sensor: str, time_s: np.ndarray, acc_g: np.ndarray, gyr_dps: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
        """Drop (and count in ``rejected``) samples no real sensor can produce: non-finite
        values, readings beyond any IMU's range, or a time stamp jumping ``MAX_JUMP_S``
        ahead. One bad sample would otherwise poison the stillness filters (NaN state that
        never recovers, so neutral is never found) or make the grid fill the jump. Returns
        the kept samples and the newest kept time (-inf if none)."""
        t = np.asarray(time_s, dtype=float).reshape(-1)
        acc = np.asarray(acc_g, dtype=float).reshape(len(t), 3)
        gyr = None if gyr_dps is None else np.asarray(gyr_dps, dtype=float).reshape(len(t), 3)
        ref = self._last_raw[sensor]
        if not math.isfinite(ref):
            seen = [v for v in self._last_raw.values() if math.isfinite(v)]
            ref = max(seen) if seen else math.inf
        latest = ref + MAX_JUMP_S
        # one reduction per array in the common case (NaN fails every comparison); the
        # ufuncs' own reductions, without ndarray.max's wrapper
        newest = float(_max(t))
        if (
            _max(np.abs(acc), axis=None) <= ACC_MAX_G
            and (gyr is None or _max(np.abs(gyr), axis=None) <= GYR_MAX_DPS)
            and newest <= latest
            and newest < math.inf
            and _min(t) > -math.inf
        ):
            return t, acc, gyr, newest
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(t) & (t <= latest) & possible_readings(acc, gyr)
        self.rejected[sensor] += int(len(t) - ok.sum())
        t = t[ok]
        newest = float(t.max()) if len(t) else -math.inf
        return t, acc[ok], None if gyr is None else gyr[ok], newest

    def finish(self) -> list[LiveEvent]:
        """End of input: flush queued samples and close a rep that is still settling.

        Without ``hold_laggards`` (offline, every sample is in) a sensor that ended early
        is held, as unknown, up to the newest sample of the others: the grid would stop at
        its last sample, and a recording whose lumbar sensor died 15 s before the end lost
        its last two reps without a word, though the hip angle was there."""
        if math.isinf(self._max_lag_s):
            self.grid.max_lag_s = 0.0
            events = self._run(hold=True)
        else:
            events = self._run()
        return events + self.tracker.finish()

    @property
    def reps(self) -> list[RepResult]:
        return self.tracker.results

    @property
    def not_standing(self) -> NotStanding | None:
        """Whether the neutral looked like a hinge and a later still posture like standing,
        on what has streamed so far (``analysis/stance.py``; meant for the end of a
        session: during a row set the hold is the newest still posture)."""
        return self.neutral.postures.not_standing(self.layout.sensors, self.tilt.axis)

    # ------------------------------------------------------------------
    @property
    def no_data_s(self) -> dict[str, float]:
        """Per sensor, grid time its value was unknown: held while it was silent (live),
        or across a gap longer than ``max_lag_s``."""
        hz = self.config.grid_hz
        return {n: self.grid.no_data[i] / hz for n, i in self._index.items()}

    def _run(self, *, hold: bool = False) -> list[LiveEvent]:
        for n, q in self._queue.items():
            if not q:
                continue
            if len(q) == 1:
                t, acc, gyr = q[0]
            else:
                t = np.concatenate([x[0] for x in q])
                acc = np.concatenate([x[1] for x in q])
                gyr = None if q[0][2] is None else np.concatenate([x[2] for x in q])
            q.clear()
            g = gyr if self.specs[n].has_gyro else None
            # grid channels: up vector, accelerometer, gyro norm (NaN without a gyro)
            vals = np.empty((len(t), 7))
            vals[:, :3] = self._up[n].update(t, acc, g)
            vals[:, 3:6] = acc
            if g is None:
                vals[:, 6] = np.nan
            else:
                np.sqrt(np.add.reduce(g * g, axis=1), out=vals[:, 6])
            self.grid.push(self._index[n], t, vals)
        tg, vals = self.grid.advance(hold=hold)
        if self.grid.next_k is not None:
            self._next_t = self.grid.next_k / self.config.grid_hz
        if len(tg) == 0:
            return []
        k0 = round(tg[0] * self.config.grid_hz)
        up = vals[..., :3]
        still = self.still.update(vals[..., 3:6], vals[..., 6])
        u0 = self.neutral.update(tg, up, still)
        tilts = self.tilt.update(up, u0)
        unknown = self._unknown(tg)
        if unknown is not None:
            # a held or bridged sensor's value is a guess, and an orientation restarted
            # after a long gap is settling: angles on them are unknown (NaN), so nothing
            # is alerted or measured on them
            tilts = np.where(unknown, np.nan, tilts)
        return self._angles(k0, tg, tilts)

    def _unknown(self, tg: np.ndarray) -> np.ndarray | None:
        """``(S, m)`` mask of grid samples whose sensor value is not known, or None."""
        mask = self.grid.unknown
        for n, s in self._index.items():
            spans: list[tuple[float, float]] | None = getattr(self._up[n], "unsettled", None)
            if not spans:
                continue
            for a, b in spans:
                m = (tg >= a) & (tg < b)
                if m.any():
                    if mask is None:
                        mask = np.zeros((len(self._index), len(tg)), dtype=bool)
                    mask[s] |= m
            spans[:] = [sp for sp in spans if sp[1] > tg[-1]]
        return mask

    def _angles(self, k0: int, tg: np.ndarray, tilts: np.ndarray) -> list[LiveEvent]:
        hip, lumbar, r = compute_angles(self.layout, tilts)
        signals: dict[str, np.ndarray] = {"r": r}
        if hip is not None:
            signals["hip"] = hip
        if lumbar is not None:
            signals["lumbar"] = lumbar
        if "thigh" in self._index:
            signals["thigh"] = tilts[self._index["thigh"]]
        if self._trunk is not None:
            signals["trunk"] = tilts[self._trunk]
        if self.record:
            self.chunks.append(GridChunk(k0, tg, tilts, hip, lumbar))
        self.latest = LatestAngles(
            time_s=float(tg[-1]),
            hip_deg=None if hip is None else float(hip[-1]),
            lumbar_deg=None if lumbar is None else float(lumbar[-1]),
            tilts_deg=dict(zip(self.layout.sensors, tilts[:, -1].tolist(), strict=True)),
        )
        return self.tracker.update(k0, signals)
