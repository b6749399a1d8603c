"""Sample times for a sensor that sends no timestamps and no counter (WitMotion BLE).

The only clock is the host's arrival time of each notification, which is late by a
positive, jittery delay (wait for the next connection event, retransmissions, host
scheduling). The samples themselves come from the sensor's own oscillator at a steady
rate, so the sample index ``k`` is a clock: device time ``k × nominal period``.

Two layers turn that into a steady host timeline:

1. **This module** keeps ``k`` honest. It fits arrival time against ``k`` with the lower
   envelope (:class:`firmware_bridge.clock_sync.ClockSync`, the same estimator the manager
   uses): every arrival is an upper bound on its sample's true time, the line under them
   follows the earliest. A notification that left the sensor never carries a *later*
   sample than expected unless samples were lost, so when the lateness floor over the last
   ``window_s`` stays steady but sits at least a sample period above the fit, the sensor
   dropped samples (its buffer overflowed while the link was slow): ``k`` jumps by the
   whole periods the floor rose, and the manager sees a gap in device time. A burst after
   a stall is not a loss: the burst catches up, so its floor returns to the fit, and the
   floor must be steady across the window before anything is declared.
2. **The manager** (:mod:`firmware_bridge.manager.link`) then treats ``k × period`` like
   any device clock: :class:`ClockSync` fits offset and drift against arrivals (lower
   envelope, drift allowed up to the driver's ``clock_max_drift_ppm``) and maps every
   sample to a host time on a straight line, so arrival jitter never reaches the samples.

Limits (measured on the simulation in ``tests/test_witmotion_timeline.py``): runs of two or
more lost samples are found and counted (exactly, unless the connection interval is a
multiple of the sample period, where the count can be one short); a single lost sample is
not declared (it would look like connection-event phase) and is absorbed by the manager's
clock fit instead, leaving an error of at most one period. Samples delivered between a loss
and its detection (one ``window_s``) keep their earlier times. A sensor whose queue stays
full for longer than ``window_s`` looks like one that dropped samples.

After a reconnect the index carries on from the last connection's fitted line
(:meth:`SampleTimeline.resume_index`, from the earliest of the first notifications'
arrivals, which the driver holds for half a second): the manager's clock fit still holds
the points from before the absence, so an index a sample off would shift every time by a
period for up to 30 s. Measured on the simulation after a 30 s absence: within 4 ms of
the latency floor from the first sample back, with the oscillator 0 or ±0.5 % off.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from firmware_bridge.clock_sync import ClockSync


class SampleTimeline:
    """Sample index of each notification's first sample, with lost samples detected."""

    def __init__(
        self,
        *,
        rate_hz: float,
        start_index: int = 0,
        window_s: float = 2.0,
        settle_s: float = 5.0,
        max_drift_ppm: float = 20000.0,
    ) -> None:
        if rate_hz <= 0 or window_s <= 0:
            raise ValueError("rate_hz and window_s must be positive")
        self.period_s = 1.0 / rate_hz
        self.window_s = window_s
        self.settle_s = settle_s
        self.next_index = start_index
        self.lost = 0
        """Samples declared lost so far."""
        self.sync = ClockSync(max_drift_ppm=max_drift_ppm, drift_min_span_s=2.0)
        self._first_arrival: float | None = None
        self._last_arrival: float | None = None
        self._recent: deque[tuple[float, float]] = deque()  # (arrival, lateness)
        self._ref_floor: float | None = None
        """Lateness floor of the steady windows before (the connection-event phase)."""

    def _device_us(self, index: float) -> int:
        return round(index * self.period_s * 1e6)

    def predicted_s(self, index: float) -> float:
        """Host time the fit expects sample ``index`` to arrive at (the earliest arrivals)."""
        return float(self.sync.to_host_s(self._device_us(index)))

    def _step_s(self) -> float:
        """Host seconds per sample on the fitted line (the sensor's real period)."""
        return self.period_s * (1 + self.sync.drift_ppm * 1e-6)

    def index_at(self, host_s: float) -> int:
        """The first sample index that cannot have arrived by ``host_s``: the first whose
        earliest arrival on the fitted line is later (to continue after a reconnect)."""
        if not self.sync.ready:
            return self.next_index
        ahead = (host_s - self.predicted_s(self.next_index)) / self._step_s()
        return self.next_index + max(0, math.floor(ahead) + 1)

    def resume_index(self, notes: Sequence[tuple[int, float | None]]) -> int:
        """Index of the first sample of the first notifications after a reconnect, given
        each one's ``(sample count, arrival)``: their earliest arrival relative to the
        fitted line, in whole periods (rounded: the line, extrapolated over the absence,
        can be off by a millisecond or two either way).

        :meth:`index_at` of the reconnect time can be up to a connection interval ahead:
        the first frame waited for a connection event. The last frame of an event waited
        less than a period, so the earliest of a few events pins the index down."""
        if not self.sync.ready:
            return self.next_index
        step = self._step_s()
        floor: float | None = None  # the earliest arrival after the line, in periods
        last = -1  # the current notification's last sample, counted from the first
        for count, arrival in notes:
            last += count
            if arrival is None or not math.isfinite(arrival):
                continue
            late = (arrival - self.predicted_s(self.next_index + last)) / step
            floor = late if floor is None else min(floor, late)
        if floor is None:
            return self.next_index
        return self.next_index + max(0, math.floor(floor + 0.5))

    def add(self, count: int, arrival_s: float | None) -> tuple[int, int]:
        """A notification of ``count`` samples arrived: (index of its first sample, samples
        declared lost just before it)."""
        lost = 0
        if arrival_s is not None and math.isfinite(arrival_s):
            lost = self._check(count, arrival_s)
        first = self.next_index + lost
        self.next_index = first + count
        if arrival_s is not None and math.isfinite(arrival_s):
            if self._first_arrival is None:
                self._first_arrival = arrival_s
            self._last_arrival = arrival_s
            self.sync.observe(self._device_us(self.next_index - 1), arrival_s)
        return first, lost

    def _check(self, count: int, arrival_s: float) -> int:
        if not self.sync.ready or self._first_arrival is None:
            return 0
        late = arrival_s - self.predicted_s(self.next_index + count - 1)
        recent = self._recent
        recent.append((arrival_s, late))
        while recent and recent[0][0] < arrival_s - self.window_s:
            recent.popleft()
        if arrival_s - self._first_arrival < self.settle_s + self.window_s:
            return 0
        if len(recent) < 8 or recent[-1][0] - recent[0][0] < 0.9 * self.window_s:
            return 0  # a burst after a stall: wait for a steady window
        half = len(recent) // 2
        older = min(x[1] for x in list(recent)[:half])
        newer = min(x[1] for x in list(recent)[half:])
        if abs(older - newer) > 0.5 * self.period_s:
            return 0  # still catching up (or drifting): not steady yet
        floor = min(older, newer)
        if self._ref_floor is None:
            self._ref_floor = floor
            return 0
        excess = floor - self._ref_floor
        if excess < 1.5 * self.period_s:
            # no loss: follow the floor slowly (connection-event phase walks)
            self._ref_floor += 0.05 * (floor - self._ref_floor)
            return 0
        lost = round(excess / self.period_s)
        self.lost += lost
        recent.clear()
        return lost
