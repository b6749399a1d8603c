"""``LiveSession.recalibrate()``: a sensor is re-clipped in a rest (its mounting turns by
50-60°), the session re-finds the neutral without restarting the BLE links or the
recording, and the angles of the next set are back near the simulator's truth; the
set-up flow starts it when it has named a slipped sensor and that sensor is handled."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from analysis.config import PipelineConfig
from analysis.session import SensorStream, Session
from analysis.session_csv import read_session_csv
from analysis.sim import MountSlip, SimConfig, SimResult, simulate
from analysis.stream import LatestAngles, SensorSpec, StreamingPipeline
from firmware_bridge.manager import LinkEvent, SampleBlock
from hipfirst.commands.review import load_and_review
from hipfirst.live import LiveHooks, LiveSession
from hipfirst.live.demo import DemoOptions, run_demo
from hipfirst.recording import read_sidecar
from hipfirst.setflow import FIX, GO, NEUTRAL, RECALIBRATING, REST, SetFlow
from tests.blocks import in_blocks

RATE_HZ = 100.0


def sim_two_sets(seed: int, *, rest_s: float, slips: tuple[MountSlip, ...] = ()) -> SimResult:
    return simulate(
        SimConfig(exercise="rdl", reps=2, sets=2, rest_s=rest_s, seed=seed, rate_hz=RATE_HZ,
                  clock_offset_s=0.0, clock_drift_ppm=0.0, still_start_s=6.0, slips=slips)
    )  # fmt: skip


def reclip(
    sim: SimResult, sensor: str, *, t0_s: float, dur_s: float, rotvec_deg: np.ndarray
) -> SimResult:
    """The sensor taken off and clipped back turned by ``rotvec_deg`` (in its own frame)
    between ``t0_s`` and ``t0_s + dur_s`` (minimum-jerk): the readings are rotated into
    the new frame and the gyro gets the turn's own rate. The body (the truth) is unchanged."""
    st = sim.session.sensors[sensor]
    assert st.gyr_dps is not None
    total = float(np.linalg.norm(rotvec_deg))
    k = np.asarray(rotvec_deg, float) / total
    s = np.clip((st.time_s - t0_s) / dur_s, 0.0, 1.0)
    theta = total * (10 * s**3 - 15 * s**4 + 6 * s**5)
    rate = total / dur_s * (30 * s**2 - 60 * s**3 + 30 * s**4)
    q_inv = Rotation.from_rotvec(np.radians(theta)[:, None] * k).inv()
    acc = q_inv.apply(st.acc_g)
    gyr = q_inv.apply(st.gyr_dps) + rate[:, None] * k
    streams = dict(sim.session.sensors, **{sensor: SensorStream(sensor, st.time_s, acc, gyr)})
    return dataclasses.replace(sim, session=Session(streams, source=sim.session.source))


class Angles(LiveHooks):
    def __init__(self) -> None:
        self.rows: list[tuple[float, float, float]] = []
        self.links: list[LinkEvent] = []
        self.sample_t: dict[str, list[np.ndarray]] = {}

    def on_samples(self, block: SampleBlock) -> None:
        self.sample_t.setdefault(block.sensor, []).append(block.time_s)

    def on_sim_clock(self, sim: SimResult) -> np.ndarray:
        """The angle rows with times on the simulator's clock: the session clock is the
        host's (the manager aligns each sensor's clock to it), offset from the simulator's
        by the connection set-up and the wait for every sensor to stream. A virtual sensor
        streams from when it is connected to the end of its source, nothing lost, so its
        last n samples pair with the simulator's last n."""
        offsets = []
        for name, parts in self.sample_t.items():
            live = np.concatenate(parts)
            true = sim.session.sensors[name].time_s
            n = min(len(live), len(true))
            assert n > 0
            offsets.append(float(np.median(live[-n:] - true[-n:])))
        # the manager's clock alignment at 2 × real time: within 50 ms of each other
        assert np.ptp(offsets) < 0.05, offsets
        self.offset_s = float(np.mean(offsets))
        rows = np.array(self.rows)
        rows[:, 0] -= self.offset_s
        return rows

    def on_angles(self, latest: LatestAngles) -> None:
        if latest.hip_deg is not None and latest.lumbar_deg is not None:
            self.rows.append((latest.time_s, latest.hip_deg, latest.lumbar_deg))

    def on_link(self, event: LinkEvent) -> None:
        self.links.append(event)


class RecalibrateAt(LiveHooks):
    """Calls ``session.recalibrate()`` once, at the first sample after ``t_s``."""

    def __init__(self, t_s: float) -> None:
        self.t_s = t_s
        self.session: LiveSession | None = None
        self.fired = False

    def attach(self, session: object) -> None:
        assert isinstance(session, LiveSession)
        self.session = session

    def on_samples(self, block: SampleBlock) -> None:
        if not self.fired and self.session is not None and block.time_s[-1] >= self.t_s:
            self.session.recalibrate(reason="test")
            self.fired = True


def set_errors(sim: SimResult, rows: np.ndarray, *, set_index: int) -> dict[str, float]:
    """Median and 99th percentile of |live - true| of hip and lumbar over one set's reps (the
    worst single sample depends on how a loaded machine paces the live stream; the truth is
    relative to the first standing neutral; the simulated lifter rests in the same stance)."""
    reps = [r for r in sim.reps if r.set_index == set_index]
    tr = sim.angles
    sel = (rows[:, 0] >= reps[0].start_s - 0.5) & (rows[:, 0] <= reps[-1].end_s + 0.5)
    out = {}
    for j, (name, true) in enumerate((("hip", tr.hip_deg), ("lumbar", tr.lumbar_deg)), 1):
        err = np.abs(rows[sel, j] - np.interp(rows[sel, 0], tr.time_s, true))
        out[f"{name}_median"] = float(np.median(err))
        out[f"{name}_p99"] = float(np.percentile(err, 99))
    return out


def offline_rows(session: Session) -> np.ndarray:
    """One plain pipeline over the same samples (no recalibration), in 0.1 s blocks."""
    pipe = StreamingPipeline(
        PipelineConfig.for_exercise("rdl"),
        sensors={n: SensorSpec(rate_hz=RATE_HZ) for n in session.sensors},
    )
    rows = []
    for _, parts in in_blocks(session, 0.1):
        for n, k in parts:
            st = session.sensors[n]
            pipe.push(n, st.time_s[k], st.acc_g[k], st.gyr_dps[k])
        la = pipe.latest
        if la is not None and la.hip_deg is not None and np.isfinite(la.hip_deg):
            rows.append((la.time_s, la.hip_deg, la.lumbar_deg))
    return np.array(rows)


def test_seeding_right_after_the_neutral_is_the_same_as_axes_at_construction() -> None:
    """The assumption :mod:`hipfirst.live.recalibrate` rests on, checked on the pipeline."""
    sim = sim_two_sets(4101, rest_s=6.0)
    s = sim.session
    specs = {n: SensorSpec(rate_hz=RATE_HZ) for n in s.sensors}
    cfg = PipelineConfig.for_exercise("rdl")
    learn = StreamingPipeline(cfg, sensors=specs)
    for n, st in s.sensors.items():
        learn.push(n, st.time_s, st.acc_g, st.gyr_dps)
    learn.finish()
    axes = {n: learn.tilt.axis[i] for i, n in enumerate(learn.layout.sensors)}
    assert all(np.isfinite(a).all() for a in axes.values())
    built = StreamingPipeline(cfg, sensors=specs, axes=axes)
    late = StreamingPipeline(cfg, sensors=specs)
    seeded_at = None
    tilts: dict[str, list[np.ndarray]] = {"built": [], "late": []}
    for t, parts in in_blocks(s, 0.05):
        for n, k in parts:
            st = s.sensors[n]
            for pipe in (built, late):
                pipe.push(n, st.time_s[k], st.acc_g[k], st.gyr_dps[k])
        if seeded_at is None and late.neutral.found:
            late.tilt.seed(np.array([axes[n] for n in late.layout.sensors]))
            seeded_at = t
        elif seeded_at is not None and built.latest is not None and late.latest is not None:
            tilts["built"].append(np.array(list(built.latest.tilts_deg.values())))
            tilts["late"].append(np.array(list(late.latest.tilts_deg.values())))
    assert seeded_at is not None and len(tilts["late"]) > 200
    np.testing.assert_allclose(tilts["late"], tilts["built"], atol=1e-9)
    assert [r.to_json() for r in late.reps] == [r.to_json() for r in built.reps]


async def test_recalibrate_after_a_reclip_brings_the_angles_back_to_truth(tmp_path: Path) -> None:
    sim0 = sim_two_sets(4102, rest_s=16.0)
    set1 = [r for r in sim0.reps if r.set_index == 0]
    t_clip = set1[-1].end_s + 3.0
    # the sacrum sensor taken off and clipped back turned by 50° about a tilted axis
    sim = reclip(sim0, "sacrum", t0_s=t_clip, dur_s=1.2, rotvec_deg=np.array([20.0, 40.0, 22.0]))
    angles = Angles()
    out = tmp_path / "rec.csv"
    # speed 2: at 10x, 10 ms of scheduling jitter on a loaded machine is 100 ms of session
    # time in the clock alignment between sensors, which is not what is tested here
    opts = DemoOptions(exercise="rdl", rate_hz=RATE_HZ, speed=2.0, out_file=out)
    res = await run_demo(opts, sim=sim, hooks=[angles, RecalibrateAt(t_clip + 2.0)])
    rows = angles.on_sim_clock(sim)

    (rec,) = res.summary.recalibrations
    assert rec.done and rec.neutral_s is not None
    # the new neutral: the first 2 s of standing still from the request (at t_clip + 2 s) on
    assert rec.from_s is not None and t_clip + 1.9 <= rec.from_s < t_clip + 2.1
    assert rec.neutral_s == pytest.approx(rec.from_s + 2.0, abs=0.1)
    # the lumbar and thigh sensors kept their axes; the sacrum's up vector turned: relearn
    assert rec.kept == ["lumbar", "thigh"] and rec.turned_deg["sacrum"] > 20.0
    assert max(rec.turned_deg["lumbar"], rec.turned_deg["thigh"]) < 5.0

    # set 2 against the truth: as good as set 1 on a fresh neutral (measured over seeds
    # 4102-4104: hip median 0.2-0.7°, worst 1.8-3.8°; set 1 0.4-0.7°, worst 1.5-4.1°)
    before = set_errors(sim, rows, set_index=0)
    after = set_errors(sim, rows, set_index=1)
    for errs in (before, after):
        assert errs["hip_median"] < 1.5 and errs["lumbar_median"] < 1.5, errs
        assert errs["hip_p99"] < 6.0 and errs["lumbar_p99"] < 6.0, errs
    # the control: the same samples through a pipeline that never recalibrates (~30° off)
    stale = set_errors(sim, offline_rows(sim.session), set_index=1)
    assert stale["hip_median"] > 10.0 and stale["lumbar_median"] > 10.0, stale

    # every rep of both sets, numbered on across the recalibration, ROM against the truth
    reps = [e.rep for e in res.summary.events if e.kind == "rep_end" and e.rep is not None]
    assert [r.index for r in reps] == [1, 2, 3, 4]
    for r, true in zip(reps, sim.reps, strict=True):
        assert r.hip_rom_deg == pytest.approx(true.hip_rom_deg, abs=4.0)
    # the links were never restarted; the recording ran through and logged the event
    streaming = sorted(e.sensor for e in angles.links if e.kind == "streaming")
    assert streaming == sorted(res.sensors)
    assert not [e for e in angles.links if e.kind in ("disconnected", "retrying")]
    written = read_session_csv(out)
    for name, sensor in res.sensors.items():
        assert written.sensors[name].samples == sensor.stats.samples_sent
    side = read_sidecar(out)
    assert side is not None and side["complete"]
    cal = [(c["kind"], c["start_s"], c["end_s"]) for c in side["calibration"]]
    assert [k for k, _, _ in cal] == ["neutral", "recalibrate", "neutral"]
    assert cal[1][1] == pytest.approx(rec.from_s, abs=1e-3)
    assert cal[2][2] == pytest.approx(rec.neutral_s, abs=1e-3)
    assert cal[2][2] - cal[2][1] == pytest.approx(2.0)

    # and `hipfirst review` of that recording restarts where the session re-calibrated:
    # set 2 reads the truth there too, the same four reps
    review, _, _ = load_and_review(out)
    a = review.angles
    assert a.hip_deg is not None and a.lumbar_deg is not None
    reviewed = np.column_stack([a.time_s - angles.offset_s, a.hip_deg, a.lumbar_deg])
    reviewed = reviewed[np.isfinite(reviewed).all(axis=1)]
    errs = set_errors(sim, reviewed, set_index=1)
    assert errs["hip_median"] < 1.5 and errs["lumbar_median"] < 1.5, errs
    assert len(review.reps) == len(reps)
    # each rep where it truly began. (Not where live began it: the first rep after the
    # re-clip is measured live before the sacrum's axis is learned again, with no practice
    # hinges here, and its start came out 2.3 s early in about half of the runs.)
    for r, true in zip(review.reps, sim.reps, strict=True):
        assert r.start_s - angles.offset_s == pytest.approx(true.start_s, abs=0.3)


async def test_set_flow_recalibrates_once_the_slipped_sensor_is_reclipped() -> None:
    """The thigh clip is knocked 15° in the rest (beyond the 5° re-anchoring bound); the
    flow names it, the lifter re-clips it (turned by 60° about a tilted axis, in half a
    second: more than the pipeline's own slip re-set absorbs) and stands still: the
    session re-calibrates and set 2 reads the truth."""
    knock = MountSlip(sensor="thigh", deg=15.0, rest=1, after_s=2.0, dur_s=0.3)
    sim0 = sim_two_sets(4105, rest_s=30.0, slips=(knock,))
    set1 = [r for r in sim0.reps if r.set_index == 0]
    t_clip = set1[-1].end_s + 18.0
    sim = reclip(sim0, "thigh", t0_s=t_clip, dur_s=0.5, rotvec_deg=np.array([-30.0, 45.0, 25.0]))
    said: list[tuple[float, str]] = []
    angles = Angles()

    def say(text: str) -> None:
        said.append((angles.rows[-1][0] if angles.rows else 0.0, text))

    flow = SetFlow(say=say)
    opts = DemoOptions(exercise="rdl", rate_hz=RATE_HZ, speed=2.0, out_dir=None)
    res = await run_demo(opts, sim=sim, hooks=[angles, flow])
    rows = angles.on_sim_clock(sim)
    texts = [m for _, m in said]
    i = texts.index(REST)
    assert (
        texts[i + 1].startswith("The thigh sensor reads ")
        and "slipped? Re-clip it." in texts[i + 1]
    )
    assert texts[i + 2 :] == [FIX, RECALIBRATING, NEUTRAL, f"Set 2. {GO}"]
    (rec,) = res.summary.recalibrations
    assert rec.relearn == {"thigh"} and rec.kept == ["lumbar", "sacrum"]
    # the handling started the recalibration: within the re-clip's half second
    assert rec.from_s is not None
    to_sim_clock = rows[0][0] - angles.rows[0][0]
    assert t_clip <= rec.from_s + to_sim_clock <= t_clip + 0.5
    assert flow.state == "go" and flow.set_index == 2
    errs = set_errors(sim, rows, set_index=1)
    assert errs["hip_median"] < 1.5 and errs["lumbar_median"] < 1.5, errs
    assert errs["hip_p99"] < 6.0 and errs["lumbar_p99"] < 6.0, errs
    reps = [e.rep for e in res.summary.events if e.kind == "rep_end" and e.rep is not None]
    assert [r.index for r in reps] == [1, 2, 3, 4]
