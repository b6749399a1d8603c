"""Hinge pause-hold feedback on simulated drills: the 2 s hold is recognised and scored."""

from __future__ import annotations

from analysis.config import PipelineConfig
from analysis.sim import SimConfig, simulate
from analysis.stream import SensorSpec, StreamingPipeline
from hipfirst.hold import HoldCoach


def test_two_second_holds_are_recognised_and_scored() -> None:
    # hinge drill reps hold 1.0-2.0 s at the bottom (analysis/sim/motion.py)
    sim = simulate(SimConfig(exercise="hinge", reps=6, seed=1700))
    s = sim.session
    pipe = StreamingPipeline(
        PipelineConfig.for_exercise("hinge"),
        sensors={n: SensorSpec(rate_hz=st.rate_hz, has_gyro=True) for n, st in s.sensors.items()},
    )
    said: list[str] = []
    coach = HoldCoach(say=said.append)
    packets = sorted(
        (float(st.time_s[min(i + 10, st.samples) - 1]), n, i)
        for n, st in s.sensors.items()
        for i in range(0, st.samples, 10)
    )
    for _, n, i in packets:
        st = s.sensors[n]
        evs = pipe.push(n, st.time_s[i : i + 10], st.acc_g[i : i + 10], st.gyr_dps[i : i + 10])
        if pipe.latest is not None:
            coach.on_angles(pipe.latest)
        for ev in evs:
            coach.on_event(ev)
    assert len(coach.results) == 6
    # true hold: hip within 5° of the bottom, from the truth angles
    a = sim.angles
    for res, rep in zip(coach.results, sim.reps, strict=True):
        sel = (a.time_s >= rep.start_s) & (a.time_s <= rep.end_s)
        hip = a.hip_deg[sel]
        true_hold = (hip >= hip.max() - 5.0).sum() * (a.time_s[1] - a.time_s[0])
        assert abs(res.hold_s - true_hold) < 0.25, (res, true_hold)
        still = hip >= hip.max() - 2.0
        true_score = min(100.0, max(0.0, 100 - 25 * float(a.trunk_deg[sel][still].std())))
        assert res.stability is not None and abs(res.stability - true_score) <= 15
    long_holds = sum(r.hold_s >= 2.0 for r in coach.results)
    assert said.count("2 s - good hold, now stand up.") == long_holds


def test_a_hold_just_short_of_the_target_is_not_shown_as_reaching_it() -> None:
    """Held 1.97 s: said "held 2.0 s (aim for 2 s)". What is said and what is judged are
    now the same figure (rounded down)."""
    from analysis.results import LiveEvent
    from analysis.stream import LatestAngles

    said: list[str] = []
    coach = HoldCoach(say=said.append)
    for k in range(400):  # down to 60° in 1 s, within 5° of it for ~1.97 s, back up
        t = k / 100
        hip = min(60.0, 60.0 * t) if t < 2.8 else max(0.0, 60.0 - 60.0 * (t - 2.8))
        coach.on_angles(LatestAngles(t, hip, 0.0, {"lumbar": hip * 0.9}))
    coach.on_event(LiveEvent("rep_end", 4.0, 1))
    assert 1.9 <= coach.results[0].hold_s < 2.0
    assert said[-1].startswith("rep 1: held 1.9 s (aim for 2 s)")
