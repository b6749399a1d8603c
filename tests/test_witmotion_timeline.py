"""WitMotion has no timestamps: sample times come from the sample count and the arrival
times. Checked here against known truth: a simulated sensor whose oscillator runs 0.3 %
fast sends one frame per notification through BLE connection events (22.5 ms apart, at
most 4 notifications per event), with host latency jitter, link stalls that queue frames
and release them in bursts, and buffer overflows that drop runs of samples. The
notifications go through the real driver and the manager's per-sensor handling
(``SensorLink``: gap tracking, clock alignment); the times handed out are compared with
the true sampling times."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.devices.witmotion import codec
from firmware_bridge.devices.witmotion.driver import WitMotionDriver
from firmware_bridge.devices.witmotion.timeline import SampleTimeline
from firmware_bridge.manager.events import Event, GapEvent, SampleBlock
from firmware_bridge.manager.link import LinkSettings, SensorLink


def simulate(
    *,
    seconds: float,
    rate_hz: float = 100.0,
    clock_error: float = 0.003,
    ci_s: float = 0.0225,
    per_event: int = 4,
    stalls: tuple[tuple[float, float], ...] = (),
    losses: tuple[tuple[float, int], ...] = (),
    seed: int = 7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true sample times of the frames that arrive, their arrival times, sample index)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate_hz)
    true = np.arange(n) / (rate_hz * (1 + clock_error))
    keep = np.ones(n, bool)
    for at_s, count in losses:
        k = int(np.searchsorted(true, at_s))
        keep[k : k + count] = False
    idx = np.flatnonzero(keep)
    ready = true[idx] + 0.0005  # the sensor's UART -> BLE hand-over
    arrivals = np.empty(len(idx))
    event = rng.uniform(0, ci_s)
    i = 0
    while i < len(idx):
        stalled = any(a <= event < a + d for a, d in stalls)
        if not stalled:
            sent = 0
            while i < len(idx) and ready[i] <= event and sent < per_event:
                arrivals[i] = event + 0.0003 + rng.exponential(0.0015)
                i += 1
                sent += 1
        event += ci_s
    arrivals = np.maximum.accumulate(arrivals)  # the host delivers in order
    return true[idx], arrivals, idx


def _wit_link(now: list[float]) -> tuple[WitMotionDriver, SensorLink, list[Event], bytes]:
    """A WitMotion driver at 100 Hz and its link on the clock ``now[0]``, the events it
    emits, and one data frame's bytes."""
    driver = WitMotionDriver()
    driver.begin(rate_hz=100.0, clock=lambda: now[0])
    events: list[Event] = []
    link = SensorLink("sacrum", "AA:BB:CC:DD:EE:FF", driver, settings=LinkSettings(),
                      clock=lambda: now[0], t0_s=0.0, emit=events.append)  # fmt: skip
    return (
        driver,
        link,
        events,
        bytes(codec.encode_data(np.array([[0.0, 0.0, 1.0]]), np.zeros((1, 3)))),
    )


def run_through_link(arrivals: np.ndarray) -> tuple[list[Event], WitMotionDriver]:
    now = [0.0]
    driver, link, events, frame = _wit_link(now)
    for a in arrivals:
        now[0] = float(a)
        driver.route(link._on_data, bytes(frame))  # a new bytes object per notification
        link._handle(*link._raw.get_nowait())
    return events, driver


def sample_times(events: list[Event]) -> np.ndarray:
    return np.concatenate([e.time_s for e in events if isinstance(e, SampleBlock)])


def test_jittered_arrivals_become_a_steady_timeline() -> None:
    true, arrivals, _ = simulate(seconds=30.0, stalls=((12.0, 0.25), (20.0, 0.4)))
    events, driver = run_through_link(arrivals)
    times = sample_times(events)
    assert len(times) == len(true)
    assert driver.timeline is not None and driver.timeline.lost == 0  # stalls are not losses
    assert not [e for e in events if isinstance(e, GapEvent)]
    err = times - true
    settled = true > 5.0
    # a constant latency (the earliest arrivals' delay) is all that is left of the link
    bias = np.median(err[settled])
    assert 0.0 < bias < 0.004
    assert np.max(np.abs(err[settled] - bias)) < 0.002
    # steps follow the sensor's clock (0.3 % fast), not the arrivals
    steps = np.diff(times[settled])
    assert np.median(steps) == pytest.approx(0.01 / 1.003, rel=2e-4)
    assert np.std(steps) < 0.05 * np.std(np.diff(arrivals[settled]))


def test_dropped_samples_are_found_and_the_timeline_recovers() -> None:
    losses = ((9.0, 7), (16.0, 20), (23.0, 3))
    true, arrivals, _ = simulate(seconds=30.0, losses=losses, stalls=((8.9, 0.1),))
    events, driver = run_through_link(arrivals)
    times = sample_times(events)
    gaps = [e for e in events if isinstance(e, GapEvent)]
    # each run is found once, whole periods only: never more than lost, at most one fewer
    found = [g.samples_lost for g in gaps]
    assert len(found) == len(losses)
    for (_, lost), got in zip(losses, found, strict=True):
        assert lost - 1 <= got <= lost
    assert all(g.cause == "device_overflow" for g in gaps)
    # each gap is placed within the detection window after the real drop
    for (at_s, _), gap in zip(losses, gaps, strict=True):
        assert at_s <= gap.start_s + 0.05 and gap.start_s < at_s + 3.5
    err = times - true
    bias = np.median(err[true > 5.0])
    # once a loss is counted, the timeline is back on the truth within a sample period
    for at_s, _ in losses:
        after = (true > at_s + 4.0) & (true < at_s + 6.5)
        assert np.max(np.abs(err[after] - bias)) < 0.011
    assert np.all(np.diff(times) > 0)
    assert driver.timeline is not None and driver.timeline.lost == sum(found)


def test_timeline_counts_and_reconnect_continuation() -> None:
    tl = SampleTimeline(rate_hz=50.0)
    assert tl.add(1, None) == (0, 0) and tl.add(3, None) == (1, 0)
    assert tl.next_index == 4
    tl2 = SampleTimeline(rate_hz=50.0, start_index=100)
    for k in range(100):
        tl2.add(1, 10.0 + k * 0.02 + 0.003)
    # 1 s after the last arrival the sensor is ~50 samples further on
    assert tl2.index_at(10.0 + 99 * 0.02 + 1.0) == pytest.approx(250, abs=1)
    with pytest.raises(ValueError):
        SampleTimeline(rate_hz=0.0)


def run_with_reconnect(
    true: np.ndarray, arrivals: np.ndarray, *, away: tuple[float, float]
) -> np.ndarray:
    """Like :func:`run_through_link`, but the link is lost over ``away`` (host seconds):
    nothing arrives, then the driver starts again (``begin``) and accepts what arrives
    after. Returns the time error of every sample handed out (in order)."""
    now = [0.0]
    driver, link, events, frame = _wit_link(now)
    delivered = []
    back = False
    for t, a in zip(true, arrivals, strict=True):
        if away[0] <= a < away[1]:
            continue
        if a >= away[1] and not back:
            now[0] = away[1]
            link.gaps.disconnected()
            driver.begin(rate_hz=100.0, clock=lambda: now[0])
            back = True
        now[0] = float(a)
        driver.route(link._on_data, bytes(frame))
        link._handle(*link._raw.get_nowait())
        delivered.append(t)
    times = sample_times(events)
    assert len(times) == len(delivered)  # the frames held after the reconnect all come out
    assert np.all(np.diff(times) > 0)
    assert len([e for e in events if isinstance(e, GapEvent)]) == 1  # the absence
    return times - np.array(delivered)


@pytest.mark.parametrize("clock_error", [0.0, 0.005])
def test_times_carry_on_after_a_reconnect(clock_error: float) -> None:
    # 30 s of streaming, 30 s out of range (the sensor keeps sampling), 40 s back
    true, arrivals, _ = simulate(seconds=100.0, clock_error=clock_error, seed=0)
    err = run_with_reconnect(true, arrivals, away=(30.0, 60.0))
    kept = true[(arrivals < 30.0) | (arrivals >= 60.0)]
    bias = np.median(err[(kept > 5.0) & (kept < 30.0)])  # the link's latency floor
    after = kept > 59.0
    # the first samples back are on their true times (within the arrival jitter, not a
    # sample period off), and stay there while the fit still holds points from before
    assert np.max(np.abs(err[after][:100] - bias)) < 0.004
    assert np.max(np.abs(err[after] - bias)) < 0.004


def test_resume_index_takes_the_earliest_arrival() -> None:
    tl = SampleTimeline(rate_hz=100.0)
    for k in range(1000):  # 10 s, arrivals 2 ms after each sample
        tl.add(1, k * 0.01 + 0.002)
    assert tl.index_at(20.0) == 2000  # due by 19.992 s: 1999 arrived, 2000 may not have
    # samples 2000.. arrive in connection events 22.5 ms apart; the first frame of an event
    # waited up to an interval, the last less than a period
    assert tl.resume_index([(1, 20.015)]) == 2001  # 13 ms late: one frame cannot tell
    notes = [(1, 20.015), (1, 20.015), (1, 20.0375), (1, 20.0375), (1, 20.06)]
    assert tl.resume_index(notes) == 2000
    assert tl.resume_index([(2, 20.015), (1, 20.0375)]) == 2000
    assert tl.resume_index([(1, None)]) == 1000
