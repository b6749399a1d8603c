"""Placement checks on exact kinematic hinges: good placement passes, mistakes are named."""

from __future__ import annotations

import numpy as np

from analysis.placement_check import (
    check_neutral,
    check_practice,
    rest_offsets,
    unsteady_sensors,
)
from analysis.review import review_session
from analysis.session import SensorStream, Session
from tests.test_pipeline import make_session


def tilts(session: Session) -> dict[str, np.ndarray]:
    return review_session(session).angles.tilts_deg


def test_good_placement_passes() -> None:
    s, _ = make_session(seed=1500, reps=2)
    assert check_practice(tilts(s)) == []
    assert check_neutral({n: st.acc_g[:100] for n, st in s.sensors.items()}) == []


def test_thigh_sensor_on_the_pelvis_is_named() -> None:
    s, _ = make_session(seed=1501, reps=2)
    sa = s.sensors["sacrum"]
    moved = dict(s.sensors)
    moved["thigh"] = SensorStream("thigh", sa.time_s.copy(), sa.acc_g.copy(), sa.gyr_dps.copy())
    msgs = check_practice(tilts(Session(moved, source="x.csv")))
    assert len(msgs) == 1 and msgs[0].startswith("the thigh sensor moves like the sacrum")


def test_swapped_lumbar_and_sacrum_are_named() -> None:
    s, _ = make_session(seed=1502, reps=2, lumbar_deg=10.0)
    t = tilts(s)
    assert check_practice(t) == []
    swapped = {"lumbar": t["sacrum"], "sacrum": t["lumbar"], "thigh": t["thigh"]}
    msgs = check_practice(swapped)
    assert len(msgs) == 1 and "swapped" in msgs[0]


def test_a_sensor_that_does_not_move() -> None:
    t = {"lumbar": np.linspace(0, 60, 200), "sacrum": np.linspace(0, 50, 200),
         "thigh": np.zeros(200)}  # fmt: skip
    msgs = check_practice(t)
    assert len(msgs) == 1 and msgs[0].startswith("the thigh sensor hardly moved (0°)")


def test_dead_and_frozen_accelerometers() -> None:
    rng = np.random.default_rng(1503)
    noise = rng.normal(0, 0.003, (50, 3))
    acc = {
        "lumbar": np.array([0.0, 0.6, 0.8]) + noise,  # fine: 1 g with sensor noise
        "sacrum": np.array([0.0, 0.2, 0.1]) + noise,  # 0.22 g: off, asleep, or broken
        "thigh": np.tile([0.3, 0.0, 0.95], (50, 1)),  # 1 g but the same bits every sample
    }
    msgs = check_neutral(acc)
    assert len(msgs) == 2
    assert msgs[0].startswith("the sacrum sensor reads 0.22 g standing still")
    assert msgs[1].startswith("the thigh sensor sends the same reading every sample")


def test_unsteady_sensor_named_unless_everyone_moves() -> None:
    assert unsteady_sensors({"lumbar": 3.0, "sacrum": 2.5, "thigh": 2.0}, need_s=2.0) == []
    msgs = unsteady_sensors({"lumbar": 3.0, "sacrum": 2.5, "thigh": 0.4}, need_s=2.0)
    assert len(msgs) == 1 and msgs[0].startswith("the thigh sensor has not been still for 2 s")
    assert "(longest 0.4 s)" in msgs[0]
    everyone = unsteady_sensors({"lumbar": 0.5, "sacrum": 0.1, "thigh": 0.4}, need_s=2.0)
    assert everyone == ["every sensor is moving: stand tall and still for 2 s"]


def test_rest_offsets_name_a_slipped_sensor_or_the_stance() -> None:
    rng = np.random.default_rng(1504)
    n = 200
    still = {k: rng.normal(0, 0.3, n) for k in ("lumbar", "sacrum", "thigh")}
    assert rest_offsets(still, max_deg=5.0) == []
    slipped = dict(still, thigh=still["thigh"] - 9.0)
    msgs = rest_offsets(slipped, max_deg=5.0)
    assert len(msgs) == 1 and msgs[0].startswith("the thigh sensor reads 9° off its starting")
    leaning = {k: v + 15.0 for k, v in still.items()}
    msgs = rest_offsets(leaning, max_deg=5.0)
    assert msgs == [
        "you are not standing as at the start (lumbar +15°, sacrum +15°, thigh +15°): "
        "stand tall and still"
    ]


def test_knee_dominant_practice_hinges_are_not_taken_for_a_thigh_on_the_pelvis() -> None:
    """Bent knees move the real thigh 3-8x as far as the pelvis, in anti-phase like a thigh
    sensor clipped to the pelvis (which moves as far as the sacrum): the lifter was told
    to re-clip a sensor that was right."""
    from analysis.config import PipelineConfig
    from analysis.sim import SimConfig, simulate

    sim = simulate(SimConfig(exercise="rdl", seed=40, reps=3, faults={"knee_dominant": 3}))
    t = review_session(sim.session, config=PipelineConfig.for_exercise("rdl")).angles.tilts_deg
    assert np.nanmax(np.abs(t["thigh"])) > 2 * np.nanmax(np.abs(t["sacrum"]))
    assert check_practice(t) == []
