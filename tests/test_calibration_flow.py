"""Guided set flow on the live pipeline, fed exact kinematic sessions packet by packet.

Good placement reaches "go"; a wrong placement is named (thigh sensor on the pelvis,
lumbar/sacrum swapped, a sensor lying still, a dangling sensor, a dead accelerometer); a
sensor clipped upside down is fine; a standing rest between sets refreshes the neutral,
and a sensor that slipped during the rest is named.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from analysis.config import PipelineConfig
from analysis.session import SensorStream, Session
from analysis.sim import SimConfig, simulate
from analysis.stream import SensorSpec, StreamingPipeline
from firmware_bridge.manager import SampleBlock
from hipfirst.setflow import (
    FIX,
    GO,
    KEPT,
    NEUTRAL,
    PLACEMENT_OK,
    REFRESHED,
    REST,
    STAND,
    SetFlow,
    practice_prompt,
)
from tests.test_pipeline import _minjerk, make_session


class Feed:
    """A live pipeline with the flow hooked on, as ``LiveSession`` runs them."""

    def __init__(self, session: Session, flow: SetFlow) -> None:
        self.session = session
        self.flow = flow
        self.pipeline = StreamingPipeline(
            PipelineConfig(),
            sensors={
                n: SensorSpec(rate_hz=s.rate_hz, has_gyro=s.gyr_dps is not None)
                for n, s in session.sensors.items()
            },
        )
        flow.attach(self)
        self.said_at: list[tuple[float, str]] = []
        self.tilts: list[tuple[float, dict[str, float]]] = []

    def run(self) -> None:
        packets = sorted(
            (float(st.time_s[min(i + 10, st.samples) - 1]), n, i)
            for n, st in self.session.sensors.items()
            for i in range(0, st.samples, 10)
        )
        said = 0
        for _, n, i in packets:
            st = self.session.sensors[n]
            sl = slice(i, i + 10)
            gyr = None if st.gyr_dps is None else st.gyr_dps[sl]
            block = SampleBlock(n, st.time_s[sl], st.acc_g[sl], gyr, st.time_s[sl], 0.0)
            self.flow.on_samples(block)
            events = self.pipeline.push(n, block.time_s, block.acc_g, gyr)
            latest = self.pipeline.latest
            if latest is not None:
                self.flow.on_angles(latest)
                self.tilts.append((latest.time_s, latest.tilts_deg))
            for ev in events:
                self.flow.on_event(ev)
            t = latest.time_s if latest is not None else 0.0
            self.said_at += [(t, m) for m in self.flow.said[said:]]
            said = len(self.flow.said)


def feed(session: Session, **kw: object) -> Feed:
    f = Feed(session, SetFlow(say=lambda _: None, **kw))  # type: ignore[arg-type]
    f.run()
    return f


def replace(s: Session, **streams: SensorStream) -> Session:
    return Session(dict(s.sensors, **streams), source=s.source)


def kinematic(
    segments: Callable[[np.ndarray], dict[str, np.ndarray]], *, t_end: float, seed: int
) -> Session:
    """Exact rigid-body IMU signals (as ``make_session``) from per-sensor tilt functions
    (degrees about each segment's flexion axis), each sensor clipped at random."""
    rng = np.random.default_rng(seed)
    streams = {}
    for name in ("lumbar", "sacrum", "thigh"):
        t = np.arange(0.0, t_end, 0.01) + rng.uniform(0, 0.005)
        th = segments(t)[name]
        mount = Rotation.random(random_state=rng)
        seg = Rotation.from_rotvec(np.radians(th)[:, None] * np.array([0.0, 1.0, 0.0]))
        acc = (seg * mount).inv().apply([0.0, 0.0, 1.0]) + rng.normal(0, 0.004, (len(t), 3))
        w = np.gradient(np.radians(th), t)
        gyr = mount.inv().apply(np.degrees(w)[:, None] * np.array([0.0, 1.0, 0.0]))
        streams[name] = SensorStream(name, t, acc, gyr + rng.normal(0, 0.2, gyr.shape))
    return Session(streams, source=f"kinematic-{seed}.csv")


def two_sets(
    *, thigh_slip_deg: float = 0.0, dangle_until_s: float = 0.0
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Still 4 s, 2 hinges (5 s each), a 16 s standing rest, 2 hinges, still 3 s. The thigh
    sensor may slip about its segment's flexion axis early in the rest (a clip creeping)
    or dangle (swing at 1.2 Hz) at the start."""
    starts = (4.0, 9.0, 30.0, 35.0)

    def seg(t: np.ndarray) -> dict[str, np.ndarray]:
        hip = sum(_minjerk(t, t0, 1.5, 60) - _minjerk(t, t0 + 2.0, 1.5, 60) for t0 in starts)
        lum = sum(_minjerk(t, t0, 1.5, 8) - _minjerk(t, t0 + 2.0, 1.5, 8) for t0 in starts)
        thigh = -0.15 * hip + _minjerk(t, 15.5, 1.0, thigh_slip_deg)
        thigh = thigh + np.where(t < dangle_until_s, 12 * np.sin(2 * np.pi * 1.2 * t), 0)
        pelvis = hip - 0.15 * hip
        return {"lumbar": pelvis + lum, "sacrum": pelvis, "thigh": thigh}

    return seg


def test_good_placement_stand_neutral_practice_go() -> None:
    s, _ = make_session(seed=1600, reps=3)
    f = feed(s, practice_reps=2)
    assert f.flow.said == [STAND, NEUTRAL, practice_prompt(2), PLACEMENT_OK]
    assert f.flow.state == "go" and f.flow.problems == []
    # neutral is announced once the pipeline has 2 s of stillness (the session starts with
    # 4 s of standing); "go" comes when the tracker closes the second practice rep (the hips
    # are back up at 12.5 s)
    t = dict((m, t) for t, m in f.said_at)
    assert 2.0 <= t[NEUTRAL] < 3.0
    assert 12.0 <= t[PLACEMENT_OK] < 13.5


def test_no_practice_goes_straight_after_neutral() -> None:
    s, _ = make_session(seed=1603, reps=1)
    assert feed(s).flow.said == [STAND, NEUTRAL, GO]


def test_sensor_clipped_upside_down_is_fine() -> None:
    s, _ = make_session(seed=1604, reps=3)
    flip = Rotation.from_euler("x", 180, degrees=True)
    th = s.sensors["thigh"]
    upside = SensorStream("thigh", th.time_s, flip.apply(th.acc_g), flip.apply(th.gyr_dps))
    f = feed(replace(s, thigh=upside), practice_reps=2)
    assert f.flow.said[-1] == PLACEMENT_OK and f.flow.problems == []


def test_thigh_sensor_on_the_pelvis_is_named_after_practice() -> None:
    s, _ = make_session(seed=1601, reps=3)
    sa = s.sensors["sacrum"]
    f = feed(replace(s, thigh=SensorStream("thigh", sa.time_s, sa.acc_g, sa.gyr_dps)),
             practice_reps=2)  # fmt: skip
    assert len(f.flow.problems) == 1
    assert f.flow.said[-2].startswith("The thigh sensor moves like the sacrum sensor")
    assert f.flow.said[-1] == FIX and f.flow.state == "fix"


def test_swapped_lumbar_and_sacrum_are_named() -> None:
    s, _ = make_session(seed=1605, reps=3, lumbar_deg=12.0)
    lu, sa = s.sensors["lumbar"], s.sensors["sacrum"]
    swapped = replace(
        s,
        lumbar=SensorStream("lumbar", sa.time_s, sa.acc_g, sa.gyr_dps),
        sacrum=SensorStream("sacrum", lu.time_s, lu.acc_g, lu.gyr_dps),
    )
    f = feed(swapped, practice_reps=2)
    assert len(f.flow.problems) == 1 and "are the two swapped?" in f.flow.problems[0]
    assert f.flow.problems[0].startswith("the lumbar sensor moves less than the sacrum")


def test_sensor_lying_on_the_table_is_named() -> None:
    s, _ = make_session(seed=1606, reps=3)
    th = s.sensors["thigh"]
    rng = np.random.default_rng(1606)
    n = th.samples
    table = SensorStream(
        "thigh",
        th.time_s,
        np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.004, (n, 3)),
        rng.normal(0, 0.2, (n, 3)),
    )
    f = feed(replace(s, thigh=table), practice_reps=2)
    assert any(p.startswith("the thigh sensor hardly moved (0°)") for p in f.flow.problems)
    assert f.flow.said[-1] == FIX


def test_dangling_sensor_is_named_while_waiting_for_the_neutral() -> None:
    f = feed(kinematic(two_sets(dangle_until_s=12.0), t_end=45.0, seed=1607))
    said = f.flow.said
    dangling = [m for m in said if m.startswith("The thigh sensor has not been still")]
    assert dangling and said.index(dangling[0]) < said.index(NEUTRAL)
    assert not any(m.startswith(("The lumbar", "The sacrum")) for m in said)
    t_neutral = next(t for t, m in f.said_at if m == NEUTRAL)
    assert 14.0 <= t_neutral < 15.0  # 2 s after the thigh came to rest at 12 s


def test_dead_accelerometer_is_named_at_the_neutral() -> None:
    s, _ = make_session(seed=1608, reps=1)
    lu = s.sensors["lumbar"]
    weak = SensorStream("lumbar", lu.time_s, 0.3 * lu.acc_g, lu.gyr_dps)
    f = feed(replace(s, lumbar=weak), practice_reps=2)
    assert f.flow.said[:2] == [STAND, NEUTRAL]
    assert f.flow.said[2].startswith("The lumbar sensor reads 0.30 g standing still")
    assert f.flow.said[3] == FIX


def test_standing_rest_between_sets_refreshes_the_neutral() -> None:
    # the thigh clip creeps 3° early in the rest (inside the 5° re-anchor bound)
    f = feed(kinematic(two_sets(thigh_slip_deg=3.0), t_end=45.0, seed=1609))
    said = f.flow.said
    assert said[:3] == [STAND, NEUTRAL, GO]
    assert said[3:] == [REST, REFRESHED, "Set 2."]
    assert f.flow.set_index == 2
    t = dict((m, t) for t, m in f.said_at)
    # set 1's last rep is back up at 12.5 s; the rest prompt comes 8 s after it closed
    assert 12.5 + f.flow.rest_s <= t[REST] < 13.5 + f.flow.rest_s
    assert t[REFRESHED] == t[REST] and len(f.flow.refreshes) == 1
    # the creep (15.5-16.5 s) shows in the thigh tilt until the pipeline re-anchors on a
    # still stretch after it; standing before set 2 the thigh reads ~0° again
    creep = [abs(d["thigh"]) for t, d in f.tilts if 15.5 <= t < 17.0]
    assert max(creep) > 2.5
    assert any(ok and 18.5 <= a < 30.0 for a, ok in f.pipeline.neutral.anchors)
    before_set2 = [d["thigh"] for t, d in f.tilts if 19.0 <= t < 29.5]
    assert abs(np.median(before_set2)) < 0.3


def test_sensor_slipped_during_the_rest_is_named() -> None:
    f = feed(kinematic(two_sets(thigh_slip_deg=12.0), t_end=45.0, seed=1610))
    said = f.flow.said
    i = said.index(REST)
    assert said[i + 1].startswith("The thigh sensor reads 12° off its starting angle standing")
    assert REFRESHED not in said and f.flow.refreshes == []


def test_simulated_rest_between_sets() -> None:
    sim = simulate(SimConfig(exercise="hinge", reps=2, sets=2, rest_s=15.0, seed=1602))
    f = feed(sim.session)
    said = f.flow.said
    assert said[:3] == [STAND, NEUTRAL, GO]
    assert said.count(REST) == 1 and f.flow.set_index == 2
    assert REFRESHED in said or KEPT in said  # the simulated lifter's rest posture varies
    first, second = ([r for r in sim.reps if r.set_index == k] for k in (0, 1))
    assert first and second
    t_rest = next(t for t, m in f.said_at if m == REST)
    assert first[-1].end_s + f.flow.rest_s <= t_rest < second[0].start_s
