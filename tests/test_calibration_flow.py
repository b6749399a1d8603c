"""Guided set flow on a live pipeline: prompts in order, placement problems named, rests."""

from __future__ import annotations

from analysis.config import PipelineConfig
from analysis.session import SensorStream, Session
from analysis.sim import SimConfig, simulate
from analysis.stream import SensorSpec, StreamingPipeline
from hipfirst.setflow import GO, NEUTRAL, STAND, SetFlow
from tests.test_pipeline import make_session


def run(session: Session, flow: SetFlow) -> None:
    pipe = StreamingPipeline(
        PipelineConfig(),
        sensors={
            n: SensorSpec(rate_hz=s.rate_hz, has_gyro=s.gyr_dps is not None)
            for n, s in session.sensors.items()
        },
    )
    flow.attach(type("S", (), {"pipeline": pipe})())
    packets = sorted(
        (float(st.time_s[min(i + 10, st.samples) - 1]), n, i)
        for n, st in session.sensors.items()
        for i in range(0, st.samples, 10)
    )
    for _, n, i in packets:
        st = session.sensors[n]
        events = pipe.push(n, st.time_s[i : i + 10], st.acc_g[i : i + 10], st.gyr_dps[i : i + 10])
        if pipe.latest is not None:
            flow.on_angles(pipe.latest)
        for ev in events:
            flow.on_event(ev)


def test_stand_neutral_practice_go() -> None:
    s, _ = make_session(seed=1600, reps=3)
    said: list[str] = []
    flow = SetFlow(practice_reps=2, say=said.append)
    run(s, flow)
    assert said[0] == STAND and said[1] == NEUTRAL
    assert said[2].startswith("Now 2 slow practice hinges")
    assert said[3] == "Placement looks right. " + GO and flow.problems == []


def test_thigh_sensor_on_the_pelvis_is_named_after_practice() -> None:
    s, _ = make_session(seed=1601, reps=3)
    sa = s.sensors["sacrum"]
    wrong = dict(s.sensors, thigh=SensorStream("thigh", sa.time_s, sa.acc_g, sa.gyr_dps))
    said: list[str] = []
    flow = SetFlow(practice_reps=2, say=said.append)
    run(Session(wrong), flow)
    assert any(m.startswith("The thigh sensor moves like the sacrum") for m in said)
    assert said[-1] == "Fix that, then: " + GO


def test_rest_between_sets_refreshes_the_neutral() -> None:
    sim = simulate(SimConfig(exercise="hinge", reps=2, sets=2, rest_s=15.0, seed=1602))
    said: list[str] = []
    run(sim.session, SetFlow(say=said.append))
    assert said[:3] == [STAND, NEUTRAL, GO]
    assert said.count("Resting: stand tall and still, the neutral is being refreshed.") >= 1
