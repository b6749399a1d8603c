"""The simulator against physics it must obey (independent of the pipeline)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analysis.sim import SimConfig, read_truth, simulate, write_truth

EXACT = SimConfig(
    exercise="rdl",
    reps=3,
    seed=1100,
    mounting=None,
    imu_errors=False,
    sway=False,
    clock_offset_s=0.0,
    clock_drift_ppm=0.0,
)


def test_resting_sensor_reads_one_g_up_and_no_rotation() -> None:
    res = simulate(EXACT)
    for name, st in res.session.sensors.items():
        still = st.time_s < 2.5
        np.testing.assert_allclose(np.linalg.norm(st.acc_g[still], axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(st.gyr_dps[still], 0.0, atol=1e-6)
        # unmounted sensor: the accelerometer shows the segment's neutral tilt about y
        tilt = np.degrees(np.arctan2(st.acc_g[still, 0], st.acc_g[still, 2]))
        expected = {"lumbar": -4.0, "sacrum": 10.0, "thigh": -3.0}[name]
        np.testing.assert_allclose(-tilt, expected, atol=1e-6)


def test_gyro_integrates_to_the_true_segment_tilt() -> None:
    res = simulate(EXACT)
    a = res.angles
    for name, truth in (("lumbar", a.trunk_deg), ("sacrum", a.pelvis_deg), ("thigh", a.thigh_deg)):
        st = res.session.sensors[name]
        # each sample's rate is the mean over the interval that ends at it
        tilt = np.concatenate([[0.0], np.cumsum(st.gyr_dps[1:, 1] * np.diff(st.time_s))])
        ref = np.interp(st.time_s, a.time_s, truth) - np.interp(st.time_s[0], a.time_s, truth)
        assert np.max(np.abs(tilt - ref)) < 0.05, name


def test_accelerometer_includes_linear_acceleration() -> None:
    res = simulate(EXACT)
    st = res.session.sensors["sacrum"]
    moving = np.abs(np.linalg.norm(st.acc_g, axis=1) - 1.0)
    assert moving.max() > 0.02  # the hips accelerate backwards and down in a hinge
    assert moving[st.time_s < 2.5].max() < 1e-6


def test_random_mounting_keeps_magnitudes() -> None:
    a = simulate(EXACT)
    b = simulate(replace(EXACT, mounting="random"))
    for name in a.session.sensors:
        sa, sb = a.session.sensors[name], b.session.sensors[name]
        np.testing.assert_allclose(
            np.linalg.norm(sa.acc_g, axis=1), np.linalg.norm(sb.acc_g, axis=1), atol=1e-9
        )
        assert np.abs(sa.acc_g - sb.acc_g).max() > 0.1  # really rotated


def test_faults_land_on_distinct_reps_with_labelled_leads() -> None:
    cfg = SimConfig(exercise="rdl", reps=8, faults={"lumbar_first": 3, "rounding": 2}, seed=1101)
    res = simulate(cfg)
    lf = [r for r in res.reps if "lumbar_first" in r.faults]
    rd = [r for r in res.reps if "lumbar_flexion" in r.faults]
    assert len(lf) == 3 and len(rd) == 2 and not {r.index for r in lf} & {r.index for r in rd}
    assert all(150 <= r.lumbar_lead_ms <= 450 for r in lf)
    assert all(abs(r.lumbar_lead_ms) <= 25 for r in res.reps if not r.faults)
    assert all(r.lumbar_peak_deg > 21 for r in rd)
    assert all(r.lumbar_peak_deg < 20 for r in res.reps if "lumbar_flexion" not in r.faults)


def test_other_faults_and_exercises() -> None:
    ext = simulate(SimConfig(exercise="swing", reps=6, faults={"arching": 2}, seed=1102))
    assert [r.lumbar_min_deg < -12 for r in ext.reps].count(True) == 2
    assert all(r.end_s - r.start_s < 1.5 for r in ext.reps)
    knee = simulate(SimConfig(exercise="deadlift", reps=4, faults={"knee_dominant": 1}, seed=1103))
    kd = [r for r in knee.reps if r.faults]
    assert len(kd) == 1 and kd[0].thigh_bottom_deg < -65
    row = simulate(SimConfig(exercise="row", reps=1, faults={"torso_drift": 1}, seed=1104))
    (r,) = row.reps
    a = row.angles
    hold = (a.time_s > r.bottom_s + 0.5) & (a.time_s < r.end_s - 2.5)
    assert np.ptp(a.trunk_deg[hold]) > 9
    with pytest.raises(ValueError, match="torso_drift"):
        simulate(SimConfig(exercise="rdl", faults={"torso_drift": 1}))
    with pytest.raises(ValueError, match="unknown fault"):
        simulate(SimConfig(exercise="rdl", faults={"slouch": 1}))


def test_rates_drops_clock_errors_and_determinism() -> None:
    cfg = SimConfig(
        exercise="hinge",
        reps=3,
        seed=1105,
        rate_hz={"lumbar": 200.0, "sacrum": 50.0, "thigh": 100.0},
        drop_rate=0.02,
        accel_only=("thigh",),
    )
    a, b = simulate(cfg), simulate(cfg)
    for name, st in a.session.sensors.items():
        np.testing.assert_array_equal(st.acc_g, b.session.sensors[name].acc_g)
        dt = np.diff(st.time_s)
        nominal = 1.0 / cfg.rate_of(name)
        assert np.median(dt) == pytest.approx(nominal, rel=1e-3)
        lost = np.sum(np.rint(dt / nominal) - 1)
        assert 0.01 < lost / (st.samples + lost) < 0.04
        assert len(a.device_time_s[name]) == st.samples
    assert a.session.sensors["thigh"].gyr_dps is None
    # quantised to int16 steps of the ±8 g range
    steps = a.session.sensors["lumbar"].acc_g / (8.0 / 32768)
    np.testing.assert_allclose(steps, np.rint(steps), atol=1e-6)


def test_truth_file_round_trip(tmp_path: Path) -> None:
    res = simulate(SimConfig(exercise="rdl", reps=2, faults={"lumbar_first": 1}, seed=1106))
    p = write_truth(tmp_path / "s.truth.json", config=res.config, reps=res.reps, angles=res.angles)
    reps, angles = read_truth(p)
    assert reps == res.reps
    np.testing.assert_allclose(angles.hip_deg, res.angles.hip_deg, atol=0.006)


@pytest.mark.parametrize("exercise", ["row", "deadlift", "swing"])
def test_a_set_begun_in_its_hinge_holds_the_bottom_posture_still_from_time_0(
    exercise: str,
) -> None:
    cfg = SimConfig(exercise=exercise, reps=2, seed=1042, start="hinge", still_start_s=3.0)
    sim = simulate(cfg)
    a = sim.angles
    first = a.time_s < 3.0
    assert a.hip_deg[0] > 50.0  # in the hinge, not standing
    assert np.ptp(a.hip_deg[first]) < 2.5  # held (a row's pulls start after the 3 s)
    assert np.ptp(a.thigh_deg[first]) < 0.5 and a.thigh_deg[0] < -4.0
    assert abs(a.hip_deg[-1]) < 0.5  # it ends standing
    # still: the sensors read 1 g and hardly turn while the hinge is held
    for st in sim.session.sensors.values():
        held = st.time_s < 3.0
        assert np.abs(np.linalg.norm(st.acc_g[held], axis=1) - 1.0).max() < 0.05
        assert np.abs(st.gyr_dps[held]).max() < 8.0
    r1 = sim.reps[0]
    assert r1.hip_onset_s == r1.bottom_s == 0.0 and r1.faults == ()
    # the other reps start standing, as in a standing start
    assert sim.reps[1].hip_rom_deg > 50.0
    assert sim.config.to_json()["start"] == "hinge"
    assert "start" not in replace(cfg, start="standing").to_json()
    with pytest.raises(ValueError, match="unknown start"):
        simulate(replace(cfg, start="sitting"))
