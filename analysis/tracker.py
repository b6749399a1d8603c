"""Reps, onsets, live alerts and per-rep results from the grid angle signals.

``RepTracker.update(k0, signals)`` takes a chunk of grid samples and returns the live
events it caused. Everything is decided from samples already seen (causal); the only
"look back" is onset backtracking into the stored history, which is the same live and
offline. Offline review feeds the session in blocks of ``review.BLOCK_S``.

Per rep:
- a *watch* runs from the end of the previous rep (or neutral) to this rep's bottom. It
  keeps the reference posture at the top (the values of every angle where the rep
  signal was lowest, i.e. the lockout/standing point), finds the first departure of the
  rep signal, hip and lumbar angles from it, and backtracks their onsets;
- ``lumbar_first`` alert: decided when the lumbar angle first departs
  ``lumbar_departure_deg`` from the top posture; it fires if the hips have folded less
  than ``live_early_hip_deg`` by then (the back moved before the hips);
- rounding / arching / knee-dominant alerts at the first sample past their threshold
  during the rep; torso drift at the end of a held rep;
- the rep is closed ``settle_s`` after the signal fell below the exit threshold (or at
  the next rep's start); its end is where the signal reached the top.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analysis.arrays import first_true
from analysis.config import PipelineConfig
from analysis.flags import FlagInputs, early_lumbar, rep_flags
from analysis.history import History
from analysis.onsets import first_crossing, onset, refine_minjerk
from analysis.reps import RepDetector, RepEvent
from analysis.results import LiveEvent, RepResult

SIGNALS: tuple[str, ...] = ("r", "hip", "lumbar", "thigh", "trunk")
SETTLE_S = 0.6
SETTLE_DEG = 1.0
_SMALL = 32
"""Scans of at most this many grid samples compare in plain floats."""

MESSAGES = {
    "lumbar_first": "Back moved before the hips - push the hips back first.",
    "lumbar_flexion": "Back is rounding - keep the spine long.",
    "lumbar_extension": "Back is arching - ribs down, neutral spine.",
    "knee_dominant": "Knees are doing the work - hinge at the hips, shins stay upright.",
    "torso_drift": "Torso angle drifted during the hold - keep it steady.",
}


LUMBAR_TOP_BAND_DEG = 2.0
"""How far from the standing neutral a rep's lumbar reference may lie (see
``_near_neutral``)."""

DISCARDED = "not counted: too short or too long for a rep"
NO_REP = "no rep followed the alert"


@dataclass
class _Watch:
    start_k: int
    rmin: float = np.inf
    rmin_k: int = -1
    top: dict[str, float] = field(default_factory=dict)
    """Every signal at ``rmin_k``, kept when it is found: a long quiet rest leaves
    ``rmin_k`` further back than the history reaches."""
    frozen_k: int = -1
    ref: dict[str, float] = field(default_factory=dict)
    cross: dict[str, int] = field(default_factory=dict)
    onset_k: dict[str, float] = field(default_factory=dict)
    base: dict[str, float] = field(default_factory=dict)
    lf_decided: bool = False
    alert_from: int = 0
    """No live alert for a departure before this sample (one looked back on is too late)."""
    lf_alert_k: int = -1
    back_k: dict[str, int] = field(default_factory=dict)
    """Signals that stood beyond their clamped reference when it was taken (see
    ``_lumbar_ref``): -1 until they came back to it, then where they did; their departure
    and onset are looked for from there on."""


@dataclass
class _Rep:
    index: int
    enter_k: int
    watch: _Watch
    peak_k: int = -1
    exit_k: int = -1
    alerts: set[str] = field(default_factory=set)


class RepTracker:
    def __init__(self, config: PipelineConfig, *, has: dict[str, bool], timed: bool = True) -> None:
        """``has``: which of ``SIGNALS`` exist. ``timed``: the lumbar lead can be timed
        (False when the lumbar or sacrum sensor has no gyroscope, see ``LEAD_NEEDS_GYRO``):
        no lead then, and back-first is judged by the early share alone."""
        self.c = config
        self.has = has
        self.timed = timed
        self.hz = config.grid_hz
        self.det = RepDetector(
            grid_hz=config.grid_hz,
            enter_deg=config.rep_enter_deg,
            exit_deg=config.rep_exit_deg,
            bottom_margin_deg=config.rep_bottom_margin_deg,
            min_s=config.rep_min_s,
            max_s=config.rep_max_s,
        )
        # a rep's onsets are refined from ``onset_lookback_s`` before its departure, which
        # may come ``onset_lookback_s`` before the rep starts; it closes ``SETTLE_S`` after
        # its exit, at most ``rep_max_s`` after the start
        span_s = config.rep_max_s + 2 * config.onset_lookback_s + 2 * SETTLE_S + 2
        cap = round(span_s * self.hz)
        self.hist = History(SIGNALS, capacity=cap)
        self.quiet_n = max(1, round(config.quiet_s * self.hz))
        self.lead_n = config.lumbar_first_lead_ms / 1000.0 * self.hz
        self.lookback_n = round(config.onset_lookback_s * self.hz)
        self.settle_n = round(SETTLE_S * self.hz)
        self.watch: _Watch | None = None
        self._watched = names = [n for n in ("r", "hip", "lumbar") if self.has.get(n)]
        """The signals whose departures a watch looks for."""
        self._hip_is_r = bool(self.has.get("r") and self.has.get("hip"))
        """Every chunk so far gave the hip angle as the rep signal itself (the same array, the
        usual layout): the hip's reference, departure, onset and baseline are then the rep
        signal's (same samples, threshold and baseline floor), and are copied from it."""
        self._watch_rows = (
            np.array([SIGNALS.index(n) for n in names]),
            np.array([[self._dep(n)] for n in names]),
        )
        self._watch_deps = [self._dep(n) for n in names]
        self.rep: _Rep | None = None  # rep in progress (enter .. exit)
        self.closing: _Rep | None = None  # exited, waiting to settle
        self.count = 0
        self.results: list[RepResult] = []

    # ------------------------------------------------------------------
    def update(self, k0: int, signals: dict[str, np.ndarray]) -> list[LiveEvent]:
        m = len(signals["r"])
        if m == 0:
            return []
        self._hip_is_r = self._hip_is_r and signals.get("hip") is signals["r"]
        self.hist.extend(k0, m, signals)
        out: list[LiveEvent] = []
        if self.watch is None:
            finite = np.flatnonzero(np.isfinite(signals["r"]))
            if not len(finite):
                self.hist.trim()
                return out
            self.watch = _Watch(start_k=k0 + int(finite[0]))
        a = k0
        for ev in self.det.update(k0, signals["r"]):
            self._scan(a, ev.k, out)
            a = ev.k
            self._event(ev, out)
        self._scan(a, k0 + m, out)
        self.hist.trim()
        return out

    def finish(self) -> list[LiveEvent]:
        """End of session: close a rep that is still settling."""
        out: list[LiveEvent] = []
        if self.closing is not None:
            self._close(self.hist.k_end - 1, out)
        return out

    # ------------------------------------------------------------------
    def _t(self, k: float) -> float:
        return float(k) / self.hz

    def _event(self, ev: RepEvent, out: list[LiveEvent]) -> None:
        if ev.kind == "start":
            if self.closing is not None:
                self._close(ev.k, out)
            w = self.watch or _Watch(start_k=ev.k)
            self._scan_watch(w, ev.k, ev.k + 1, out)  # make sure r's departure is known
            self.count += 1
            self.rep = _Rep(self.count, ev.enter_k, w)
            start_k = w.onset_k.get("r", float(ev.enter_k))
            out.append(
                LiveEvent(
                    "rep_start",
                    self._t(ev.k),
                    self.count,
                    message=f"start {start_k / self.hz:.2f} s",
                )
            )
        elif ev.kind == "bottom" and self.rep is not None:
            self.rep.peak_k = ev.peak_k
            if self.rep.watch.lf_alert_k >= 0:  # alerted before the rep started
                self.rep.alerts.add("lumbar_first")
            out.append(LiveEvent("rep_bottom", self._t(ev.k), self.rep.index))
        elif ev.kind in ("end", "discard") and self.rep is not None:
            rep, self.rep = self.rep, None
            rep.peak_k = ev.peak_k
            rep.exit_k = ev.k
            self.watch = _Watch(start_k=ev.k)
            if ev.kind == "end":
                self.closing = rep
            else:
                self.count -= 1  # the next rep takes its number: say it is free again
                out.append(LiveEvent("rep_discard", self._t(ev.k), rep.index, message=DISCARDED))

    def _scan(self, a: int, b: int, out: list[LiveEvent]) -> None:
        if b <= a:
            return
        if self.closing is not None and self.closing.exit_k + self.settle_n < b:
            k = max(self.closing.exit_k + self.settle_n, a)
            self._close(k, out)
        if self.rep is not None:
            self._scan_rep(self.rep, a, b, out)
            if self.rep.peak_k < 0:  # still descending: keep watching
                self._scan_watch(self.rep.watch, a, b, out)
        else:
            # A departure that has not become a rep within ``onset_lookback_s`` is given up
            # and a fresh watch starts at exactly that grid index, whatever the chunking (a
            # reset at the chunk's end made a whole-session review keep a stale reference
            # posture, e.g. from a sensor knocked during a rest, into the next rep).
            while self.watch is not None:
                w = self.watch
                self._scan_watch(w, a, b, out, expire=True)
                if w.frozen_k < 0 or w.frozen_k + self.lookback_n + 1 > b:
                    break
                expired = w.frozen_k + self.lookback_n + 1
                # the next watch looks from just after the departure given up: the next rep
                # may have begun meanwhile (a lifter who braced, then hinged within 3 s), and
                # a watch starting at the expiry took its top posture mid-descent (hip ROM
                # 10° short, onset 1 s late)
                a = w.frozen_k + 1
                self.watch = _Watch(start_k=a, alert_from=expired)
                if w.lf_alert_k >= 0:  # its alert named a rep that did not come
                    out.append(
                        LiveEvent("rep_discard", self._t(expired), self.count + 1, message=NO_REP)
                    )

    # --- watch: reference posture, departures, onsets, lumbar-first ----
    def _scan_watch(
        self, w: _Watch, a: int, b: int, out: list[LiveEvent], *, expire: bool = False
    ) -> None:
        """``expire``: outside a rep, a frozen watch ends ``onset_lookback_s`` after its
        departure; nothing past that is scanned with it."""
        a = max(a, w.start_k)
        if b <= a:
            return
        if w.frozen_k < 0:
            x = self.hist.block(self._watch_rows[0], a, b)
            top = self._top_small if b - a <= _SMALL else self._top
            i = top(w, a, x)
            if i < 0:
                return
            w.frozen_k = a + i
            w.ref = dict(w.top)
            if "lumbar" in w.ref:
                self._lumbar_ref(w, w.top["lumbar"])
        if expire:
            b = min(b, w.frozen_k + self.lookback_n + 1)
        a2 = max(a, w.rmin_k)
        for n in self._watched:
            if n in w.cross:
                continue
            if n == "hip" and self._hip_is_r:
                _copy_departure(w, "r", "hip")
                continue
            k_from = a2
            if not math.isfinite(w.ref[n]):
                # unknown at the top posture (a sensor back from a drop-out, settling):
                # its first known value since is the reference, and departures are looked
                # for from there, whatever chunk it came in (from this chunk's start only,
                # one rep's lumbar reference was -0.69 or -1.36 by packet size)
                k_from = max(w.rmin_k, w.start_k, self.hist.k_start)
                known = np.flatnonzero(np.isfinite(self.hist.get(n, k_from, b)))
                if not len(known):
                    continue
                k_from += int(known[0])
                ref = self.hist.at(n, k_from)
                if n == "lumbar":
                    self._lumbar_ref(w, ref)
                else:
                    w.ref[n] = ref
            x = self.hist.get(n, k_from, b)
            if w.back_k.get(n) == -1:
                # back at the reference first: leaving the arch is not a departure
                back = first_true(np.abs(x - w.ref[n]) <= self._dep(n))
                if back < 0:
                    continue
                k_from += back
                w.back_k[n] = k_from
                x = x[back:]
            i = _first_departure(x, w.ref[n], self._dep(n))
            if i >= 0:
                c = k_from + i
                lo = max(w.start_k, c - self.lookback_n, w.back_k.get(n, 0))
                seg = self.hist.get(n, lo, c + 1)
                on, base = onset(
                    seg,
                    w.ref[n],
                    c - lo,
                    noise=self.c.onset_noise_deg,
                    quiet_n=self.quiet_n,
                    # the rep signal's own turning point bounds its baseline window; the
                    # lumbar may have moved before it, so it keeps the plain quiet window
                    floor=max(w.rmin_k - lo, 0) if n != "lumbar" else 0,
                )
                w.cross[n] = c
                w.onset_k[n] = lo + on
                w.base[n] = _near_neutral(base) if n == "lumbar" else base
        self._lumbar_first_live(w, a, b, out)

    def _lumbar_ref(self, w: _Watch, value: float) -> None:
        """The lumbar reference for the lumbar angle ``value`` at the top posture: no
        further than ``LUMBAR_TOP_BAND_DEG`` from neutral (``_near_neutral``). A back that
        stood further than its departure threshold beyond that (a swing's next rep begins
        in the last one's arched lockout, lumbar -13..-18°) is measured from the neutral and
        departs only once it is back within that threshold of it, and its onset is looked
        for from there. Measured from the clamped reference (2° short of the arch), the back
        easing to neutral with the hips still read as a departure 0.5-1.3 s before the hips
        (16 of 16 such reps over 6 seeds; 4 flagged back-first)."""
        ref = _near_neutral(value)
        if abs(value - ref) > self._dep("lumbar"):
            ref = 0.0
            w.back_k["lumbar"] = -1
        w.ref["lumbar"] = ref

    def _top(self, w: _Watch, a: int, x: np.ndarray) -> int:
        """Follow the top posture through the watched signals ``x`` (from grid index ``a``)
        and find the first departure from it: its index in ``x``, or -1. Updates the
        watch's top up to that sample (or to the chunk's end)."""
        r = x[0]
        run, new = _hysteresis_min(r, w.rmin, self.c.top_hysteresis_deg)
        ks = np.arange(a, a + len(r))
        mink = np.maximum.accumulate(np.where(new, ks, w.rmin_k))
        if mink[-1] < 0:
            return -1  # nothing finite yet
        deps = self._watch_rows[1]
        hit = (np.abs(x - self._top_refs(w, x, mink - a)) > deps).any(axis=0) & (mink >= 0)
        i = int(hit.argmax())
        j = i if hit[i] else len(hit) - 1  # the last sample this watch looks at
        self._new_top(w, float(run[j]), int(mink[j]))
        return i if hit[i] else -1

    def _top_small(self, w: _Watch, a: int, x: np.ndarray) -> int:
        """``_top`` for a few samples (live packets): the same comparisons in plain floats,
        sample by sample (``_hysteresis_min``, then the departure test)."""
        rows = x.tolist()
        band = self.c.top_hysteresis_deg
        deps = self._watch_deps
        tops = [w.top.get(n, math.nan) for n in self._watched]
        cur, cur_k, low = w.rmin, w.rmin_k, w.rmin  # low: running minimum ignoring NaN
        for j, v in enumerate(rows[0]):
            if v == v and (low != low or v <= low):  # only such samples can move the top
                low = v
                if v < cur - band or not math.isfinite(cur):
                    cur, cur_k = v, max(cur_k, a + j)
            if cur_k < 0:
                continue
            at = cur_k - a  # the top posture's column, or before this chunk (``tops``)
            for row, dep, before in zip(rows, deps, tops, strict=True):
                if abs(row[j] - (row[at] if at >= 0 else before)) > dep:
                    self._new_top(w, cur, cur_k)
                    return j
        if cur_k < 0:
            return -1  # nothing finite yet
        self._new_top(w, cur, cur_k)
        return -1

    def _new_top(self, w: _Watch, rmin: float, rmin_k: int) -> None:
        w.rmin = rmin
        if rmin_k != w.rmin_k:  # a new top posture, in this chunk
            w.rmin_k = rmin_k
            w.top = {n: self.hist.at(n, rmin_k) for n in SIGNALS}

    def _top_refs(self, w: _Watch, x: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The watched signals at each sample's top posture: column ``j`` of the chunk
        ``x``, or, where ``j < 0`` (a top from before this chunk), the watch's ``top``."""
        inside = j >= 0
        if inside.all():
            return x[:, j]
        top = np.array([[w.top.get(n, np.nan)] for n in self._watched])
        return np.where(inside, x[:, np.maximum(j, 0)], top)

    def _dep(self, n: str) -> float:
        return self.c.lumbar_departure_deg if n == "lumbar" else self.c.hip_departure_deg

    def _lumbar_first_live(self, w: _Watch, a: int, b: int, out: list[LiveEvent]) -> None:
        """Live lumbar-first: decided when the lumbar first departs ``lumbar_departure_deg``
        from its pre-rep posture; alert if the hips have folded less than
        ``live_early_hip_deg`` by then (see ``PipelineConfig``)."""
        if w.lf_decided or "lumbar" not in w.cross or not self.has.get("hip"):
            return
        k = w.cross["lumbar"]
        if k >= b:
            return
        w.lf_decided = True
        if k < w.alert_from:
            return  # the rep's flags still judge it when it ends
        hip = self.hist.at("hip", k) - w.ref["hip"]
        if np.isfinite(hip) and hip < self.c.live_early_hip_deg:
            self._alert_lf(w, k, out)

    def _alert_lf(self, w: _Watch, k: int, out: list[LiveEvent]) -> None:
        w.lf_alert_k = k
        idx = self.rep.index if self.rep is not None else self.count + 1
        out.append(LiveEvent("alert", self._t(k), idx, "lumbar_first", MESSAGES["lumbar_first"]))
        if self.rep is not None:
            self.rep.alerts.add("lumbar_first")

    # --- rep in progress: rounding, arching, knee -----------------------
    def _scan_rep(self, rep: _Rep, a: int, b: int, out: list[LiveEvent]) -> None:
        w = rep.watch
        if not w.ref:
            return
        checks: list[tuple[str, str, float, int]] = []
        if self.has.get("lumbar"):
            base = w.base.get("lumbar", w.ref["lumbar"])
            checks.append(("lumbar_flexion", "lumbar", base + self.c.lumbar_flexion_deg, 1))
            checks.append(("lumbar_extension", "lumbar", base + self.c.lumbar_extension_deg, -1))
        if self.has.get("thigh"):
            t0 = w.ref["thigh"]
            checks.append(("knee_dominant", "thigh", t0 - self.c.knee_thigh_deg, -1))
        for flag, n, thr, sgn in checks:
            if flag in rep.alerts:
                continue
            x = self.hist.get(n, a, b)
            if len(x) <= _SMALL:  # plain floats (NaN passes neither threshold)
                beyond = (v > thr if sgn > 0 else v < thr for v in x.tolist())
                i = next((j for j, hit in enumerate(beyond) if hit), -1)
            else:
                i = first_true(x > thr if sgn > 0 else x < thr)
            if i >= 0:
                rep.alerts.add(flag)
                out.append(LiveEvent("alert", self._t(a + i), rep.index, flag, MESSAGES[flag]))

    # --- closing a rep ---------------------------------------------------
    def _close(self, k: int, out: list[LiveEvent]) -> None:
        rep, self.closing = self.closing, None
        assert rep is not None
        w = rep.watch
        r_after = self.hist.get("r", rep.exit_k, k + 1)
        if np.isfinite(r_after).any():
            lowest = np.fmin.reduce(r_after)  # np.nanmin without its checks
            end_k = rep.exit_k + int((r_after <= lowest + SETTLE_DEG).argmax())
        else:
            end_k = rep.exit_k
        if self.c.onset_model == "minjerk":
            self._refine_onsets(rep)
        start_k = w.onset_k.get("r", float(rep.enter_k))
        res = self._result(rep, start_k, end_k)
        self.results.append(res)
        late = [f for f in res.flags if f not in rep.alerts]
        for f in late:
            out.append(LiveEvent("alert", self._t(k), rep.index, f, MESSAGES[f]))
        out.append(LiveEvent("rep_end", self._t(k), rep.index, rep=res))

    def _refine_onsets(self, rep: _Rep) -> None:
        """Minimum-jerk onsets once the rep's excursions are known (see ``onset_model``)."""
        w = rep.watch
        for n, c in w.cross.items():
            # from one quiet window before the rep's start: a small, slow movement leaves
            # its noise band late, but it began near the start
            lo = max(0, w.start_k - self.quiet_n, c - self.lookback_n, w.back_k.get(n, 0))
            hi = max(rep.peak_k, c) + 1
            x = self.hist.get(n, lo, hi)
            k_on = int(min(w.onset_k[n], w.onset_k.get("r", w.onset_k[n]))) - lo
            on = refine_minjerk(
                x,
                w.base[n],
                cross=c - lo,
                k_on=k_on,
                quiet_n=self.quiet_n,
                noise_max=self.c.onset_noise_deg,
                lo_frac=self.c.onset_lo_frac,
                hi_frac=self.c.onset_hi_frac,
            )
            if on is not None and math.isfinite(on):
                # never before the lookback window. Not capped by the threshold onset: when
                # the estimate wandered ~1° while standing (gyro bias x VQF's time constant)
                # the backtrack follows the wander and puts that onset up to a second early
                # (good mornings); keeping the earlier of the two made the lead-error p95
                # 197 ms against 167 ms, all else equal (bench/accuracy.py)
                w.onset_k[n] = max(lo + on, float(lo))

    def _seen_onset(self, w: _Watch, n: str) -> float | None:
        """Signal ``n``'s onset, or None if the angle was unknown (NaN: before neutral, a
        held or settling sensor) anywhere from there to its departure: the movement began
        while it was not seen, and an onset extrapolated into that stretch is a guess (the
        first rep after neutral came out with the back moving 1.6 s before the hips, 0.4 s
        before the first known lumbar angle)."""
        on = w.onset_k.get(n)
        c = w.cross.get(n)
        if on is None or c is None:
            return on
        return on if self._known((n,), on, c) else None

    def _seen(self, rep: _Rep, from_k: float) -> bool:
        """Hip and lumbar angles known from ``from_k`` through the rep's bottom. Their
        onsets are fitted on that stretch; across a gap (a sensor lost for a second in the
        descent) one onset fell back to its threshold estimate while the other kept its
        fit, and the mixture read as the back moving 150-260 ms first (14 of 18 clean reps
        flagged lumbar_first with a 1.5 s thigh gap in the descent)."""
        return self._known(("hip", "lumbar"), from_k, rep.peak_k)

    def _known(self, names: tuple[str, ...], from_k: float, to_k: int) -> bool:
        """Every one of ``names`` finite from grid sample ``from_k`` through ``to_k``."""
        a = max(int(np.floor(from_k)), 0)
        b = max(to_k, a) + 1
        return all(bool(np.isfinite(self.hist.get(n, a, b)).all()) for n in names)

    def _result(self, rep: _Rep, start_k: float, end_k: int) -> RepResult:
        w = rep.watch
        s, e = int(np.floor(start_k)), end_k + 1
        hip = self.hist.get("hip", s, e) if self.has.get("hip") else None
        lum = self.hist.get("lumbar", s, e) if self.has.get("lumbar") else None
        base_h = w.base.get("hip", w.ref.get("hip", np.nan))
        base_l = w.base.get("lumbar", w.ref.get("lumbar", np.nan))
        hip_rom = _extreme(np.fmax.reduce, hip, base_h)
        lpk = _extreme(np.fmax.reduce, lum, base_l)
        lmin = _extreme(np.fmin.reduce, lum, base_l)
        h_on = self._seen_onset(w, "hip") if self.has.get("hip") else None
        l_on = self._seen_onset(w, "lumbar") if self.has.get("lumbar") else None
        if lpk is not None and lmin is not None and max(lpk, -lmin) < self.c.lumbar_departure_deg:
            l_on = None  # the back stayed within the departure threshold: it has no onset
        lead = (
            float(h_on - l_on) / self.hz * 1000.0
            if self.timed
            and h_on is not None
            and l_on is not None
            and self._seen(rep, min(h_on, l_on))
            else None
        )
        early, share = early_lumbar(
            hip, lum, base_h, base_l, hip_rom, lpk, lmin, frac=self.c.lumbar_first_early_hip_frac
        )
        thigh_bottom = (
            self.hist.at("thigh", rep.peak_k) - w.ref.get("thigh", np.nan)
            if self.has.get("thigh")
            else None
        )
        trunk = self.hist.get("trunk", s, e) if self.has.get("trunk") else None
        if trunk is not None and lum is not None:
            # the torso as a whole is the pelvis (trunk tilt - lumbar flexion): a back that
            # arches or rounds in the hold is lumbar_extension / lumbar_flexion, not drift
            trunk = trunk - lum
        r = self.hist.get("r", s, e)
        flags = rep_flags(
            FlagInputs(
                lead_ms=lead,
                lumbar_early_deg=early,
                lumbar_early_share=share,
                lumbar_peak_deg=lpk,
                lumbar_min_deg=lmin,
                hip_rom_deg=hip_rom,
                thigh_bottom_deg=thigh_bottom,
                rep_signal=r,
                trunk_deg=trunk,
                grid_hz=self.hz,
            ),
            self.c,
        )
        return RepResult(
            index=rep.index,
            start_s=self._t(start_k),
            bottom_s=self._t(rep.peak_k),
            end_s=self._t(end_k),
            hip_rom_deg=hip_rom,
            lumbar_peak_deg=lpk,
            lumbar_min_deg=lmin,
            hip_onset_s=None if h_on is None else self._t(h_on),
            lumbar_onset_s=None if l_on is None else self._t(l_on),
            lumbar_lead_ms=lead,
            flags=flags,
        )


def _first_departure(x: np.ndarray, ref: float, dep: float) -> int:
    """``first_crossing(x - ref, dep)``; a few samples in plain floats."""
    if len(x) > _SMALL:
        return first_crossing(x - ref, dep)
    return next((j for j, v in enumerate(x.tolist()) if abs(v - ref) > dep), -1)


def _near_neutral(lumbar_deg: float) -> float:
    """A rep's lumbar reference, no further from the standing neutral than
    ``LUMBAR_TOP_BAND_DEG``: a swing's next rep starts from the arched lockout of the last
    one, and the back easing out of that arch read as the back moving first and as
    rounding (16 of 16 reps after an arched swing flagged; lumbar peak 21.7° for a true
    4.9°)."""
    return min(max(lumbar_deg, -LUMBAR_TOP_BAND_DEG), LUMBAR_TOP_BAND_DEG)


def _copy_departure(w: _Watch, src: str, dst: str) -> None:
    """Give ``dst`` the reference, and the departure if any, that ``src`` has in ``w``."""
    w.ref[dst] = w.ref[src]
    if src in w.cross:
        w.cross[dst] = w.cross[src]
        w.onset_k[dst] = w.onset_k[src]
        w.base[dst] = w.base[src]


def _hysteresis_min(r: np.ndarray, carry: float, band: float) -> tuple[np.ndarray, np.ndarray]:
    """Running minimum of ``r`` that only moves when a value is ``band`` below it.

    Returns the running value and the samples where it moved. The top posture is the
    point where the rep signal was lowest, but estimator settling after a rep (VQF
    corrects inclination with a 3 s time constant) lets the signal creep down by a few
    tenths of a degree while the back already moves first; a plain running minimum would
    follow that creep and drag the lumbar reference along with it, delaying the alert.
    NaN never moves it. The first finite value is taken when ``carry`` is infinite.
    """
    plain = np.fmin.accumulate(np.concatenate(([carry], r)))[1:]
    cand = (r <= plain).nonzero()[0]  # the only samples that can move it
    run = np.empty(len(r))
    new = np.zeros(len(r), dtype=bool)
    cur = carry
    last = 0
    # plain floats: the loop runs over ~100 candidates per call, thousands of calls a session
    for i, v in zip(cand.tolist(), r[cand].tolist(), strict=True):
        if v < cur - band or not math.isfinite(cur):
            run[last:i] = cur
            cur = v
            new[i] = True
            last = i
    run[last:] = cur
    return run, new


def _extreme(fn: Callable[[np.ndarray], float], x: np.ndarray | None, base: float) -> float | None:
    """``fn(x) - base``; None when ``x`` is absent or not known throughout the rep, or
    ``base`` unknown (a silent sensor): the extreme of the samples around a gap is not the
    rep's (a lumbar sensor lost through a 32° rounding reported a 0.1° peak and lost the
    flag). ``fn``: ``np.fmax.reduce`` / ``np.fmin.reduce``, which is what
    ``np.nanmax`` / ``np.nanmin`` compute for an array, without their checks."""
    if x is None or not np.isfinite(x).all():
        return None
    v = float(fn(x) - base)
    return v if np.isfinite(v) else None
