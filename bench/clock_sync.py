"""Live clock alignment between sensors: ``firmware_bridge/clock_sync.py`` under BLE timing.

The lumbar lead (hip onset - lumbar onset) compares sample times of different sensors, so
what matters is how far the mapped sample times of two sensors disagree for samples taken
at the same moment: the **misalignment between sensors**. An offset of 2/5/10/20 ms
between two sensors biases the median lead by -18/-45/-72/-124 ms.

Per scenario three sensors (one central, the same connection interval, random anchors)
stream for the session; each sensor's notifications go through the timing model of
``bench/ble_timing.py`` (connection events, failed events and interference bursts, host
latency, jitter and event-loop stalls) and are fed, in host-clock order, to a real
:class:`ClockSync` as ``manager/link.py`` does (one ``observe`` per notification with the
device time of its last sample, ``observe_probe`` per time probe, then ``to_host_s`` of the
notification's samples). The error of a sample is its mapped host time minus the host time
it was really taken; the misalignment at time t is the largest difference of two sensors'
errors (any pair: lumbar-sacrum for the lumbar angle, sacrum-thigh for the hip angle).

Device clocks: each sensor's clock started 5-3600 s before the session and runs -50,
+50 and a random -50..+50 ppm off the host's (crystals), wandering up to ±3 ppm more over
the first minutes (``WANDER_S``: warming up on the body); the central's event clock is up to
±20 ppm off. Devices:

- ``hipfirst``: the DIY profile at 200 Hz, 10-sample packets, sent by the reference
  firmware's IMU loop (every 10 ms plus a 0.6-2 ms FIFO read: the packet leaves at the
  first loop pass after its last sample), with time probes as the link sends them
  (``LinkSettings.probe_interval_s`` mean, 0.5-1.5 of it after the last ack; the mean is
  ``probe_warmup_interval_s`` for the first ``probe_warmup_s`` of the stream). The loop's
  jitter only delays packets: the earliest arrivals are still those whose last sample came
  just before a connection event, and with 50 ms packets those fall on a lattice
  gcd(50 ms, interval) apart (2.5 ms at 7.5 ms, 10 ms at 30, 50 ms at 50), a phase that
  walks only with the drift between the two clocks.
- ``hipfirst-timer-locked``: the same profile from a firmware that sends each packet
  0.2 ms after its last sample, with a batch whose period is a multiple of the connection
  interval (45 ms at 7.5 and 15 ms, 60 ms at 30, 50 ms at 50): every packet meets the
  connection events at the same phase.
- ``hipfirst-timer``: sent 0.2 ms after the last sample, 50 ms batches (55 ms at a 50 ms
  interval): packets meet the events at a few phases, gcd(period, interval) apart.
- ``movella_dot`` (60 Hz, one sample per notification, µs stamps), ``polar`` (52 Hz,
  frames of 20-72 samples sent when the next sample is taken, stamped with the last), and
  ``witmotion`` (100 Hz, one sample per notification, no clock: its oscillator is up to
  ±0.3 % off and wanders ±0.02 %, the driver's ``SampleTimeline`` numbers the samples):
  no time probes, the
  drivers do not support them (``supports_probe``). The ``ClockSync`` drift limit is each
  driver's ``clock_max_drift_ppm``.

One run per scenario and seed covers the longest session; a shorter session's figures are
its first minutes (the estimator is causal, so they are what a session of that length
gets). Printed per session length, pooled over the seeds: median / p95 / max of the
misalignment after ``--warmup`` s, and the settle time (after it the misalignment stays
within 2 ms; the worst seed; "never" if it is over 2 ms in the session's last minute);
also the largest |error| of any one sensor (a shift common to all sensors does not bias
the lead, only the alert latency).

Run: ``.venv/bin/python bench/clock_sync.py`` (10-minute sessions, every device but
``hipfirst-timer`` at 7.5/15/30/50 ms, one seed: about 50 s on two cores);
``--minutes 60 --seeds 2 --only hipfirst ...`` for hour-long sessions (about 15 s of CPU
per hipfirst run, 2 min per WitMotion run); ``--only hipfirst movella_dot --ci 30``.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from ble_timing import Events, Firmware, Host, HostLoop, Radio, probes

from firmware_bridge.clock_sync import ClockSync
from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.devices.polar.driver import PolarDriver
from firmware_bridge.devices.witmotion.driver import WitMotionDriver
from firmware_bridge.devices.witmotion.timeline import SampleTimeline
from firmware_bridge.manager.driver import SensorDriver
from firmware_bridge.manager.hipfirst_driver import HipfirstDriver
from firmware_bridge.manager.link import LinkSettings

CIS_MS = (7.5, 15.0, 30.0, 50.0)
LIMIT_S = 2e-3
GRID_S = 0.01
WANDER_S = 300.0


@dataclass(frozen=True)
class Packets:
    """One sensor's notifications in device seconds since its first sample."""

    first: np.ndarray  # index of the first sample of each notification
    count: np.ndarray
    send: np.ndarray  # device time it is handed to the BLE stack
    period: float  # sample period, device seconds


Plan = Callable[[float, float, np.random.Generator], Packets]


def _batches(period: float, batch: int, duration: float) -> tuple[np.ndarray, np.ndarray]:
    n = int(duration / (period * batch))
    return np.arange(n) * batch, np.full(n, batch)


def hipfirst_loop(ci: float, duration: float, rng: np.random.Generator) -> Packets:
    period = 0.005
    first, count = _batches(period, 10, duration)
    last = (first + count - 1) * period
    ticks = rng.uniform(0, 0.01) + np.cumsum(0.01 + rng.uniform(0.0006, 0.002, len(first) * 6))
    send = ticks[np.searchsorted(ticks, last)] + 0.0002
    return Packets(first, count, send, period)


def hipfirst_timer(batch_of: Callable[[float], int]) -> Plan:
    def plan(ci: float, duration: float, rng: np.random.Generator) -> Packets:
        period = 0.005
        first, count = _batches(period, batch_of(ci), duration)
        return Packets(first, count, (first + count - 1) * period + 0.0002, period)

    return plan


def locked_batch(ci: float) -> int:
    """Samples per packet so that the packet period is a multiple of ``ci`` (>= 40 ms)."""
    k = math.ceil(0.04 / ci - 1e-9)
    while round(k * ci / 0.005, 6) % 1:
        k += 1
    return round(k * ci / 0.005)


def one_per_notification(rate_hz: float, delay_s: float) -> Plan:
    def plan(ci: float, duration: float, rng: np.random.Generator) -> Packets:
        period = 1.0 / rate_hz
        first, count = _batches(period, 1, duration)
        return Packets(first, count, first * period + delay_s, period)

    return plan


def polar_frames(ci: float, duration: float, rng: np.random.Generator) -> Packets:
    period = 1.0 / 52
    count = rng.integers(20, 73, int(duration / period / 20) + 1)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    keep = (first + count) * period < duration
    first, count = first[keep], count[keep]
    return Packets(first, count, (first + count) * period + 0.0003, period)


class DeviceClock:
    """Device seconds since the first sample against host seconds since then: ``drift_ppm``
    off, plus ``wander_ppm`` more approached over ``WANDER_S`` (the sensor warming up on the
    body)."""

    def __init__(self, drift_ppm: float, wander_ppm: float, duration_s: float) -> None:
        u = np.arange(0.0, duration_s + 10.0, 1.0)
        ramp = u - WANDER_S * (1 - np.exp(-u / WANDER_S))
        self._u = u
        self._d = u + (drift_ppm * u + wander_ppm * ramp) * 1e-6

    def device_s(self, host_s: np.ndarray | float) -> np.ndarray:
        return np.interp(host_s, self._u, self._d)

    def host_s(self, device_s: np.ndarray | float) -> np.ndarray:
        return np.interp(device_s, self._d, self._u)


@dataclass(frozen=True)
class Kind:
    name: str
    plan: Plan
    driver: type[SensorDriver]
    drift_ppm: float = 50.0
    wander_ppm: float = 3.0
    counted: bool = False  # no device clock: the sample index is the clock (WitMotion)


DEFAULT_KINDS = ["hipfirst", "hipfirst-timer-locked", "movella_dot", "polar", "witmotion"]
KINDS = {
    k.name: k
    for k in (
        Kind("hipfirst", hipfirst_loop, HipfirstDriver),
        Kind("hipfirst-timer-locked", hipfirst_timer(locked_batch), HipfirstDriver),
        Kind("hipfirst-timer", hipfirst_timer(lambda ci: 11 if ci == 0.05 else 10), HipfirstDriver),
        Kind("movella_dot", one_per_notification(60.0, 0.0003), MovellaDotDriver),
        Kind("polar", polar_frames, PolarDriver),
        Kind("witmotion", one_per_notification(100.0, 0.0002), WitMotionDriver, 3000, 200, True),
    )
}


def run_sensor(
    kind: Kind,
    radio: Radio,
    host: HostLoop,
    *,
    drift_ppm: float,
    start_s: float,
    duration_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(true host time, mapped - true) of every sample of one sensor."""
    p = kind.plan(radio.ci_s, (duration_s - start_s) * 1.01, rng)  # device clocks run fast
    boot_us = 0.0 if kind.counted else rng.uniform(5.0, 3600.0) * 1e6
    clock = DeviceClock(drift_ppm, rng.uniform(-1, 1) * kind.wander_ppm, duration_s - start_s)

    def host_of(dev_s: np.ndarray | float) -> np.ndarray:
        return start_s + clock.host_s(dev_s)

    events = Events(radio, duration_s, rng)
    keep = host_of(p.send) < duration_s
    p = Packets(p.first[keep], p.count[keep], p.send[keep], p.period)
    arrival = host.callback_at(events.deliver(host_of(p.send)), rng)
    items: list[tuple[float, int, tuple[float, float, float] | None]] = [
        (a, i, None) for i, a in enumerate(arrival.tolist())
    ]
    if kind.driver.supports_probe:
        link = LinkSettings()
        for pr in probes(
            events,
            host,
            Firmware(),
            lambda t: boot_us + float(clock.device_s(t - start_s)) * 1e6,
            start_s=float(arrival[0]),
            end_s=duration_s,
            mean_interval_s=link.probe_interval_s,
            warmup_s=link.probe_warmup_s,
            warmup_interval_s=link.probe_warmup_interval_s,
            rng=rng,
        ):
            items.append((pr[2], -1, pr))
    items.sort(key=lambda x: x[0])

    sync = ClockSync(max_drift_ppm=kind.driver.clock_max_drift_ppm)
    timeline = (
        SampleTimeline(rate_hz=1 / p.period, max_drift_ppm=kind.driver.clock_max_drift_ppm)
        if kind.counted
        else None
    )
    period_us = p.period * 1e6
    times, errors = [], []
    for t, i, pr in items:
        if pr is not None:
            if sync.ready:  # the link probes once the stream is up
                sync.observe_probe(round(pr[1]), pr[0], pr[2])
            continue
        n = int(p.count[i])
        k0 = int(p.first[i])
        first = timeline.add(n, t)[0] if timeline is not None else k0
        t0_us = round(boot_us + first * period_us)
        sync.observe(round(t0_us + (n - 1) * period_us), t)
        mapped = sync.to_host_s(t0_us + np.arange(n) * period_us)
        true = host_of((k0 + np.arange(n)) * p.period)
        times.append(true)
        errors.append(mapped - true)
    return np.concatenate(times), np.concatenate(errors)


@dataclass(frozen=True)
class Result:
    kind: str
    ci_ms: float
    seed: int
    grid: np.ndarray  # host time
    misalign: np.ndarray  # largest |difference| of two sensors' errors, s
    worst_abs: np.ndarray  # largest |error| of any one sensor, s
    elapsed_s: float


def scenario(kind_name: str, ci_ms: float, seed: int, minutes: float) -> Result:
    wall = time.perf_counter()
    kind = KINDS[kind_name]
    rng = np.random.default_rng([seed, round(ci_ms * 10), *kind_name.encode()])
    duration = minutes * 60.0
    host = HostLoop(Host(), duration, rng)
    drifts = [-kind.drift_ppm, kind.drift_ppm, rng.uniform(-kind.drift_ppm, kind.drift_ppm)]
    series = []
    for drift in rng.permutation(drifts):
        radio = Radio(
            ci_s=ci_ms * 1e-3,
            phase_s=rng.uniform(0, ci_ms * 1e-3),
            central_ppm=rng.uniform(-20, 20),
        )
        start = rng.uniform(0.0, 2.0)
        series.append(
            run_sensor(
                kind, radio, host, drift_ppm=drift, start_s=start, duration_s=duration, rng=rng
            )
        )
    t0 = max(s[0][0] for s in series)
    t1 = min(s[0][-1] for s in series)
    grid = np.arange(t0, t1, GRID_S)
    errs = np.array([np.interp(grid, t, e) for t, e in series])
    misalign = errs.max(axis=0) - errs.min(axis=0)
    return Result(
        kind_name,
        ci_ms,
        seed,
        grid,
        misalign,
        np.abs(errs).max(axis=0),
        time.perf_counter() - wall,
    )


def settle_s(grid: np.ndarray, mis: np.ndarray, end_s: float) -> float:
    """Time after which ``mis`` stays within the limit (inf if over it in the last minute)."""
    over = np.flatnonzero(mis > LIMIT_S)
    if len(over) == 0:
        return float(grid[0])
    last = float(grid[over[-1]]) + GRID_S
    return math.inf if last > end_s - 60.0 and end_s > 60.0 else last


def summary_rows(results: list[Result], minutes: list[float], warmup_s: float) -> list[str]:
    rows = []
    for m in minutes:
        end = m * 60.0
        mis, worst, settle = [], [], []
        for r in results:
            if r.grid[-1] < end - 5.0:  # the last notification can be a Polar frame back
                break
            inside = r.grid <= end
            after = inside & (r.grid >= warmup_s)
            mis.append(r.misalign[after])
            worst.append(r.worst_abs[after])
            settle.append(settle_s(r.grid[inside], r.misalign[inside], end))
        else:
            a = np.concatenate(mis) * 1e3
            s = max(settle)
            rows.append(
                f"{m:5.0f} min  {np.median(a):6.2f} {np.percentile(a, 95):6.2f} {a.max():6.2f}"
                f"  {'never' if math.isinf(s) else f'{s:5.1f} s':>7}"
                f"  {np.concatenate(worst).max() * 1e3:7.2f}"
            )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=list(KINDS), default=DEFAULT_KINDS)
    ap.add_argument("--ci", nargs="*", type=float, default=list(CIS_MS), help="ms")
    ap.add_argument("--minutes", type=float, default=10.0, help="session length")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=10.0, help="s excluded from the stats")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    jobs = [
        (k, ci, seed, args.minutes)
        for k in args.only
        for ci in args.ci
        for seed in range(args.seeds)
    ]
    wall = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(scenario, *zip(*jobs, strict=True)))
    print(
        f"misalignment between 3 sensors (ms; stats after {args.warmup:g} s; settle = stays "
        f"within {LIMIT_S * 1e3:g} ms; |err| = largest error of one sensor), {args.seeds} seed(s)"
    )
    print(
        f"{'':28}{'session':>9}  {'median':>6} {'p95':>6} {'max':>6}  {'settle':>7}  {'|err|':>7}"
    )
    for kind in args.only:
        for ci in args.ci:
            rs = [r for r in results if r.kind == kind and r.ci_ms == ci]
            minutes = [m for m in (1.0, 10.0, 60.0) if m <= args.minutes]
            for j, row in enumerate(summary_rows(rs, minutes, args.warmup)):
                label = f"{kind} CI {ci:g} ms" if j == 0 else ""
                print(f"{label:31}{row}")
    cpu = sum(r.elapsed_s for r in results)
    print(f"{len(results)} runs, {cpu:.0f} s of CPU, {time.perf_counter() - wall:.0f} s wall")


if __name__ == "__main__":
    main()
