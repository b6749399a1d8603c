"""The streaming pipeline survives whatever a misbehaving sensor delivers.

Packets with NaN/inf values, repeated or backwards times, huge jumps, empty packets and
a sensor that stops: ``push`` must never raise, the output angles must stay finite or
NaN (never inf), and a clean stretch afterwards must still produce angles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.stream import SensorSpec, StreamingPipeline

NAMES = ("lumbar", "sacrum", "thigh")
BAD = st.sampled_from(["nan_acc", "inf_gyr", "repeat_time", "backwards", "jump", "empty", "huge"])


def _clean(t0: float, n: int, rate: float = 100.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = t0 + np.arange(n) / rate
    acc = np.tile([0.0, 0.0, 1.0], (n, 1))
    gyr = np.zeros((n, 3))
    return t, acc, gyr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(
        st.tuples(st.sampled_from(NAMES), BAD, st.integers(min_value=1, max_value=30)),
        min_size=1,
        max_size=25,
    )
)
def test_garbage_packets_never_raise_and_clean_data_still_flows(
    events: list[tuple[str, str, int]],
) -> None:
    pipe = StreamingPipeline(sensors={n: SensorSpec(rate_hz=100.0) for n in NAMES})
    for name in NAMES:  # every sensor starts with a sane packet
        pipe.push(name, *_clean(0.0, 5))
    clock = {n: 0.05 for n in NAMES}
    for name, bad, n in events:
        t, acc, gyr = _clean(clock[name], n)
        if bad == "nan_acc":
            acc[n // 2] = np.nan
        elif bad == "inf_gyr":
            gyr[0] = np.inf
        elif bad == "repeat_time":
            t[:] = clock[name]
        elif bad == "backwards":
            t = t[::-1].copy()
        elif bad == "jump":
            t = t + 1e6
        elif bad == "empty":
            t, acc, gyr = t[:0], acc[:0], gyr[:0]
        elif bad == "huge":
            acc *= 1e30
        pipe.push(name, t, acc, gyr)
        if len(t) and bad != "jump":  # a jumped clock is rejected: the sensor carries on
            clock[name] = max(clock[name], float(np.nanmax(t))) + 0.01
    # then every sensor delivers 4 s of clean standing
    start = max(clock.values()) + 0.01
    for k in range(40):
        for name in NAMES:
            pipe.push(name, *_clean(start + k * 0.1, 10))
    latest = pipe.latest
    assert latest is not None
    # neutral found in the clean standing, and standing reads as 0°
    for v in (latest.hip_deg, latest.lumbar_deg, *latest.tilts_deg.values()):
        assert v is not None and abs(v) < 0.5
    bad_values = sum(n for _, bad, n in events if bad in ("nan_acc", "inf_gyr", "huge", "jump"))
    assert 0 < sum(pipe.rejected.values()) <= bad_values or bad_values == 0


def test_a_time_jump_never_makes_the_grid_fill_it() -> None:
    pipe = StreamingPipeline(sensors={n: SensorSpec(rate_hz=100.0) for n in NAMES})
    for k in range(50):
        for name in NAMES:
            t, acc, gyr = _clean(k * 0.1, 10)
            if name == "thigh" and k == 20:
                t = t + 1e7  # a broken time stamp: 116 days ahead
            pipe.push(name, t, acc, gyr)
    assert pipe.rejected == {"lumbar": 0, "sacrum": 0, "thigh": 10}
    assert pipe.latest is not None and pipe.latest.time_s < 5.0
    assert pipe.latest.hip_deg is not None and abs(pipe.latest.hip_deg) < 0.5


def test_an_infinite_time_stamp_on_the_first_packet_is_dropped() -> None:
    pipe = StreamingPipeline(sensors={n: SensorSpec(rate_hz=100.0) for n in NAMES})
    t, acc, gyr = _clean(0.0, 10)
    t[-1] = np.inf
    pipe.push("thigh", t, acc, gyr)
    assert pipe.rejected["thigh"] == 1
    for k in range(40):
        for name in NAMES:
            pipe.push(name, *_clean(0.1 + k * 0.1, 10))
    assert pipe.latest is not None and pipe.latest.hip_deg is not None


def test_review_says_how_many_impossible_samples_it_ignored(tmp_path: Path) -> None:
    from analysis.review import review_session
    from analysis.session_csv import read_session_csv, write_session_csv
    from analysis.sim import SimConfig, simulate

    sim = simulate(SimConfig(exercise="hinge", reps=2, seed=1071))
    path = tmp_path / "s.csv"
    write_session_csv(sim.session, path)
    lines = path.read_text().splitlines()
    row = lines[400].split(",")
    row[2] = "1e30"
    lines[400] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    rv = review_session(read_session_csv(path))
    assert any(f"1 sample(s) of sensor {row[1]!r} ignored" in m for m in rv.missing)
    assert len(rv.reps) == 2
