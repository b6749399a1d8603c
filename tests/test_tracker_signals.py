"""The rep tracker gives the same results whether the hip angle arrives as the rep signal
itself (the same array, as the stream passes it) or as an equal, separate array (it
copies the rep signal's departure to the hip only in the first case)."""

from __future__ import annotations

import numpy as np

from analysis.sim import SimConfig, simulate
from analysis.stream import SensorSpec, StreamingPipeline
from analysis.tracker import RepTracker


def _tracker_inputs(seed: int) -> tuple[StreamingPipeline, list[tuple[int, dict[str, np.ndarray]]]]:
    sim = simulate(
        SimConfig(exercise="rdl", reps=5, seed=seed, faults={"lumbar_first": 2}, drop_rate=0.02)
    )
    specs = {n: SensorSpec(rate_hz=st.rate_hz) for n, st in sim.session.sensors.items()}
    pipe = StreamingPipeline(sensors=specs)
    calls: list[tuple[int, dict[str, np.ndarray]]] = []
    update = pipe.tracker.update

    def spy(k0: int, signals: dict[str, np.ndarray]):
        calls.append((k0, dict(signals)))
        return update(k0, signals)

    pipe.tracker.update = spy  # type: ignore[method-assign]
    for name, st in sim.session.sensors.items():  # one sensor at a time: big chunks
        pipe.push(name, st.time_s, st.acc_g, st.gyr_dps)
    pipe.finish()
    return pipe, calls


def test_hip_as_the_rep_signal_or_as_an_equal_copy_gives_the_same_reps() -> None:
    pipe, calls = _tracker_inputs(1090)
    assert calls and all(sig["hip"] is sig["r"] for _, sig in calls)  # the shared case
    shared = RepTracker(pipe.config, has=pipe.tracker.has)
    copied = RepTracker(pipe.config, has=pipe.tracker.has)
    ev_shared, ev_copied = [], []
    for k0, sig in calls:
        ev_shared += shared.update(k0, sig)
        ev_copied += copied.update(k0, {**sig, "hip": sig["hip"].copy()})
    ev_shared += shared.finish()
    ev_copied += copied.finish()
    assert len(shared.results) >= 4
    assert any(r.lumbar_lead_ms is not None for r in shared.results)
    assert ev_shared == ev_copied
    assert shared.results == copied.results


def test_a_rest_longer_than_the_history_keeps_the_top_posture() -> None:
    """Two sets with a 90 s standing rest: the top posture of set 2's first rep was found
    early in the rest, far further back than the tracker's history reaches. Reviewed in
    blocks and streamed in live packets, every rep has its metrics and the simulator's
    flags (set 2's first rep lost both when the top was read back from the history)."""
    from analysis.config import PipelineConfig
    from analysis.review import review_session
    from tests.blocks import in_blocks

    sim = simulate(
        SimConfig(exercise="rdl", reps=3, sets=2, rest_s=90.0, seed=2,
                  faults={"knee_dominant": 1, "lumbar_first": 1})
    )  # fmt: skip
    cfg = PipelineConfig.for_exercise("rdl")
    truth = [(r.set_index, set(r.faults)) for r in sim.reps]
    assert 90.0 * cfg.grid_hz > RepTracker(cfg, has={"r": True}).hist.capacity
    rv = review_session(sim.session, config=cfg)
    specs = {n: SensorSpec(rate_hz=st.rate_hz) for n, st in sim.session.sensors.items()}
    pipe = StreamingPipeline(cfg, sensors=specs)
    for _, parts in in_blocks(sim.session, 0.05):
        for name, sl in parts:
            st = sim.session.sensors[name]
            pipe.push(name, st.time_s[sl], st.acc_g[sl], st.gyr_dps[sl])
    pipe.finish()
    for reps in (rv.reps, pipe.reps):
        assert [set(r.flags) for r in reps] == [f for _, f in truth]
        assert all(r.hip_rom_deg is not None and r.lumbar_peak_deg is not None for r in reps)


def test_a_thigh_that_moves_only_a_few_degrees_still_gets_its_axis() -> None:
    """Good mornings: the thigh moves 4-6° a rep, under ``axis_establish_deg``, but always
    about the same axis. Read as an unsigned angle its standing sway was rectified into
    ~+1° of hip flexion (review RMSE 0.98°, live 1.12° in set 2); with the axis learned
    from its consistent votes both are unbiased against the simulator's hip angle."""
    from analysis.config import PipelineConfig
    from analysis.review import review_session
    from tests.blocks import in_blocks

    sim = simulate(SimConfig(exercise="good_morning", reps=4, sets=2, rest_s=30.0, seed=1040))
    cfg = PipelineConfig.for_exercise("good_morning")
    t, true = np.asarray(sim.angles.time_s), np.asarray(sim.angles.hip_deg)
    standing = np.abs(true) < 0.01
    set2 = t > min(r.start_s for r in sim.reps if r.set_index == 1) - 5.0

    rv = review_session(sim.session, config=cfg)
    assert not [m for m in rv.missing if "flexion axis" in m]
    err = np.interp(t, rv.angles.time_s, rv.angles.hip_deg, left=np.nan, right=np.nan) - true
    ok = np.isfinite(err)
    assert abs(err[standing & ok].mean()) < 0.2  # measured 0.01° (0.92° unsigned)
    assert np.sqrt(np.mean(err[ok] ** 2)) < 0.4  # measured 0.15°

    specs = {n: SensorSpec(rate_hz=st.rate_hz) for n, st in sim.session.sensors.items()}
    pipe = StreamingPipeline(cfg, sensors=specs, record=True)
    for _, parts in in_blocks(sim.session, 0.05):
        for name, sl in parts:
            st = sim.session.sensors[name]
            pipe.push(name, st.time_s[sl], st.acc_g[sl], st.gyr_dps[sl])
    pipe.finish()
    assert pipe.tilt.established.all()
    lt = np.concatenate([c.time_s for c in pipe.chunks])
    hip = np.concatenate([c.hip for c in pipe.chunks])
    err = np.interp(t, lt, hip, left=np.nan, right=np.nan) - true
    ok = np.isfinite(err) & set2
    assert abs(err[standing & ok].mean()) < 0.5  # measured 0.19° (1.10° unsigned)
    assert np.sqrt(np.mean(err[ok] ** 2)) < 0.6  # measured 0.36°


def _minjerk(n: int, start: int, dur: int, amp: float) -> np.ndarray:
    tau = np.clip((np.arange(n) - start) / dur, 0.0, 1.0)
    return amp * (10 * tau**3 - 15 * tau**4 + 6 * tau**5)


def _lead_with_lumbar_unknown_before(unknown_until: int) -> float | None:
    """One hinge (hips fold from grid sample 800) whose back starts moving 1.5 s earlier,
    slowly (12 deg over 4 s); the lumbar angle is NaN before ``unknown_until``."""
    from analysis.config import PipelineConfig

    cfg = PipelineConfig()
    hz = round(cfg.grid_hz)
    n = 20 * hz
    hip = _minjerk(n, 8 * hz, 2 * hz, 70.0) - _minjerk(n, 12 * hz, 2 * hz, 70.0)
    lumbar = _minjerk(n, round(6.5 * hz), 4 * hz, 12.0) - _minjerk(n, 12 * hz, 2 * hz, 12.0)
    lumbar[:unknown_until] = np.nan
    tracker = RepTracker(cfg, has={"r": True, "hip": True, "lumbar": True})
    for a in range(0, n, 5):
        tracker.update(a, {"r": hip[a : a + 5], "hip": hip[a : a + 5], "lumbar": lumbar[a : a + 5]})
    tracker.finish()
    (rep,) = tracker.results
    return rep.lumbar_lead_ms


def test_an_onset_in_a_stretch_where_the_angle_was_unknown_is_not_reported() -> None:
    """Seen live: the first rep after neutral got a lumbar onset 0.4 s before the first
    known lumbar angle (the minimum-jerk extrapolation of a slow rise reached back into the
    NaN before neutral), so a lead of 1.6 s. With the whole rise known, the lead is
    measured; with its start unknown it is None, not a number made up in the gap."""
    hz = 100
    known = _lead_with_lumbar_unknown_before(0)
    assert known is not None and abs(known - 1500.0) < 100.0
    assert _lead_with_lumbar_unknown_before(round(6.8 * hz)) is None


def test_a_rep_soon_after_a_departure_given_up_keeps_its_top_posture() -> None:
    """The back moves 4° with the hips still (a departure; no rep follows, so it is given
    up ``onset_lookback_s`` later), and the hinge starts 2.7 s after it: the fresh watch
    began at the give-up, mid-descent, and took the top posture there (hip ROM short by
    the 10° already folded, onset 0.3 s late)."""
    from analysis.config import PipelineConfig

    cfg = PipelineConfig()
    hz = round(cfg.grid_hz)
    n = 20 * hz
    hip = _minjerk(n, round(8.7 * hz), 2 * hz, 70.0) - _minjerk(n, 13 * hz, 2 * hz, 70.0)
    brace = _minjerk(n, 6 * hz, hz // 2, 4.0) - _minjerk(n, 7 * hz, hz // 2, 4.0)
    lumbar = 0.05 * hip + brace
    tracker = RepTracker(cfg, has={"r": True, "hip": True, "lumbar": True})
    for a in range(0, n, 5):
        tracker.update(a, {"r": hip[a : a + 5], "hip": hip[a : a + 5], "lumbar": lumbar[a : a + 5]})
    tracker.finish()
    (rep,) = tracker.results
    assert rep.hip_rom_deg is not None and abs(rep.hip_rom_deg - 70.0) < 0.5
    assert rep.hip_onset_s is not None and abs(rep.hip_onset_s - 8.7) < 0.05


def test_a_swing_after_an_arched_lockout_is_not_flagged_for_easing_out_of_it() -> None:
    """The next swing starts from the arched lockout of the last one (lumbar -13..-18°):
    with that as the reference, the back easing back to neutral read as moving first and as
    rounding (16 of 16 such reps over 6 seeds; lumbar peak 21.7° for a true 4.9°). Measured
    from no further than 2° from neutral, 4 of the 16 still got a false lumbar_first and
    every lead was 0.5-1.3 s early (the easing was the departure). Now the back departs
    only once it is back at neutral: none flagged, leads within 200 ms (the worst measured:
    138 ms with the two-direction causal orientation, 186 ms with offline VQF, both on a
    rep whose back moved 3.03° against the 3° departure threshold)."""
    from analysis.config import PipelineConfig
    from analysis.review import review_session

    cfg = PipelineConfig.for_exercise("swing")
    after_arch = 0
    for seed in range(9100, 9106):
        sim = simulate(
            SimConfig(exercise="swing", reps=8, faults={"lumbar_extension": 3}, seed=seed)
        )
        rv = review_session(sim.session, config=cfg)
        assert len(rv.reps) == len(sim.reps)
        for prev, tr, fr in zip(sim.reps, sim.reps[1:], rv.reps[1:], strict=False):
            if "lumbar_extension" not in prev.faults:
                continue
            after_arch += 1
            assert set(fr.flags) <= set(tr.faults), (seed, tr.index, fr.flags)
            assert abs(fr.lumbar_peak_deg - tr.lumbar_peak_deg) < 3.0
            if fr.lumbar_lead_ms is not None:
                assert abs(fr.lumbar_lead_ms - tr.lumbar_lead_ms) < 200.0, (seed, tr.index)
    assert after_arch == 16


def test_a_reference_found_after_a_restart_does_not_depend_on_the_packet_size() -> None:
    """Mixed rates (50/60/200 Hz) with dropped samples: rep 3's top posture fell in an
    orientation restart's settling stretch, and its lumbar reference was the first known
    value from the current chunk's start: -0.69 or -1.36 by packet size, lead 80 or 88 ms."""
    from analysis.config import PipelineConfig
    from analysis.stream import SensorSpec, StreamingPipeline

    sim = simulate(
        SimConfig(exercise="rdl", reps=5, faults={"lumbar_first": 2}, seed=9008, sets=2,
                  rest_s=20, drop_rate=0.02,
                  rate_hz={"lumbar": 50.0, "sacrum": 60.0, "thigh": 200.0})
    )  # fmt: skip
    cfg = PipelineConfig.for_exercise("rdl")

    def reps(chunk: int) -> list[tuple[object, ...]]:
        specs = {n: SensorSpec(rate_hz=st.rate_hz) for n, st in sim.session.sensors.items()}
        pipe = StreamingPipeline(cfg, sensors=specs, hold_laggards=False)
        packets = sorted(
            (float(st.time_s[min(i + chunk, st.samples) - 1]), n, i)
            for n, st in sim.session.sensors.items()
            for i in range(0, st.samples, chunk)
        )
        for _, n, i in packets:
            st = sim.session.sensors[n]
            j = i + chunk
            pipe.push(n, st.time_s[i:j], st.acc_g[i:j], st.gyr_dps[i:j])
        pipe.finish()
        return [
            (
                r.index,
                r.flags,
                round(r.lumbar_peak_deg or 0.0, 6),
                round(r.lumbar_lead_ms or 0.0, 3),
            )
            for r in pipe.reps
        ]

    assert len(reps(100_000)) == 10
    assert reps(1) == reps(100_000)
