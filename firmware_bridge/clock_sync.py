"""Device clock -> host clock: offset and drift from one-way timing, bracketed from both sides.

Three kinds of evidence, each one-sided:

* **Notifications** (device -> host): a packet ready at device time ``d`` arrives at host
  time ``h`` later than ``d`` really happened, by a delay that is always positive and jittery
  (wait for the next connection event, 7.5-50 ms apart; retransmissions; host scheduling).
  So ``offset = host - device <= h - d``: an **upper** bound.
* **Time probes** (the profile's TIME_SYNC): the host notes ``h0`` just before writing; the
  device stamps ``d`` when it handles the write, after ``h0``: ``offset >= h0 - d``, a
  **lower** bound. The ack then arrives at ``h1``: ``offset <= h1 - d``, another upper bound.

Each side is fitted with an envelope, not a regression: the line under (over) every point
that is closest to them on average, i.e. the linear-programming estimator of Moon, Skelly &
Towsley ("Estimation and removal of clock skew from network delay measurements", IEEE
INFOCOM 1999), whose solution is the lower-hull edge above the points' mean. Causal and
bounded: one extreme point per ``bin_s`` over the last ``window_s``.

Why three: a device sends its batches on its own timer (every 50 ms at 200 Hz). If that
period is a multiple of the connection interval, every packet meets the connection events
at the same phase: the notification bound then sits up to a whole interval above the truth
and its slope follows the connection events, not the device clock. Probes are written at
random host times, so the probe bound closes in on the truth (to the least latency from
the host's clock read to the device's stamp) as probes accumulate; and an ack leaves at
the connection event after the write's, so its delay is nearly constant.

Estimate, with probes:

* **drift**: the slopes of the probe and ack envelopes over the last ``probe_window_s``
  (300 s; one extreme probe per ``probe_bin_s``), each weighted by 1 / (median distance
  of its points from it)²: the probe bound is loose by the wait for a connection event (up
  to an interval), the ack bound by the host's and the firmware's jitter. With 30 s
  windows the slope wandered by tens of ppm (ramps of ~30 µs/s in one sensor's error).
  (The plain mean of the two slopes: 10-min p95 0.64/0.88/1.01/1.69 ms against the
  weighted 0.71/0.98/0.82/1.50, 2 seeds; it missed a 100 ppm drift by 30 ppm in
  ``tests/test_clock_sync.py``'s model, where the weighted slope passes.)
* **offset**: the probe bound at that slope plus ``probe_latency_s`` (1 ms; the bench's
  model has 1.15 ms at least: host write 0.4, air 0.6, firmware 0.15), at most the
  notification bound. It shifts every sensor alike: 0 or 2 ms gave the same misalignment
  (one sensor's largest error against the host clock 2.7-6.8 ms with 0, 1.7-5.6 with 1.15,
  1.8-4.8 with 2; 10-min, 2 seeds). (This instead of the middle of the [probe,
  notification] bracket, but with the 30 s windows, changed little: 10-min p95
  2.06/2.06/2.64/2.78 -> 2.31/2.09/2.64/2.78 ms, 1 seed; the drift was the larger error.)

Without probes (most third-party devices), the notification envelope alone (30 s).

``bench/clock_sync.py --minutes 60 --seeds 2 --only hipfirst hipfirst-timer-locked
--jobs 1``: misalignment p95 between 3 sensors over 60 min at CI 7.5/15/30/50 ms, hipfirst
1.97/2.18/2.45/2.95 -> 0.63/0.94/1.05/1.21 ms, hipfirst-timer-locked 2.21/2.17/2.53/2.96
-> 0.60/0.82/1.29/1.48 ms (with the link's 30 s of fast probes at the start; other
devices unchanged).

:attr:`ClockSync.uncertainty_s` is the width of the bracket. Changes are slewed (at most
``max_slew`` s per s of device time) so mapped sample times stay strictly increasing
(0.02 or 0.1 gave the same figures, 0.005 too after the first minute: a faster or
unslewed correction would gain nothing here).
"""

from __future__ import annotations

import itertools
import math
from collections import deque

import numpy as np


class _Envelope:
    """Lower envelope (``upper=False``) or upper envelope of points ``(x, y)``, x increasing."""

    def __init__(self, *, window_s: float, bin_s: float, upper: bool) -> None:
        self.bin_s = bin_s
        self.sign = -1.0 if upper else 1.0
        self.bins: deque[tuple[float, float]] = deque(maxlen=max(2, round(window_s / bin_s)))
        self.k: int | None = None
        self.cur: tuple[float, float] | None = None
        self.line: tuple[float, float, float] | None = None  # (a, b, xm): y = a + b (x - xm)
        self._closed: tuple[float, float] | None = None  # (signed slope, min of y - s x over bins)

    def points(self) -> list[tuple[float, float]]:
        return [*self.bins, *([self.cur] if self.cur is not None else [])]

    def add(self, x: float, y: float) -> bool:
        """Add a point; True if the kept extreme points changed."""
        y = self.sign * y
        k = math.floor(x / self.bin_s)
        if self.k is None or k > self.k:
            if self.cur is not None:
                self.bins.append(self.cur)
                self._closed = None
            self.k, self.cur = k, (x, y)
            return True
        if k == self.k and self.cur is not None and y < self.cur[1]:
            self.cur = (x, y)
            return True
        return False  # older than the current bin: too late to matter

    def fit(self, *, drift_min_span_s: float, max_slope: float) -> None:
        pts = self.points()
        if not pts:
            return
        xs = np.array([p[0] for p in pts])
        ys = np.array([p[1] for p in pts])
        xm = float(xs.mean())
        b = 0.0
        if xs[-1] - xs[0] >= drift_min_span_s:
            b = min(max(_lower_hull_slope(xs, ys, xm), -max_slope), max_slope)
        a = float(np.min(ys - b * (xs - xm)))  # under every point
        self.line = (self.sign * a, self.sign * b, xm)

    @property
    def span_s(self) -> float:
        pts = self.points()
        return pts[-1][0] - pts[0][0] if len(pts) > 1 else 0.0

    @property
    def slope(self) -> float:
        return 0.0 if self.line is None else self.line[1]

    def value(self, x: float) -> float | None:
        if self.line is None:
            return None
        a, b, xm = self.line
        return a + b * (x - xm)

    def hull_slope(self) -> tuple[float, float]:
        """Slope of the envelope over the whole window (Moon et al.'s estimator) and the
        median distance of the points from it (how loosely they follow the bound)."""
        pts = self.points()
        if len(pts) < 2:
            return 0.0, math.inf
        xs = np.array([p[0] for p in pts])
        ys = np.array([p[1] for p in pts])
        b = _lower_hull_slope(xs, ys, float(xs.mean()))
        d = ys - b * xs
        return self.sign * b, float(np.median(d - d.min()))

    def value_with_slope(self, x: float, slope: float) -> float | None:
        """The envelope at ``x`` for a given slope (its most extreme point decides)."""
        if self.cur is None:
            return None
        s = self.sign * slope
        if self._closed is None or self._closed[0] != s:  # once per bin and slope
            self._closed = (s, min((py - s * px for px, py in self.bins), default=math.inf))
        return self.sign * (min(self._closed[1], self.cur[1] - s * self.cur[0]) + s * x)


class ClockSync:
    """Estimate ``offset(d) = host - device`` as a line in device time.

    Feed :meth:`observe` once per notification and :meth:`observe_probe` per time probe;
    map sample times with :meth:`to_host_s`. Device times are unwrapped integers in µs.
    Until ``drift_min_span_s`` of device time is covered only an offset is fitted.
    """

    def __init__(
        self,
        *,
        window_s: float = 30.0,
        bin_s: float = 0.25,
        probe_window_s: float = 300.0,
        probe_bin_s: float = 1.0,
        drift_min_span_s: float = 4.0,
        max_drift_ppm: float = 1000.0,
        max_slew: float = 0.02,
        probe_latency_s: float = 0.001,
    ) -> None:
        """``probe_window_s`` / ``probe_bin_s``: the time probes' envelopes (one extreme
        probe per bin). ``probe_latency_s``: the shortest time from the host's clock read
        before a probe's write to the device's stamp (host stack, radio, firmware), added
        to the probe bound; it shifts every sensor alike, so it does not change how well
        sensors align, only how close they are to the host clock."""
        if not 0 < bin_s < window_s or not 0 < probe_bin_s < probe_window_s:
            raise ValueError("need 0 < bin_s < window_s and 0 < probe_bin_s < probe_window_s")
        if not 0 < max_slew < 1:
            raise ValueError("max_slew must be in (0, 1) to keep mapped times increasing")
        self.window_s = window_s
        self.bin_s = bin_s
        self.probe_window_s = probe_window_s
        self.probe_bin_s = probe_bin_s
        self.drift_min_span_s = drift_min_span_s
        self.max_drift = max_drift_ppm * 1e-6
        self.max_slew = max_slew
        self.probe_latency_s = probe_latency_s
        self.reset()

    def reset(self) -> None:
        """Forget everything (the device rebooted, or it is another device)."""
        self._dev0_us: int | None = None
        self._notif = _Envelope(window_s=self.window_s, bin_s=self.bin_s, upper=False)
        self._ack = _Envelope(window_s=self.probe_window_s, bin_s=self.probe_bin_s, upper=False)
        self._probe = _Envelope(window_s=self.probe_window_s, bin_s=self.probe_bin_s, upper=True)
        self._probe_drift: float | None = None  # slope from the probes and acks
        self._x_app: float | None = None
        self._o_app = 0.0
        self._b_app = 0.0
        self.observations = 0
        self.probes = 0

    # ------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._x_app is not None

    @property
    def drift_ppm(self) -> float:
        """Slope of host - device in ppm (+ = the device clock runs slow)."""
        return self._b_app * 1e6

    @property
    def uncertainty_s(self) -> float | None:
        """Width of the bracket [probe bound, notification bound] now; None without probes."""
        if self._x_app is None:
            return None
        lo = self._probe.value_with_slope(self._x_app, self._b_app)
        hi = self._notif.value_with_slope(self._x_app, self._b_app)
        return None if lo is None or hi is None else max(0.0, hi - lo)

    def _x(self, device_us: float) -> float:
        if self._dev0_us is None:
            self._dev0_us = int(device_us)
        return (device_us - self._dev0_us) * 1e-6

    # ------------------------------------------------------------------
    def observe(self, device_us: int, host_s: float) -> None:
        """A notification: the device time it was ready (µs) and its host arrival (s)."""
        x = self._x(device_us)
        y = host_s - x
        if not (math.isfinite(x) and math.isfinite(y)):
            return
        self.observations += 1
        if self._notif.add(x, y):
            self._notif.fit(drift_min_span_s=self.drift_min_span_s, max_slope=self.max_drift)
        self._apply(x)

    def observe_probe(self, device_us: int, host_sent_s: float, host_received_s: float) -> None:
        """A time probe: host clock before the write, the device stamp, host clock at the ack."""
        x = self._x(device_us)
        lo, hi = host_sent_s - x, host_received_s - x
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
            return
        self.probes += 1
        k = self._probe.k
        self._probe.add(x, lo)
        self._ack.add(x, hi)
        if self._probe.k != k:  # a bin closed: the drift again, from both envelopes
            self._refit_drift()
        if self._x_app is not None:
            self._apply(max(x, self._x_app))

    def _refit_drift(self) -> None:
        if min(self._probe.span_s, self._ack.span_s) < self.drift_min_span_s:
            return
        # each envelope's slope weighted by how tightly its points follow it: the probes'
        # bound is loose by the wait for a connection event (up to an interval), the acks'
        # by the host's and the firmware's jitter
        (sp, rp), (sa, ra) = self._probe.hull_slope(), self._ack.hull_slope()
        wp, wa = 1 / max(rp, 1e-5) ** 2, 1 / max(ra, 1e-5) ** 2
        slope = (wp * sp + wa * sa) / (wp + wa)
        self._probe_drift = min(max(slope, -self.max_drift), self.max_drift)

    def _target(self, x: float) -> tuple[float, float] | None:
        slope = self._notif.slope if self._probe_drift is None else self._probe_drift
        hi = self._notif.value_with_slope(x, slope)
        lo = self._probe.value_with_slope(x, slope)
        if hi is None:
            return None
        if lo is None:
            return hi, slope
        # The earliest probes meet the device within the stacks' least latency; a
        # notification bound below that (impossible but for a wrong slope) still bounds it.
        return min(lo + self.probe_latency_s, hi), slope

    def _apply(self, x: float) -> None:
        t = self._target(x)
        if t is None:
            return
        target, slope = t
        if self._x_app is None:
            self._x_app, self._o_app, self._b_app = x, target, slope
            return
        dx = x - self._x_app
        if dx <= 0:
            return
        predicted = self._o_app + self._b_app * dx
        step = min(max(target - predicted, -self.max_slew * dx), self.max_slew * dx)
        self._x_app, self._o_app, self._b_app = x, predicted + step, slope

    # ------------------------------------------------------------------
    def to_host_s(self, device_us: np.ndarray | float) -> np.ndarray:
        """Host times (s) of device times (µs, unwrapped) with the current mapping."""
        if self._x_app is None or self._dev0_us is None:
            raise RuntimeError("ClockSync.to_host_s before the first observe()")
        x = (np.asarray(device_us, dtype=float) - float(self._dev0_us)) * 1e-6
        return x + self._o_app + self._b_app * (x - self._x_app)


def _lower_hull_slope(xs: np.ndarray, ys: np.ndarray, xm: float) -> float:
    """Slope of the lower convex hull edge above ``xm`` (xs ascending): the line below all
    points with the smallest summed distance to them."""
    hull: list[tuple[float, float]] = []
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        if hull and x <= hull[-1][0]:
            continue
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) <= 0:
                hull.pop()  # the middle point is on or above the chord
            else:
                break
        hull.append((x, y))
    if len(hull) < 2:
        return 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(hull):
        if x2 >= xm:
            return (y2 - y1) / (x2 - x1)
    (x1, y1), (x2, y2) = hull[-2], hull[-1]
    return (y2 - y1) / (x2 - x1)
