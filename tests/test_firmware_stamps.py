"""The reference firmware's sample stamping (``hfcore.SensorCore.burst_t0``, what
``device/main.py``'s IMU loop calls for each FIFO burst) through the host's real
``SensorLink``: every sample the IMU took arrives, in time order, with no false gap or
duplicate, whatever the loop's timing and the IMU oscillator's error; a FIFO overflow is
one gap of the right size. The firmware's logic runs here under CPython (its wire format
is checked under the MicroPython unix port in ``test_firmware_logic.py``)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.manager import GapEvent, HipfirstDriver, LinkSettings, SampleBlock
from firmware_bridge.manager.link import SensorLink

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware_bridge/firmware/lib"))
import hfcore


def _stream(
    rate_hz: int, imu_ppm: float, *, seconds: float = 30.0, overflow_at_s: float | None = None
) -> tuple[int, int, list[object]]:
    """The IMU samples at its own (ppm-off) rate; every 10 ms plus 0.5-3 ms of other work
    the loop reads what the FIFO holds and stamps it. Returns (samples taken, samples
    dropped in an overflow, the link's events)."""
    rng = random.Random(rate_hz * 7 + int(imu_ppm))
    core = hfcore.SensorCore(supported_rates=(50, 100, 200), rate_hz=rate_hz, att_mtu=247)
    core.streaming = True
    p_imu = core.period_us * (1 + imu_ppm * 1e-6)
    events: list[object] = []
    link = SensorLink(
        "thigh", "AA:BB:CC:DD:EE:FF", HipfirstDriver(), settings=LinkSettings(),
        clock=lambda: 0.0, t0_s=0.0, emit=events.append,
    )  # fmt: skip
    start = now = 5_000_000.0
    link._seed_device_time(int(now))
    k, phase, taken, lost = 0, rng.uniform(0, p_imu), 0, 0
    while now < start + seconds * 1e6:
        now += 10_000 + rng.uniform(500, 3000)
        n = 0
        while start + phase + k * p_imu <= now:
            k += 1
            n += 1
        taken += n
        if overflow_at_s is not None and now >= start + overflow_at_s * 1e6 and not lost:
            lost = n  # the FIFO overflowed: this burst is gone, the firmware says so
            core.mark_gap()
            continue
        t = core.burst_t0(int(now), n)
        packets = []
        for _ in range(n):
            pkt = core.on_sample(t & 0xFFFFFFFF, (0, 0, 4096, 0, 0, 0))
            t += core.period_us
            if pkt is not None:
                packets.append(pkt)
        pkt = core.poll(int(now) & 0xFFFFFFFF)
        if pkt is not None:
            packets.append(pkt)
        for pkt in packets:
            link._handle(now * 1e-6 + 0.01, bytes(pkt))
    return taken, lost, events


@pytest.mark.parametrize("rate_hz", [100, 200])
@pytest.mark.parametrize("imu_ppm", [-3000.0, 0.0, 3000.0])
def test_every_sample_arrives_in_order_without_false_gaps(rate_hz: int, imu_ppm: float) -> None:
    """Stamped back from "now" burst by burst, packet times jittered by up to a period:
    the host dropped early packets as duplicates and booked late ones as lost (200 Hz:
    1632 of 12002 samples dropped, 285 false gaps in 60 s)."""
    taken, _, events = _stream(rate_hz, imu_ppm)
    blocks = [e for e in events if isinstance(e, SampleBlock)]
    delivered = sum(len(b.time_s) for b in blocks)
    assert not [e for e in events if isinstance(e, GapEvent)]
    assert taken - 10 <= delivered <= taken  # the last batch may still be waiting
    t = np.concatenate([b.time_s for b in blocks])
    step = np.diff(t) * rate_hz
    assert step.min() > 0.7 and step.max() < 1.5  # a period, nudged at most 30 %


def test_a_fifo_overflow_is_one_gap_of_its_size() -> None:
    taken, lost, events = _stream(200, 0.0, overflow_at_s=10.0)
    gaps = [e for e in events if isinstance(e, GapEvent)]
    assert len(gaps) == 1 and lost >= 2
    assert abs(gaps[0].samples_lost - lost) <= 1
    delivered = sum(len(e.time_s) for e in events if isinstance(e, SampleBlock))
    assert taken - lost - 10 <= delivered <= taken - lost
