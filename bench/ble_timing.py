"""A BLE timing model for clock alignment: when a sensor's notifications reach the host's
Python callback, and what a time probe measures. Used by ``bench/clock_sync.py``.

- **Connection events** every ``ci_s`` on the central's clock (``central_ppm`` off the
  host's), from a random anchor. The peripheral transmits its queued notifications in the
  next event that starts at least ``prep_s`` after they were queued, back to back
  (``air_s`` each, at most ``per_event`` per event; the rest wait for the next event).
- **Failed events** (a CRC error, interference): the exchange fails and everything queued
  waits for a later event (the link layer retransmits in order). Independent failures with
  probability ``fail_p`` per event, plus interference bursts (``bursts_per_min``, lasting
  ``burst_s``) during which every event fails: late deliveries of a batch of packets.
- **Host**: controller -> Python callback takes ``lat_s`` plus exponential jitter
  (``jitter_s`` mean); the event loop is sometimes busy (``stalls_per_s``, lasting
  ``stall_s``: garbage collection, plotting, analysis), and a callback due during a stall
  runs at its end. Stalls are the host's, shared by all sensors.
- **Time probe** (hipfirst TIME_SYNC, as ``manager/link.py`` and ``HipfirstDriver.probe``
  do it): the host reads its clock, writes (reaching the controller ``write_lat_s`` plus
  exponential ``write_jitter_s`` later); the central sends it at the next good event; the
  device stamps it after ``proc_s`` plus exponential ``proc_jitter_s``, and with
  probability ``busy_p`` the firmware is in the middle of an IMU read (up to ``busy_s``
  more: the reference firmware is MicroPython with one asyncio loop); the ack goes out in
  the next good event after that and reaches the callback like a notification.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class Radio:
    ci_s: float
    phase_s: float
    central_ppm: float = 0.0
    prep_s: float = 0.0003
    air_s: float = 0.0006
    per_event: int = 6
    fail_p: float = 0.03
    bursts_per_min: float = 2.0
    burst_s: tuple[float, float] = (0.05, 0.3)


@dataclass(frozen=True, kw_only=True)
class Host:
    lat_s: float = 0.0006
    jitter_s: float = 0.0005
    stalls_per_s: float = 1.0
    stall_s: tuple[float, float] = (0.002, 0.025)
    write_lat_s: float = 0.0004
    write_jitter_s: float = 0.0006


@dataclass(frozen=True, kw_only=True)
class Firmware:
    proc_s: float = 0.00015
    proc_jitter_s: float = 0.00015
    busy_p: float = 0.2
    busy_s: float = 0.0025


class Events:
    """One connection's event times on the host clock and which of them fail."""

    def __init__(self, radio: Radio, duration_s: float, rng: np.random.Generator) -> None:
        self.radio = radio
        self.ci = radio.ci_s * (1 + radio.central_ppm * 1e-6)
        n = math.ceil((duration_s + 5.0) / self.ci) + 64
        fail = rng.random(n) < radio.fail_p
        n_bursts = rng.poisson(radio.bursts_per_min * duration_s / 60.0)
        for start in rng.uniform(0, duration_s, n_bursts):
            length = rng.uniform(*radio.burst_s)
            a = max(0, math.ceil((start - radio.phase_s) / self.ci))
            b = math.floor((start + length - radio.phase_s) / self.ci)
            fail[a : b + 1] = True
        self.fail = fail

    def time(self, n: int) -> float:
        return self.radio.phase_s + n * self.ci

    def first_good(self, t: float, after: int = -1) -> int:
        """Index of the first event that starts at or after ``t`` (and after event
        ``after``) and does not fail."""
        n = max(math.ceil((t - self.radio.phase_s) / self.ci), after + 1, 0)
        while self.fail[n]:
            n += 1
        return n

    def deliver(self, queued_s: np.ndarray) -> np.ndarray:
        """When each notification (queued at ``queued_s``, ascending) reaches the host
        controller: in order, ``per_event`` per good event at most."""
        r = self.radio
        out = np.empty(len(queued_s))
        n_prev, slot = -1, 0
        for i, q in enumerate(queued_s.tolist()):
            n = self.first_good(q + r.prep_s)
            if n <= n_prev:  # still in the queue when the previous one left
                n, slot = n_prev, slot + 1
                if slot >= r.per_event:
                    n, slot = self.first_good(0.0, after=n_prev), 0
            else:
                slot = 0
            out[i] = self.time(n) + (slot + 1) * r.air_s
            n_prev = n
        return out


class HostLoop:
    """The host: callback latency and the event loop's stalls (shared by all sensors)."""

    def __init__(self, host: Host, duration_s: float, rng: np.random.Generator) -> None:
        self.host = host
        n = rng.poisson(host.stalls_per_s * (duration_s + 5.0))
        starts = np.sort(rng.uniform(0, duration_s + 5.0, n))
        ends = starts + rng.uniform(*host.stall_s, n)
        self.starts, self.ends = starts, np.maximum.accumulate(ends)

    def callback_at(self, ctrl_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Host clock read in the Python callback of notifications that reached the
        controller at ``ctrl_s``: latency, jitter, stalls; in order."""
        h = self.host
        t = np.asarray(ctrl_s, float) + h.lat_s + rng.exponential(h.jitter_s, len(ctrl_s))
        k = np.searchsorted(self.starts, t, side="right") - 1
        stalled = (k >= 0) & (t < self.ends[np.maximum(k, 0)])
        t = np.where(stalled, self.ends[np.maximum(k, 0)] + 2e-5, t)
        return np.maximum.accumulate(t)


def probes(
    events: Events,
    host: HostLoop,
    firmware: Firmware,
    device_us: Callable[[float], float],
    *,
    start_s: float,
    end_s: float,
    mean_interval_s: float,
    warmup_s: float = 0.0,
    warmup_interval_s: float = 0.0,
    rng: np.random.Generator,
) -> Iterator[tuple[float, float, float]]:
    """Time probes as the link sends them: ``(host before write, device stamp µs, host at
    ack)``, the next one a random 0.5-1.5 mean intervals after the last ack (the mean is
    ``warmup_interval_s`` for the first ``warmup_s``)."""
    r, h, fw = events.radio, host.host, firmware

    def pause(t: float) -> float:
        mean = warmup_interval_s if t - start_s < warmup_s else mean_interval_s
        return rng.uniform(0.5, 1.5) * mean

    t = start_s + pause(start_s)
    while t < end_s:
        h0 = t
        written = h0 + h.write_lat_s + rng.exponential(h.write_jitter_s)
        n = events.first_good(written)
        received = events.time(n) + r.air_s
        stamped = received + fw.proc_s + rng.exponential(fw.proc_jitter_s)
        if rng.random() < fw.busy_p:
            stamped += rng.uniform(0, fw.busy_s)
        m = events.first_good(stamped + r.prep_s, after=n)
        h1 = float(host.callback_at(np.array([events.time(m) + r.air_s]), rng)[0])
        yield h0, device_us(stamped), h1
        t = h1 + pause(h1)
