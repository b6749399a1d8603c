"""Review of recordings with a sensor gone for a while: what was not seen is not measured,
and what was seen is still counted (simulated sessions with one sensor's samples cut)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.config import PipelineConfig
from analysis.review import review_session, run_pipeline
from analysis.session import SensorStream, Session
from analysis.sim import SimConfig, simulate

RDL = PipelineConfig.for_exercise("rdl")


def cut(session: Session, name: str, a: float, b: float) -> Session:
    """``session`` without ``name``'s samples in ``a <= t < b``."""
    sensors = dict(session.sensors)
    st = sensors[name]
    keep = (st.time_s < a) | (st.time_s >= b)
    gyr = None if st.gyr_dps is None else st.gyr_dps[keep]
    sensors[name] = SensorStream(name, st.time_s[keep], st.acc_g[keep], gyr)
    return Session(sensors, source=session.source, meta=session.meta)


def test_a_sensor_that_stops_early_does_not_end_the_review() -> None:
    """The lumbar sensor's last sample comes 15 s before the end: the reps after it are
    still counted on the hip angle, their lumbar figures unknown, and a note says so (the
    grid stopped at the lumbar's last sample: 4 of 6 reps, no note)."""
    sim = simulate(SimConfig(seed=1))
    last = sim.reps[-1]
    stop = sim.reps[-2].start_s - 0.5
    rv = review_session(cut(sim.session, "lumbar", stop, 1e9), config=RDL)
    assert len(rv.reps) == len(sim.reps) == 6
    assert abs(rv.reps[-1].start_s - last.start_s) < 0.2
    for r in rv.reps[-2:]:
        assert r.hip_rom_deg is not None and r.lumbar_peak_deg is None
        assert r.lumbar_lead_ms is None
    assert any("lumbar" in m and "without data" in m for m in rv.missing)


def test_a_thigh_gap_in_the_descent_gives_no_lead_and_no_back_first_verdict() -> None:
    """A 1.5 s thigh gap 0.5 s into the descent: the hip onset kept its threshold estimate
    while the lumbar's was fitted, and the mixture read as the back moving ~250 ms first."""
    sim = simulate(SimConfig(seed=3003, faults={}))
    flagged = 0
    for rep in sim.reps[1:4]:
        a = rep.start_s + 0.5
        rv = review_session(cut(sim.session, "thigh", a, a + 1.5), config=RDL)
        (got,) = [r for r in rv.reps if abs(r.start_s - rep.start_s) < 0.5]
        assert got.lumbar_lead_ms is None
        flagged += "lumbar_first" in got.flags
    assert flagged == 0
    # the same reps seen whole are measured
    whole = review_session(sim.session, config=RDL)
    assert all(r.lumbar_lead_ms is not None for r in whole.reps[1:4])


def test_a_lumbar_gap_through_a_rounded_rep_leaves_its_lumbar_figures_unknown() -> None:
    """The lumbar sensor lost through most of a rep that rounded 32°: its peak came out as
    0.1° from the few samples around the gap, and the rounding flag was lost silently."""
    sim = simulate(SimConfig(seed=7, faults={"lumbar_flexion": 2}))
    rep = next(r for r in sim.reps if "lumbar_flexion" in r.faults)
    rv = review_session(cut(sim.session, "lumbar", rep.start_s + 0.6, rep.end_s - 0.3), config=RDL)
    (got,) = [r for r in rv.reps if abs(r.start_s - rep.start_s) < 0.5]
    assert got.hip_rom_deg is not None
    assert got.lumbar_peak_deg is None and got.lumbar_min_deg is None
    whole = review_session(sim.session, config=RDL)
    (seen,) = [r for r in whole.reps if abs(r.start_s - rep.start_s) < 0.5]
    assert seen.lumbar_peak_deg is not None and seen.lumbar_peak_deg > 25.0


def test_a_far_future_time_stamp_is_stepped_over() -> None:
    """One sample stamped a day late: the review stepped through the empty day a block at a
    time (an epoch-seconds stamp took 2 minutes, 1e300 never ended); it goes straight on
    to the next sample, which the pipeline drops as impossible."""
    sim = simulate(SimConfig(seed=1, reps=2))
    st = sim.session.sensors["thigh"]
    sensors = dict(sim.session.sensors)
    sensors["thigh"] = SensorStream(
        "thigh",
        np.append(st.time_s, 86_400.0),
        np.vstack([st.acc_g, st.acc_g[-1:]]),
        np.vstack([st.gyr_dps, st.gyr_dps[-1:]]),
    )
    steps: list[float] = []
    pipe = run_pipeline(Session(sensors, source="x.csv"), RDL, progress=steps.append)
    assert len(steps) <= st.time_s[-1] / 60.0 + 3  # 1441 steps of 60 s before
    assert pipe.rejected["thigh"] == 1
    assert len(pipe.reps) == 2


def test_an_extra_placement_with_one_sample_is_ignored() -> None:
    """A ``shank`` column with a single row: the analysis does not use it, so the review
    goes on (it refused the whole file: "sensor 'shank' has 1 sample(s)")."""
    sim = simulate(SimConfig(seed=1, reps=2))
    sensors = dict(sim.session.sensors)
    sensors["shank"] = SensorStream("shank", np.array([5.0]), np.array([[0.0, 0.0, 1.0]]))
    rv = review_session(Session(sensors, source="x.csv"), config=RDL)
    assert len(rv.reps) == 2
    assert any("shank" in m for m in rv.missing)


def test_a_rep_whose_back_was_not_seen_is_not_called_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lumbar sensor lost through rep 2 (its lumbar figures are None): the table, the rep
    CSV and the summary called it "good: hips first, back steady" and counted it clean."""
    from analysis.session_csv import write_session_csv
    from hipfirst.cli import main

    sim = simulate(SimConfig(seed=7, reps=4))
    rep = sim.reps[1]
    path = tmp_path / "lost.csv"
    write_session_csv(cut(sim.session, "lumbar", rep.start_s + 0.6, rep.end_s - 0.3), path)
    out_csv = tmp_path / "reps.csv"
    assert main(["review", str(path), "--exercise", "rdl", "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    verdicts = [r.strip().strip("│").split("│")[-1].strip() for r in rows]
    assert verdicts[1] == "no fault seen" and verdicts.count("good") == 3
    assert "3 clean. 1 with no fault seen but not fully measured" in out
    lines = out_csv.read_text().splitlines()
    assert "not measured: hips-first order, rounding, arching" in lines[2]
    assert "good: hips first" in lines[1]


def test_an_impossible_reading_is_ignored_by_the_smoothed_review_too() -> None:
    """One sacrum gyro reading of 1e300 in the standing start: the live pipeline drops it
    (and the review said so), but the two-direction orientation ran on it: 8 reps became 1,
    flagged rounded, arched and squatted."""
    sim = simulate(SimConfig(seed=11, reps=5, faults={"lumbar_first": 2}))
    sensors = dict(sim.session.sensors)
    st = sensors["sacrum"]
    gyr = st.gyr_dps.copy()
    gyr[100, 1] = 1e300
    sensors["sacrum"] = SensorStream("sacrum", st.time_s, st.acc_g, gyr)
    bad = review_session(Session(sensors, source="x.csv"), config=RDL)
    good = review_session(sim.session, config=RDL)
    assert [r.flags for r in bad.reps] == [r.flags for r in good.reps]
    assert len(bad.reps) == 5
    for a, b in zip(bad.reps, good.reps, strict=True):
        assert abs(a.hip_rom_deg - b.hip_rom_deg) < 0.5
