"""Clock alignment against ground truth with a BLE-like delay model.

The model: each sensor has its own connection interval (7.5-50 ms) and phase; a packet
(10 samples at 200 Hz, ready 50 ms after its first sample on the device clock) goes out at
the first connection event after it is ready, 10 % of packets wait 1-3 more intervals
(retransmission), then host stack latency 0.6 ms + exponential jitter (0.3 ms mean).
Time probes are written at random host times (every 0.15-0.35 s; 0.025-0.075 s during an
optional start-up, as ``LinkSettings.probe_warmup_s``) after a 0.3-2 ms host
write latency; the device stamps them at the connection event and the ack comes back one
interval later. Device clocks: 50 ms offsets between sensors, drift -100..+100 ppm,
the u32 µs counter wrapping mid-run.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.clock_sync import ClockSync
from firmware_bridge.profile.unwrap import Unwrapper

PERIOD_US = 5000
BATCH = 10
WARMUP_S = 15.0


def simulate(
    *,
    ci_s: float,
    drift_ppm: float,
    offset_s: float,
    seed: int,
    probes: bool,
    duration_s: float = 60.0,
    warmup_s: float = 0.0,
):
    rng = np.random.default_rng(seed)
    drift = drift_ppm * 1e-6
    phase = rng.uniform(0, ci_s)
    boot_us = (1 << 32) - 20_000_000  # the u32 counter wraps 20 s into the run

    def dev_of(t: float) -> float:
        return boot_us + (t - offset_s) * (1 + drift) * 1e6

    def host_of(dev_us):
        return (np.asarray(dev_us, float) - boot_us) / (1 + drift) / 1e6 + offset_s

    def next_event(t: float) -> float:
        return phase + np.ceil((t - phase) / ci_s) * ci_s

    cs = ClockSync()
    unwrap = Unwrapper(1 << 32)
    errors, times = [], []
    last_arrival = -1.0
    next_probe = rng.uniform(0.2, 0.8)
    i0 = 0
    while True:
        dev = boot_us + (i0 + np.arange(BATCH)) * PERIOD_US
        ready_us = int(dev[0]) + 50_000
        t_ready = float(host_of(ready_us))
        if t_ready > duration_s:
            break
        while probes and next_probe < t_ready:
            h0 = next_probe
            ev = next_event(h0 + rng.uniform(0.0003, 0.002))
            stamp = unwrap(int(dev_of(ev + 0.0001)) % (1 << 32))
            h1 = next_event(ev + 0.0002) + ci_s * (rng.random() < 0.1)
            h1 += 0.0006 + rng.exponential(0.0003)
            cs.observe_probe(stamp, h0, h1)
            # every 0.05 s on average for the first warmup_s (LinkSettings' start-up), then 0.25
            next_probe += rng.uniform(0.025, 0.075) if h0 < warmup_s else rng.uniform(0.15, 0.35)
        ev = next_event(t_ready + 0.0002)
        if rng.random() < 0.1:
            ev += ci_s * rng.integers(1, 4)
        arrival = max(ev + 0.0006 + rng.exponential(0.0003), last_arrival + 1e-5)
        last_arrival = arrival
        cs.observe(unwrap(ready_us % (1 << 32)), arrival)
        first = unwrap(int(dev[0]) % (1 << 32))
        mapped = cs.to_host_s(first + np.arange(BATCH) * PERIOD_US)
        errors.append(mapped - host_of(dev))
        times.append(host_of(dev) - offset_s)
        i0 += BATCH
    return np.concatenate(times), np.concatenate(errors), cs


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_three_sensors_drift_and_offset_aligned_within_2ms(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sensors = [(-100.0, 0.0), (0.0, 0.05), (100.0, 0.10)]  # (drift ppm, offset s)
    for k, (drift_ppm, offset_s) in enumerate(sensors):
        ci_s = float(rng.choice([0.0075, 0.015, 0.030, 0.045]))
        t, err, cs = simulate(
            ci_s=ci_s, drift_ppm=drift_ppm, offset_s=offset_s, seed=seed * 10 + k, probes=True
        )
        after = t > WARMUP_S
        worst_ms = np.abs(err[after]).max() * 1e3
        print(
            f"seed {seed} sensor {k}: CI {ci_s * 1e3:.1f} ms, drift {drift_ppm:+.0f} ppm, "
            f"max |error| after {WARMUP_S:.0f} s = {worst_ms:.2f} ms, "
            f"estimated drift {cs.drift_ppm:+.1f} ppm"
        )
        assert worst_ms <= 2.0
        # the drift estimate follows the truth (host - device slope = -drift)
        assert cs.drift_ppm == pytest.approx(-drift_ppm, abs=40.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_five_minutes_three_sensors_stay_aligned_within_1ms(seed: int) -> None:
    """Probing as the link does (every 0.05 s for 30 s, then 0.25 s), three sensors at
    7.5, 30 and 50 ms connection intervals: after the first minute the mapped times of any
    two sensors disagree by at most 1 ms (measured: 0.24 / 0.77 / 0.30 ms max; the estimate
    before the long drift window and the probe floor: 1.50 / 1.95 / 2.19 ms)."""
    grid = np.arange(60.0, 295.0, 0.01)
    errors = []
    for k, (ci_s, drift_ppm) in enumerate([(0.0075, -50.0), (0.03, 50.0), (0.05, 20.0)]):
        t, err, _ = simulate(ci_s=ci_s, drift_ppm=drift_ppm, offset_s=0.0, seed=seed * 10 + k,
                             probes=True, duration_s=300.0, warmup_s=30.0)  # fmt: skip
        errors.append(np.interp(grid, t, err))
    e = np.array(errors)
    worst_ms = (e.max(axis=0) - e.min(axis=0)).max() * 1e3
    print(f"seed {seed}: largest misalignment after 60 s {worst_ms:.2f} ms")
    assert worst_ms <= 1.0


def test_mapped_times_strictly_increase_through_warmup() -> None:
    t, err, _ = simulate(ci_s=0.05, drift_ppm=100, offset_s=0.0, seed=3, probes=True)
    mapped = t + err
    assert np.all(np.diff(mapped) > 0)


def test_notifications_only_lower_envelope_stays_within_the_delay_floor() -> None:
    """Without probes the one-way lower envelope of the arrivals stays within 4 ms of the
    true mapping after warm-up (7.5 ms connection interval, 50 ppm drift)."""
    t, err, cs = simulate(ci_s=0.0075, drift_ppm=50, offset_s=0.0, seed=5, probes=False)
    after = t > WARMUP_S
    assert np.abs(err[after]).max() <= 4.0e-3
    assert cs.uncertainty_s is None


def test_phase_locked_notifications_without_probes_are_biased_and_probes_fix_it() -> None:
    """A 50 ms batch on a 50 ms connection interval meets the events at a fixed phase: the
    one-way bound cannot see it (documented limitation); time probes remove it."""
    t, err_np, _ = simulate(ci_s=0.05, drift_ppm=0, offset_s=0.0, seed=8, probes=False)
    t2, err_p, cs = simulate(ci_s=0.05, drift_ppm=0, offset_s=0.0, seed=8, probes=True)
    bias_np = np.abs(err_np[t > WARMUP_S]).mean() * 1e3
    worst_p = np.abs(err_p[t2 > WARMUP_S]).max() * 1e3
    print(f"phase-locked bias without probes {bias_np:.1f} ms, with probes max {worst_p:.2f} ms")
    assert bias_np > 5.0  # the limitation is there (measured 17 ms) ...
    assert worst_p <= 2.0  # ... and the probes remove it
    assert cs.uncertainty_s is not None and cs.uncertainty_s > 0.005


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        ClockSync(max_slew=1.0)
    with pytest.raises(RuntimeError):
        ClockSync().to_host_s(0)
