"""Lifter simulator: ground truth for tests, benchmarks and the demo.

``simulate(SimConfig(exercise="rdl", reps=8, faults={"lumbar_first": 3}, seed=1))`` gives
a :class:`SimResult`: the session (as recorded: host-aligned times, IMU errors, drops),
the true reps with labels and onsets, the true angle series and each sensor's device
clock. See :mod:`analysis.sim.motion` for what each exercise and fault does and
:mod:`analysis.sim.body` for how the sensor signals are made.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from analysis.session import SensorStream, Session
from analysis.sim.body import make_body
from analysis.sim.config import (
    FAULTS,
    SIM_EXERCISES,
    MountSlip,
    SimConfig,
    SimResult,
    TruthAngles,
    TruthRep,
    fault_name,
)
from analysis.sim.imu import degrade, kept_samples, sample_times
from analysis.sim.motion import plan
from analysis.sim.truth import read_truth, truth_path, write_truth

__all__ = [
    "FAULTS",
    "SIM_EXERCISES",
    "MountSlip",
    "SimConfig",
    "SimResult",
    "TruthAngles",
    "TruthRep",
    "fault_name",
    "read_truth",
    "simulate",
    "truth_path",
    "write_truth",
]

TRUTH_HZ = 100.0


def simulate(cfg: SimConfig) -> SimResult:
    rng = np.random.default_rng(cfg.seed)
    lifter = plan(cfg, rng)
    body = make_body(lifter, rng, sway=cfg.sway)
    streams: dict[str, SensorStream] = {}
    device: dict[str, np.ndarray] = {}
    for name in cfg.sensors:
        rate = cfg.rate_of(name)
        if not 10.0 <= rate <= 1000.0:
            raise ValueError(f"{name}: sample rate {rate} Hz is outside 10-1000 Hz")
        sub = np.random.default_rng([cfg.seed, len(streams) + 1])
        timing = sample_times(
            sub,
            rate_hz=rate,
            duration_s=lifter.duration_s,
            offset_s=float(sub.uniform(-1, 1)) * cfg.clock_offset_s,
            drift_ppm=float(sub.uniform(-1, 1)) * cfg.clock_drift_ppm,
        )
        mount = (
            Rotation.random(random_state=sub) if cfg.mounting == "random" else Rotation.identity()
        )
        acc, gyr = body.imu(name, timing.true_s, mount, period_s=1.0 / rate)
        g: np.ndarray | None = gyr if cfg.has_gyro(name) else None
        if cfg.imu_errors:
            acc, g = degrade(sub, acc, g)
        keep = kept_samples(sub, len(timing.true_s), cfg.drop_rate)
        t = timing.recorded_s[keep]
        if cfg.time_jitter_s:
            if not 0 < cfg.time_jitter_s < 0.5 / rate:
                raise ValueError(f"time_jitter_s must be under half of {name}'s sample period")
            jitter = np.random.default_rng([cfg.seed, len(streams) + 1, 7])
            t = t + jitter.uniform(-cfg.time_jitter_s, cfg.time_jitter_s, len(t))
        t = t - 0.0 if t[0] >= 0 else t - t[0]
        streams[name] = SensorStream(name, t, acc[keep], None if g is None else g[keep])
        device[name] = timing.device_s[keep]
    session = Session(
        streams,
        source=f"simulated-{cfg.exercise}-{cfg.seed}.csv",
        meta={"simulated": True, "exercise": cfg.exercise, "sim": cfg.to_json()},
    )
    angles = _truth_angles(body, lifter.duration_s)
    return SimResult(session, _truth_reps(lifter, angles), angles, device, cfg)


def _truth_angles(body, duration_s: float) -> TruthAngles:  # type: ignore[no-untyped-def]
    t = np.arange(0.0, duration_s, 1.0 / TRUTH_HZ)
    lf = body.lifter
    hip, lum, thigh = lf.hip(t), lf.lumbar(t), lf.thigh(t)
    pelvis = hip + thigh
    return TruthAngles(t, hip, lum, pelvis + lum, pelvis, thigh)


def _truth_reps(lifter, angles: TruthAngles) -> list[TruthRep]:  # type: ignore[no-untyped-def]
    out = []
    t = angles.time_s
    for p in lifter.reps:
        start = min(p.hip_onset_s, p.lumbar_onset_s)
        sel = (t >= start) & (t <= p.end_s)
        lum = angles.lumbar_deg[sel]
        base = float(np.interp(start, t, angles.lumbar_deg))
        hip = angles.hip_deg[sel]
        bottom_i = int(np.argmax(hip))
        out.append(
            TruthRep(
                index=p.index,
                set_index=p.set_index,
                start_s=round(start, 4),
                bottom_s=round(p.bottom_s, 4),
                end_s=round(p.end_s, 4),
                hip_onset_s=round(p.hip_onset_s, 4),
                lumbar_onset_s=round(p.lumbar_onset_s, 4),
                lumbar_lead_ms=round((p.hip_onset_s - p.lumbar_onset_s) * 1000.0, 1),
                hip_rom_deg=round(float(hip.max() - hip[0]), 2),
                lumbar_peak_deg=round(float(lum.max() - base), 2),
                lumbar_min_deg=round(float(lum.min() - base), 2),
                thigh_bottom_deg=round(float(angles.thigh_deg[sel][bottom_i]), 2),
                faults=p.faults,
            )
        )
    return out
