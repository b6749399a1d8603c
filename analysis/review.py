"""Offline review of a recorded session, with the same stage objects as the live pipeline.

``review_session`` feeds the recording through ``StreamingPipeline`` in large blocks
(60 s of every sensor in turn); every stage is chunk-invariant. Two things use the fact
that the whole recording is there, and both are switchable:

- two passes: the first learns each sensor's flexion axis from the movement, the second
  measures with those axes from the first sample (live gets them from practice hinges);
- ``smooth`` (default on): the orientation stage is run over the whole recording in both
  directions (``orientation.smoothed_up``), which cancels most of the causal estimator's
  gyro-bias and lag error. Every later stage (grid, stillness, neutral, tilt, reps,
  onsets, flags) is the live one. ``smooth=False`` (``hipfirst review --causal``) gives
  exactly what a live run with the learned axes computes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from analysis.config import PipelineConfig
from analysis.errors import InputError
from analysis.orientation import smoothed_up
from analysis.results import AngleSeries, SensorInfo, SessionReview
from analysis.session import Session
from analysis.stream import SensorSpec, StreamingPipeline
from analysis.up import PrecomputedUp, UpSource

BLOCK_S = 60.0


def config_for_session(session: Session) -> PipelineConfig:
    """Per-exercise defaults when the session's metadata names a known exercise."""
    ex = session.meta.get("exercise")
    if isinstance(ex, str):
        try:
            return PipelineConfig.for_exercise(ex)
        except ValueError:
            pass
    return PipelineConfig()


def run_pipeline(
    session: Session,
    config: PipelineConfig,
    *,
    progress: Callable[[float], None] | None = None,
    block_s: float = BLOCK_S,
    axes: dict[str, np.ndarray] | None = None,
    learn_s: float | None = None,
    up_sources: dict[str, UpSource] | None = None,
) -> StreamingPipeline:
    """Run the whole session through a recording ``StreamingPipeline`` and return it
    (``up_sources``: see ``StreamingPipeline``; default the causal estimator, as live)."""
    specs: dict[str, SensorSpec] = {}
    for name, st in session.sensors.items():
        if st.samples < 2:
            raise InputError(session.source, f"sensor {name!r} has {st.samples} sample(s)")
        specs[name] = SensorSpec(rate_hz=st.rate_hz, has_gyro=st.gyr_dps is not None)
    try:
        pipe = StreamingPipeline(
            config,
            sensors=specs,
            record=True,
            hold_laggards=False,
            axes=axes,
            up_sources=up_sources,
        )
    except ValueError as exc:
        raise InputError(session.source, str(exc)) from exc
    used = [session.sensors[n] for n in pipe.layout.sensors]
    t_end = max(float(s.time_s[-1]) for s in used)
    t_start = min(float(s.time_s[0]) for s in used)
    cursor = {s.name: 0 for s in used}
    t = t_start
    learned_at: float | None = None
    while True:
        t += block_s
        for s in used:
            i0 = cursor[s.name]
            i1 = int(np.searchsorted(s.time_s, t, side="right"))
            if i1 > i0:
                gyr = None if s.gyr_dps is None else s.gyr_dps[i0:i1]
                pipe.push(s.name, s.time_s[i0:i1], s.acc_g[i0:i1], gyr)
                cursor[s.name] = i1
        if progress is not None:
            progress(min(1.0, (t - t_start) / max(t_end - t_start, 1e-9)))
        if t >= t_end:
            break
        if learn_s is not None and pipe.tilt.established.all():
            # only the axes are wanted: keep refining them a while, then stop
            learned_at = learned_at if learned_at is not None else t
            if t - learned_at >= learn_s:
                break
    pipe.finish()
    return pipe


def smoothed_sources(session: Session) -> dict[str, UpSource]:
    """Two-direction up vectors of every sensor, for ``run_pipeline(up_sources=...)``."""
    out: dict[str, UpSource] = {}
    for name, st in session.sensors.items():
        up = smoothed_up(st.time_s, st.acc_g, st.gyr_dps, rate_hz=st.rate_hz)
        out[name] = PrecomputedUp(st.time_s, up)
    return out


LEARN_S = 120.0
"""Pass 1 stops this long after every axis is trusted: two minutes of reps pin an axis
down; the long tail of an hour-long session adds nothing (pass 2 keeps refining anyway)."""


def learned_axes(pipe: StreamingPipeline) -> dict[str, np.ndarray]:
    """The flexion axis each sensor's tilt stage has learned (NaN where none yet)."""
    return {n: pipe.tilt.axis[i].copy() for i, n in enumerate(pipe.layout.sensors)}


def _no_neutral(session: Session, pipe: StreamingPipeline) -> InputError:
    nf = pipe.neutral
    names = pipe.layout.sensors
    need = nf.n_win
    unsettled = [n for i, n in enumerate(names) if nf.sensor_best_run[i] < need]
    secs = pipe.config.neutral_s
    if unsettled:
        worst = min(unsettled, key=lambda n: nf.sensor_best_run[names.index(n)])
        return InputError(
            session.source,
            f"no standing-still start: sensor {worst!r} never stayed still for {secs:g} s; "
            "stand still for a few seconds at the start of the recording",
        )
    return InputError(
        session.source,
        f"no standing-still start: the sensors were never all still together for {secs:g} s; "
        "stand still for a few seconds at the start of the recording",
    )


def review_session(
    session: Session,
    *,
    config: PipelineConfig | None = None,
    progress: Callable[[float], None] | None = None,
    smooth: bool = True,
) -> SessionReview:
    """Reps, per-rep metrics and flags, and the angle series of a recorded session.

    Raises ``InputError`` for sessions that cannot be analysed (fewer than two of the
    lumbar/sacrum/thigh sensors, no standing-still start).
    """
    cfg = config or config_for_session(session)
    # Pass 1 learns each sensor's flexion axis from the movement; pass 2 measures with those
    # axes from the first sample, so the standing start and the first rep's early descent
    # are signed tilts too (see analysis/tilt.py). Live runs get axes from practice hinges.
    # ``smooth``: the orientation stage runs over the whole recording in both directions
    # (``orientation.smoothed_up``); every later stage is the live one. False gives exactly
    # what a live run over the same samples computes (with the learned axes).
    ups = smoothed_sources(session) if smooth else None
    half = None if progress is None else (lambda f: progress(0.5 * f))
    first = run_pipeline(session, cfg, progress=half, learn_s=LEARN_S, up_sources=ups)
    pipe = first
    if first.tilt.established.any():
        axes = learned_axes(first)
        rest = None if progress is None else (lambda f: progress(0.5 + 0.5 * f))
        pipe = run_pipeline(session, cfg, progress=rest, axes=axes, up_sources=ups)
    if not pipe.neutral.found:
        raise _no_neutral(session, pipe)
    chunks = pipe.chunks
    time_s = np.concatenate([c.time_s for c in chunks]) if chunks else np.zeros(0)
    tilts = np.concatenate([c.tilts for c in chunks], axis=1) if chunks else np.zeros((0, 0))
    layout = pipe.layout
    hip = np.concatenate([c.hip for c in chunks]) if layout.has_hip and chunks else None
    lumbar = np.concatenate([c.lumbar for c in chunks]) if layout.has_lumbar and chunks else None
    angles = AngleSeries(
        time_s=time_s,
        hip_deg=hip,
        lumbar_deg=lumbar,
        tilts_deg={n: tilts[i] for i, n in enumerate(layout.sensors)},
    )
    missing = list(layout.missing)
    for n in layout.sensors:
        if not pipe.specs[n].has_gyro:
            missing.append(
                f"sensor {n!r} has no gyroscope: its tilt comes from the accelerometer alone "
                "and is less accurate during fast movement"
            )
    for i, n in enumerate(layout.sensors):
        if not pipe.tilt.established[i]:
            missing.append(
                f"sensor {n!r} never moved far enough ({cfg.axis_establish_deg:g}°) to learn its "
                "flexion axis: its tilt is the unsigned angle from neutral"
            )
    t_neutral = pipe.neutral.anchors[0][0]
    if t_neutral - float(time_s[0]) > 10.0:
        missing.append(
            f"standing-still neutral found only at {t_neutral:.1f} s; nothing before it is measured"
        )
    for t_slip, i, deg in pipe.neutral.slips:
        missing.append(
            f"sensor {layout.sensors[i]!r} turned {deg:.0f}° on its segment during a rest "
            f"(a knocked clip?); its zero was re-set at {t_slip:.1f} s"
        )
    for n, k in pipe.rejected.items():
        if k:
            missing.append(
                f"{k} sample(s) of sensor {n!r} ignored: not finite, beyond any IMU's range "
                "or with a broken time stamp"
            )
    if pipe.grid.dropped_samples:
        missing.append(f"{pipe.grid.dropped_samples} sample(s) with non-increasing time ignored")
    if not layout.has_hip or not layout.has_lumbar:
        missing.append("lumbar-first needs hip and lumbar angles: not evaluated")
    settings = cfg.settings()
    settings["reanchors"] = [t for t, ok in pipe.neutral.anchors[1:] if ok]
    settings["orientation"] = "two-direction (smoothed)" if smooth else "causal (as live)"
    return SessionReview(
        file=session.source,
        sensors={
            n: SensorInfo(rate_hz=s.rate_hz, samples=s.samples) for n, s in session.sensors.items()
        },
        reps=list(pipe.reps),
        angles=angles,
        missing=missing,
        settings=settings,
    )
