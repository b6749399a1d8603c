"""Placement checks on exact kinematic hinges: good placement passes, mistakes are named."""

from __future__ import annotations

import numpy as np

from analysis.placement_check import check_neutral, check_practice
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


def test_a_sensor_that_does_not_move_and_a_dead_accelerometer() -> None:
    t = {"lumbar": np.linspace(0, 60, 200), "sacrum": np.linspace(0, 50, 200),
         "thigh": np.zeros(200)}  # fmt: skip
    msgs = check_practice(t)
    assert any(m.startswith("the thigh sensor hardly moved") for m in msgs)
    dead = check_neutral({"lumbar": np.tile([0.0, 0.0, 1.0], (50, 1)),
                          "sacrum": np.tile([0.0, 0.2, 0.1], (50, 1))})  # fmt: skip
    assert len(dead) == 1 and dead[0].startswith("the sacrum sensor reads 0.22 g")
