"""Two-direction orientation for offline review: measured against known truth."""

from __future__ import annotations

import numpy as np

from analysis.offline_orientation import smoothed_up
from analysis.orientation import UpEstimator
from analysis.review import review_session
from analysis.sim import SimConfig, simulate
from analysis.up import PrecomputedUp


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip((a * b).sum(axis=1), -1.0, 1.0)))


def _rocking(
    seconds: float, amp_deg: float, hz: float, *, rate: float = 100.0, bias_dps: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sensor rocking about x: times, true up vectors, gyro. Each gyro sample is the mean
    rate over the interval ending at it, as real IMUs report (``analysis/sim/body.py``)."""
    t = np.arange(0.0, seconds, 1.0 / rate)
    ang = np.radians(amp_deg) * np.sin(2 * np.pi * hz * t)
    rate_x = np.degrees(np.diff(ang, prepend=ang[0])) * rate
    up_true = np.column_stack([np.zeros_like(t), np.sin(ang), np.cos(ang)])
    gyr = np.column_stack([rate_x + bias_dps, np.zeros_like(t), np.zeros_like(t)])
    return t, up_true, gyr


def test_gyro_bias_error_cancels_in_the_offline_estimate() -> None:
    # a sensor rocking ±20° about x (0.5 Hz) with a 0.5 °/s gyro bias on x:
    # the causal estimate carries a bias × tauAcc error, the offline one does not
    rate = 100.0
    t, up_true, gyr = _rocking(60.0, 20.0, 0.5, rate=rate, bias_dps=0.5)
    acc = up_true.copy()  # slow rocking: linear acceleration < 0.01 g, ignored
    causal = UpEstimator(rate_hz=rate, has_gyro=True).update(t, acc, gyr)
    both = smoothed_up(t, acc, gyr, rate_hz=rate)
    mid = (t > 10) & (t < 50)
    err_causal = float(np.sqrt(np.mean(_angle_deg(causal, up_true)[mid] ** 2)))
    err_both = float(np.sqrt(np.mean(_angle_deg(both, up_true)[mid] ** 2)))
    assert err_causal > 0.3
    assert err_both < 0.5 * err_causal  # measured 0.14° vs 0.40°
    assert np.allclose(np.linalg.norm(both, axis=1), 1.0)


def test_precomputed_up_is_looked_up_by_time() -> None:
    t = np.array([0.0, 0.01, 0.02, 0.03])
    up = np.eye(3)[[0, 1, 2, 0]].astype(float)
    src = PrecomputedUp(t, up)
    got = src.update(np.array([0.01, 0.03, 0.025]), np.zeros((3, 3)), None)
    assert np.array_equal(got[:2], up[[1, 3]]) and np.isnan(got[2]).all()


def test_smoothed_review_is_closer_to_the_true_angles() -> None:
    sim = simulate(SimConfig(exercise="good_morning", reps=5, seed=1083))
    t = np.asarray(sim.angles.time_s)
    errs = {}
    for smooth in (False, True):
        rv = review_session(sim.session, smooth=smooth)
        assert len(rv.reps) == 5
        rms = []
        for est, true in (
            (rv.angles.hip_deg, sim.angles.hip_deg),
            (rv.angles.lumbar_deg, sim.angles.lumbar_deg),
        ):
            assert est is not None
            e = np.interp(t, rv.angles.time_s, est, left=np.nan, right=np.nan) - np.asarray(true)
            rms.append(float(np.sqrt(np.nanmean(e**2))))
        errs[smooth] = rms
    assert errs[True][0] < errs[False][0] and errs[True][1] < errs[False][1], errs


def test_smoothed_ups_on_several_processes_equal_the_serial_ones() -> None:
    from analysis.offline_up import smoothed_ups

    sim = simulate(SimConfig(exercise="rdl", reps=2, seed=1084))
    serial = smoothed_ups(sim.session, workers=1)
    for workers in (2, 3):  # this process and one child with two sensors; one each
        forked = smoothed_ups(sim.session, workers=workers)
        assert list(forked) == list(sim.session.sensors)
        for name, track in serial.items():
            assert np.array_equal(forked[name].up, track.up, equal_nan=True), (workers, name)
            assert np.array_equal(forked[name].time_s, track.time_s), (workers, name)
        # each sensor's own estimate, not a neighbour's
        assert not np.allclose(forked["lumbar"].up, forked["thigh"].up)
        assert not np.array_equal(forked["lumbar"].time_s, forked["thigh"].time_s)


def test_a_sensor_whose_child_process_failed_is_computed_again_here(monkeypatch) -> None:
    import os

    import analysis.offline_up as offline_up

    sim = simulate(SimConfig(exercise="rdl", reps=2, seed=1085))
    serial = offline_up.smoothed_ups(sim.session, workers=1)
    parent = os.getpid()
    real = offline_up._one

    def fails_in_a_child(st):
        if os.getpid() != parent:
            raise MemoryError("child killed")
        return real(st)

    monkeypatch.setattr(offline_up, "_one", fails_in_a_child)
    forked = offline_up.smoothed_ups(sim.session, workers=3)
    for name, track in serial.items():
        assert np.array_equal(forked[name].up, track.up, equal_nan=True), name
        assert np.array_equal(forked[name].time_s, track.time_s), name


def test_forks_only_long_recordings_from_a_process_without_other_threads() -> None:
    import threading

    from analysis.offline_up import PARALLEL_MIN_SAMPLES, default_workers, usable_cpus
    from analysis.session import SensorStream, Session

    def session(samples: int) -> Session:
        t = np.arange(samples) / 200.0
        acc = np.tile([0.0, 0.0, 1.0], (samples, 1))
        return Session(
            {n: SensorStream(n, t, acc, acc * 0.0) for n in ("lumbar", "sacrum", "thigh")}
        )

    long, short = session(PARALLEL_MIN_SAMPLES // 3 + 1), session(PARALLEL_MIN_SAMPLES // 3 - 1)
    assert default_workers(short) == 1
    # another thread running (an audio callback, a BLE loop): a fork would copy its locks
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert default_workers(long) == 1
    finally:
        stop.set()
        other.join()
    # alone (an earlier test may have left a thread behind: then it stays at 1)
    alone = threading.active_count() == 1
    assert default_workers(long) == (3 if alone and usable_cpus() > 1 else 1)


def test_fast_rocking_is_followed_to_the_sample() -> None:
    # fast rocking about x (±40° at 1.5 Hz, up to 377 °/s) at 100 Hz: with exact readings
    # both estimates follow it closely
    rate = 100.0
    t, up_true, gyr = _rocking(30.0, 40.0, 1.5, rate=rate)
    mid = (t > 5) & (t < 25)

    def rmse(up: np.ndarray) -> float:
        return float(np.sqrt(np.mean(_angle_deg(up, up_true)[mid] ** 2)))

    # a gyro sample one interval off (the rate of the interval after it) is 2.7° off
    slipped = np.vstack([gyr[1:], gyr[-1:]])
    assert rmse(UpEstimator(rate_hz=rate, has_gyro=True).update(t, up_true, slipped)) > 1.0
    assert rmse(UpEstimator(rate_hz=rate, has_gyro=True).update(t, up_true, gyr)) < 0.05
    assert rmse(smoothed_up(t, up_true, gyr, rate_hz=rate)) < 0.05


def test_long_inputs_run_through_vqf_in_blocks_with_the_same_result(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the causal estimator bounds each VQF call to VQF_BLOCK samples (memory): the result
    # must be the one-call result to the bit
    import analysis.orientation as orientation

    sim = simulate(SimConfig(exercise="swing", reps=3, seed=1017, rate_hz=100.0))
    st = sim.session.sensors["lumbar"]

    def causal() -> np.ndarray:
        return UpEstimator(rate_hz=st.rate_hz, has_gyro=True).update(
            st.time_s, st.acc_g, st.gyr_dps
        )

    whole = causal()
    monkeypatch.setattr(orientation, "VQF_BLOCK", 97)
    assert st.samples > 5 * 97
    assert np.array_equal(whole, causal(), equal_nan=True)


def test_a_sensor_the_analysis_ignores_is_not_estimated() -> None:
    # a fourth sensor (a wrist) in the file: no orientation for it, the same review
    from analysis.review import smoothed_sources
    from analysis.session import Session

    sim = simulate(SimConfig(exercise="rdl", reps=2, seed=1018, rate_hz=100.0))
    three = sim.session
    wrist = three.sensors["thigh"]
    four = Session({**three.sensors, "wrist": wrist}, source=three.source)
    retimed, sources = smoothed_sources(four)
    assert set(sources) == {"lumbar", "sacrum", "thigh"}
    assert retimed.sensors["wrist"] is wrist  # not estimated, not re-timed
    a, b = review_session(three), review_session(four)
    assert [r.to_json() for r in a.reps] == [r.to_json() for r in b.reps]
    assert np.array_equal(a.angles.hip_deg, b.angles.hip_deg, equal_nan=True)
    assert any("wrist" in m and "not used" in m for m in b.missing)


def test_gaps_are_handled_as_the_causal_estimator_handles_them() -> None:
    # slow rocking with a 50 ms gap (filled), a 2 s gap (restart), a NaN reading and a
    # repeated time stamp (both left out): the estimate stays on the truth, a left-out row
    # repeats the row before it, and the stretch after the long gap is estimated on its
    # own (the same as that stretch given alone, to the bit)
    rate = 100.0
    t, up_true, gyr = _rocking(40.0, 25.0, 0.3, rate=rate, bias_dps=0.3)
    keep = np.ones(len(t), dtype=bool)
    keep[1000:1005] = False  # 50 ms
    keep[2000:2200] = False  # 2 s
    t, acc, gyr, up_true = t[keep], up_true[keep].copy(), gyr[keep].copy(), up_true[keep]
    acc[500] = np.nan
    t = t.copy()
    t[1500] = t[1499]  # not increasing
    up = smoothed_up(t, acc, gyr, rate_hz=rate)
    assert np.array_equal(up[500], up[499]) and np.array_equal(up[1500], up[1499])
    ok = np.ones(len(t), dtype=bool)
    ok[[500, 1500]] = False
    assert float(np.sqrt(np.mean(_angle_deg(up[ok], up_true[ok]) ** 2))) < 0.3
    after = int(np.searchsorted(t, 22.0))  # first sample after the long gap
    alone = smoothed_up(t[after:], acc[after:], gyr[after:], rate_hz=rate)
    assert np.array_equal(up[after:], alone)
    before = smoothed_up(t[:after], acc[:after], gyr[:after], rate_hz=rate)
    assert np.array_equal(up[:after], before, equal_nan=True)


def test_no_usable_sample_gives_no_estimate() -> None:
    t = np.arange(5) / 100.0
    acc = np.full((5, 3), np.nan)
    up = smoothed_up(t, acc, np.zeros((5, 3)), rate_hz=100.0)
    assert up.shape == (5, 3) and np.isnan(up).all()
    up = smoothed_up(t[:0], acc[:0], np.zeros((0, 3)), rate_hz=100.0)
    assert up.shape == (0, 3)


def test_readings_in_any_memory_order_give_the_same_estimate() -> None:
    # columns stacked from a CSV reader come in Fortran order; VQF takes C order only
    sim = simulate(SimConfig(exercise="rdl", reps=1, seed=1019, rate_hz=100.0))
    st = sim.session.sensors["sacrum"]
    c = smoothed_up(st.time_s, np.ascontiguousarray(st.acc_g), st.gyr_dps, rate_hz=100.0)
    f = smoothed_up(
        st.time_s, np.asfortranarray(st.acc_g), np.asfortranarray(st.gyr_dps), rate_hz=100.0
    )
    assert np.array_equal(c, f)


def test_a_long_stretch_runs_in_windows_that_cover_every_sample_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import analysis.offline_orientation as oo

    monkeypatch.setattr(oo, "WINDOW", 1000)
    monkeypatch.setattr(oo, "MARGIN", 300)
    wins = oo._windows(50, 3550)
    assert [(w0, w1) for w0, w1, _, _ in wins] == [
        (50, 1050),
        (1050, 2050),
        (2050, 3050),
        (3050, 3550),
    ]
    assert [(lo, hi) for _, _, lo, hi in wins] == [
        (50, 1350),
        (750, 2350),
        (1750, 3350),
        (2750, 3550),
    ]
    assert oo._windows(0, 1600) == [(0, 1600, 0, 1600)]  # within WINDOW + 2 MARGIN: one run
    # the windowed estimate stays near the unsplit one: with these 10 s windows 0.05° mean,
    # 0.48° at most (a misplaced window would be degrees off); with the real sizes, on a
    # 69-minute session, 0.004-0.03° mean, 0.2° at most
    sim = simulate(SimConfig(exercise="rdl", reps=6, seed=1020, rate_hz=100.0))
    st = sim.session.sensors["sacrum"]
    split = smoothed_up(st.time_s, st.acc_g, st.gyr_dps, rate_hz=100.0)
    monkeypatch.setattr(oo, "WINDOW", 1 << 40)
    whole = smoothed_up(st.time_s, st.acc_g, st.gyr_dps, rate_hz=100.0)
    assert st.samples > 3 * 1000
    d = _angle_deg(split, whole)
    assert 0 < d.max() < 1.0 and d.mean() < 0.2, (d.max(), d.mean())


def test_samples_the_gap_rule_filled_by_mistake_are_not_integrated() -> None:
    # rocking ±40° at 0.5 Hz, 200 Hz, exact readings, stamps jittered by ±0.45 period:
    # the gap rule fills samples that were never lost; each one fed would turn the gyro's
    # estimate a period too far. Measured inclination RMSE 0.002° (0.31° with them fed;
    # ±0.4 period: 0.003° against 0.11°)
    rate = 200.0
    t, up_true, gyr = _rocking(120.0, 40.0, 0.5, rate=rate)
    stamps = t + np.random.default_rng(13).uniform(-0.45, 0.45, len(t)) / rate
    up = smoothed_up(stamps, up_true, gyr, rate_hz=rate)
    err = _angle_deg(up, up_true)[1000:-1000]
    assert float(np.sqrt(np.mean(err**2))) < 0.05
