"""Offline review of a recorded session, with the same stage objects as the live pipeline.

``review_session`` feeds the recording through ``StreamingPipeline`` in large blocks
(60 s of every sensor in turn); every stage is chunk-invariant. Two things use the fact
that the whole recording is there, and both are switchable:

- two passes: the first learns each sensor's flexion axis from the movement, the second
  measures with those axes from the first sample (live gets them from practice hinges);
- ``smooth`` (default on): the orientation stage is VQF's offline variant over the whole
  recording (``offline_orientation.smoothed_up``), free of the causal estimator's
  unlearned gyro bias and lag. Every later stage (grid, stillness, neutral, tilt, reps,
  onsets, flags) is the live one. ``smooth=False`` (``hipfirst review --causal``) gives
  exactly what a live run with the learned axes computes. For long recordings the
  sensors' offline estimates run in parallel processes (``analysis/offline_up.py``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.angles import USED, layout_for
from analysis.config import PipelineConfig
from analysis.errors import InputError
from analysis.offline_up import smoothed_ups
from analysis.recalibration import (
    KEEP_AXIS_MAX_DEG,
    CarriedAxes,
    carry_axes,
    check_restarts,
    recording_span,
)
from analysis.results import AngleSeries, RepResult, SensorInfo, SessionReview
from analysis.session import SensorStream, Session
from analysis.stance import NotStanding, axes_for_standing, not_standing_note
from analysis.stream import LEAD_NEEDS_GYRO, SensorSpec, StreamingPipeline
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


def sensor_specs(session: Session) -> dict[str, SensorSpec]:
    """Each sensor's rate and kind; ``InputError`` for a sensor the analysis uses with
    fewer than two samples (no rate to speak of). An extra placement (a ``shank`` column)
    is ignored whatever it holds (its rate reads 0.0 with fewer than two samples)."""
    specs: dict[str, SensorSpec] = {}
    for name, st in session.sensors.items():
        if st.samples < 2 and name in USED:
            raise InputError(session.source, f"sensor {name!r} has {st.samples} sample(s)")
        specs[name] = SensorSpec(rate_hz=st.rate_hz, has_gyro=st.gyr_dps is not None)
    return specs


def run_pipeline(
    session: Session,
    config: PipelineConfig,
    *,
    progress: Callable[[float], None] | None = None,
    block_s: float = BLOCK_S,
    axes: dict[str, np.ndarray] | None = None,
    learn_s: float | None = None,
    up_sources: dict[str, UpSource] | None = None,
    span_s: tuple[float, float] | None = None,
    neutral: tuple[dict[str, np.ndarray], float] | None = None,
) -> StreamingPipeline:
    """Run the whole session through a recording ``StreamingPipeline`` and return it
    (``up_sources``, ``neutral``: see ``StreamingPipeline``; default the causal
    estimator, as live, and the first still stretch).
    ``span_s``: only the samples with ``start <= time_s < end`` (a stretch between two
    re-calibrations), as a fresh pipeline for the whole session's sensors would get them."""
    specs = sensor_specs(session)
    try:
        pipe = StreamingPipeline(
            config,
            sensors=specs,
            record=True,
            hold_laggards=False,
            axes=axes,
            up_sources=up_sources,
            neutral=neutral,
        )
    except ValueError as exc:
        raise InputError(session.source, str(exc)) from exc
    used = [session.sensors[n] for n in pipe.layout.sensors]
    cursor = {s.name: 0 for s in used}
    stop = {s.name: s.samples for s in used}
    if span_s is not None:
        a, b = span_s
        cursor = {s.name: int(np.searchsorted(s.time_s, a, side="left")) for s in used}
        stop = {s.name: int(np.searchsorted(s.time_s, b, side="left")) for s in used}
        used = [s for s in used if stop[s.name] > cursor[s.name]]
        if not used:
            pipe.finish()
            return pipe
    t_end = max(float(s.time_s[stop[s.name] - 1]) for s in used)
    t_start = min(float(s.time_s[cursor[s.name]]) for s in used)
    t = t_start
    learned_at: float | None = None
    while True:
        t += block_s
        # over a stretch where no sensor has samples (a far-future time stamp, which the
        # pipeline then drops, took minutes of empty 60-s steps): on to the next sample
        ahead = [float(s.time_s[cursor[s.name]]) for s in used if cursor[s.name] < stop[s.name]]
        t = max(t, min(ahead, default=t))
        for s in used:
            i0 = cursor[s.name]
            i1 = min(int(np.searchsorted(s.time_s, t, side="right")), stop[s.name])
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


def smoothed_sources(
    session: Session, *, workers: int | None = None
) -> tuple[Session, dict[str, UpSource]]:
    """Offline up vectors of every sensor the analysis uses (a ``wrist`` column is
    ignored, so it is not estimated either), for ``run_pipeline(up_sources=...)``, and
    the session with those sensors' samples at their steady times
    (``analysis/steady_times.py``), which the sources are keyed by (``workers``: see
    ``offline_up.smoothed_ups``)."""
    try:
        used = layout_for(list(session.sensors)).sensors
    except ValueError:  # too few sensors: the pipeline says so
        return session, {}
    part = Session({n: session.sensors[n] for n in used}, source=session.source)
    tracks = smoothed_ups(part, workers=workers)
    steady = {
        n: SensorStream(n, tracks[n].time_s, st.acc_g, st.gyr_dps) for n, st in part.sensors.items()
    }
    retimed = Session({**session.sensors, **steady}, source=session.source, meta=session.meta)
    sources: dict[str, UpSource] = {n: PrecomputedUp(tr.time_s, tr.up) for n, tr in tracks.items()}
    return retimed, sources


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


@dataclass
class _Segment:
    """One stretch between re-calibrations and the pipeline that measured it."""

    span_s: tuple[float, float]
    pipe: StreamingPipeline
    carried: CarriedAxes | None = None
    """After a re-calibration whose new neutral was found: what carried over."""
    not_standing: NotStanding | None = None
    """The first still posture looked like a hinge and a later one like standing
    (``analysis/stance.py``); the stretch was measured from that one if ``returned``."""


def _review_segment(
    session: Session,
    cfg: PipelineConfig,
    span_s: tuple[float, float] | None,
    *,
    ups: dict[str, UpSource] | None,
    before: tuple[np.ndarray, np.ndarray] | None,
    relearn: Iterable[str],
    keep_axis_max_deg: float,
    progress: Callable[[float], None] | None,
) -> tuple[StreamingPipeline, CarriedAxes | None, NotStanding | None]:
    """Both passes over one stretch (``span_s`` None: the whole recording). ``before``:
    the neutral and axes in use when this stretch's re-calibration was made (None: it is
    the first stretch, or no neutral was ever found before it). When pass 2 finds that
    the first still posture looked like a hinge and a later one like standing
    (``PostureLog``), that verdict is returned, and if the lifter came back to the
    standing posture a third pass measures the stretch from it, with the axes re-signed
    for it."""
    half = None if progress is None else (lambda f: progress(0.5 * f))
    first = run_pipeline(
        session, cfg, progress=half, learn_s=LEARN_S, up_sources=ups, span_s=span_s
    )
    seed = np.array([first.tilt.axis[i] for i in range(len(first.layout.sensors))])
    carried = None
    if before is not None and first.neutral.u0_original is not None:
        # as live (``LiveSession._neutral_found``): the axes of the sensors whose neutral
        # did not turn carry over; the others use what pass 1 learned in this stretch
        carried = carry_axes(
            first.layout.sensors,
            before[0],
            before[1],
            first.neutral.u0_original,
            relearn=relearn,
            keep_axis_max_deg=keep_axis_max_deg,
        )
        keep = np.isfinite(carried.axes).all(axis=1)
        seed[keep] = carried.axes[keep]
    if not np.isfinite(seed).any():
        return first, carried, None
    names = first.layout.sensors
    axes = {n: seed[i] for i, n in enumerate(names)}
    rest = None if progress is None else (lambda f: progress(0.5 + 0.5 * f))
    pipe = run_pipeline(session, cfg, progress=rest, axes=axes, up_sources=ups, span_s=span_s)
    log = pipe.neutral.postures
    verdict = pipe.not_standing
    if verdict is None or log.p0 is None or not verdict.returned:
        return pipe, carried, verdict  # told, not re-measured (see ``NotStanding.returned``)
    signed = axes_for_standing(log.p0, verdict.standing_u, pipe.tilt.axis)
    pipe = run_pipeline(
        session,
        cfg,
        axes={n: signed[i] for i, n in enumerate(names)},
        up_sources=ups,
        span_s=span_s,
        neutral=({n: verdict.standing_u[i] for i, n in enumerate(names)}, verdict.standing_s),
    )
    return pipe, carried, verdict


def review_session(
    session: Session,
    *,
    config: PipelineConfig | None = None,
    progress: Callable[[float], None] | None = None,
    smooth: bool = True,
    restarts_s: Sequence[float] = (),
    relearn: Sequence[Iterable[str]] = (),
    keep_axis_max_deg: float = KEEP_AXIS_MAX_DEG,
) -> SessionReview:
    """Reps, per-rep metrics and flags, and the angle series of a recorded session.

    ``restarts_s``: session times at which the live session re-calibrated
    (``LiveSession.recalibrate()``; the ``"recalibrate"`` entries of the sidecar's
    ``calibration``, see ``analysis.recalibration.sidecar_restarts``). Each stretch between
    them is analysed as live: a fresh neutral (the first ``neutral_s`` of standing still
    after the restart), the flexion axes of the sensors whose neutral did not turn more
    than ``keep_axis_max_deg`` carried over, the others learned again; rep numbers carry on.
    ``relearn``: per restart, sensors whose axis is learned again whatever their neutral
    did (the re-clipped ones the live session was told of; the sidecar's ``relearn``).

    Raises ``InputError`` for sessions that cannot be analysed (fewer than two of the
    lumbar/sacrum/thigh sensors, no standing-still start) and for restart times outside
    the recording or not increasing.
    """
    sensor_specs(session)  # before the orientation stage, which needs every sensor's rate
    cfg = config or config_for_session(session)
    restarts = check_restarts(session, restarts_s) if len(restarts_s) else []
    if len(relearn) not in (0, len(restarts)):
        raise ValueError(f"relearn: {len(relearn)} entries for {len(restarts)} restarts")
    relearns = [(), *(list(relearn) or [()] * len(restarts))]
    # Pass 1 learns each sensor's flexion axis from the movement; pass 2 measures with those
    # axes from the first sample, so the standing start and the first rep's early descent
    # are signed tilts too (see analysis/tilt.py). Live runs get axes from practice hinges.
    # ``smooth``: the orientation stage is offline VQF over the whole recording
    # (``offline_orientation.smoothed_up``); every later stage is the live one. False gives
    # exactly what a live run over the same samples computes (with the learned axes). A re-clip
    # turns the sensor on the body, not the up vector's tracking: the gyro sees the turn,
    # so the smoothed orientation spans re-calibrations (causal: a fresh estimator per
    # stretch, as live).
    ups = None
    if smooth:  # the samples at their steady times from here on
        session, ups = smoothed_sources(session)
    spans: list[tuple[float, float] | None] = [None]
    weights = [1.0]
    if restarts:
        t0, t1 = recording_span(session)
        edges = [-math.inf, *restarts, math.inf]
        spans = [(a, b) for a, b in itertools.pairwise(edges)]
        cuts = [t0, *restarts, t1]
        weights = [(b - a) / max(t1 - t0, 1e-9) for a, b in itertools.pairwise(cuts)]
    segments: list[_Segment] = []
    before: tuple[np.ndarray, np.ndarray] | None = None
    done = 0.0
    for span, w, names in zip(spans, weights, relearns, strict=True):
        part = None if progress is None else (lambda f, d=done, w=w: progress(d + w * f))
        pipe, carried, verdict = _review_segment(
            session,
            cfg,
            span,
            ups=ups,
            before=before,
            relearn=names,
            keep_axis_max_deg=keep_axis_max_deg,
            progress=part,
        )
        done += w
        segments.append(_Segment(span or (-math.inf, math.inf), pipe, carried, verdict))
        if pipe.neutral.u0 is not None:
            before = (np.array(pipe.neutral.u0), np.array(pipe.tilt.axis))
    measured = [g for g in segments if g.pipe.neutral.found]
    if not measured:
        raise _no_neutral(session, segments[0].pipe)
    return _assemble(session, cfg, segments, smooth=smooth)


def _assemble(
    session: Session, cfg: PipelineConfig, segments: list[_Segment], *, smooth: bool
) -> SessionReview:
    """One review from the stretches' pipelines: angles end to end, reps numbered on."""
    pipe = segments[0].pipe
    layout = pipe.layout
    chunks = [c for g in segments for c in g.pipe.chunks]
    time_s = np.concatenate([c.time_s for c in chunks]) if chunks else np.zeros(0)
    tilts = np.concatenate([c.tilts for c in chunks], axis=1) if chunks else np.zeros((0, 0))
    hip = np.concatenate([c.hip for c in chunks]) if layout.has_hip and chunks else None
    lumbar = np.concatenate([c.lumbar for c in chunks]) if layout.has_lumbar and chunks else None
    angles = AngleSeries(
        time_s=time_s,
        hip_deg=hip,
        lumbar_deg=lumbar,
        tilts_deg={n: tilts[i] for i, n in enumerate(layout.sensors)},
    )
    reps: list[RepResult] = []
    for g in segments:
        base = reps[-1].index if reps else 0
        reps += [dataclasses.replace(r, index=r.index + base) for r in g.pipe.reps]
    missing = list(layout.missing)
    for n in layout.sensors:
        if not pipe.specs[n].has_gyro:
            missing.append(
                f"sensor {n!r} has no gyroscope: its tilt comes from the accelerometer alone "
                "and is less accurate during fast movement"
            )
    untimed = [n for n in LEAD_NEEDS_GYRO if n in pipe.specs and not pipe.specs[n].has_gyro]
    if untimed and layout.has_hip and layout.has_lumbar:
        missing.append(
            f"lumbar lead not timed: without a gyroscope on the {' and '.join(untimed)} "
            "sensor its onsets are off by hundreds of ms; back-first is judged by how far the "
            "back had moved when the hips had folded 15 %"
        )
    for k, g in enumerate(segments):
        p = g.pipe
        after = "" if k == 0 else f" after the re-calibration at {g.span_s[0]:.1f} s"
        if k:
            missing.append(_recalibration_note(g, cfg))
        if not p.neutral.found:
            continue
        for i, n in enumerate(layout.sensors):
            if not p.tilt.established[i]:
                missing.append(
                    f"sensor {n!r} never moved far enough ({cfg.axis_establish_deg:g}°), nor "
                    f"consistently about one axis, to learn its flexion axis{after}: its tilt "
                    "is the unsigned angle from neutral"
                )
    first = next(g for g in segments if g.pipe.neutral.found)
    t_neutral = first.pipe.neutral.anchors[0][0]
    remeasured = first.not_standing is not None and first.not_standing.returned
    if not remeasured and t_neutral - float(time_s[0]) > 10.0:
        missing.append(
            f"standing-still neutral found only at {t_neutral:.1f} s; nothing before it is measured"
        )
    for k, g in enumerate(segments):
        if g.not_standing is not None:
            after = "" if k == 0 else f" after the re-calibration at {g.span_s[0]:.1f} s"
            missing.append(not_standing_note(g.not_standing, layout.sensors) + after)
    for g in segments:
        for t_slip, i, deg in g.pipe.neutral.slips:
            missing.append(
                f"sensor {layout.sensors[i]!r} turned {deg:.0f}° on its segment during a rest "
                f"(a knocked clip?); its zero was re-set at {t_slip:.1f} s"
            )
    rejected = {n: sum(g.pipe.rejected[n] for g in segments) for n in layout.sensors}
    for n, k in rejected.items():
        if k:
            missing.append(
                f"{k} sample(s) of sensor {n!r} ignored: not finite, beyond any IMU's range "
                "or with a broken time stamp"
            )
    for n in layout.sensors:
        unknown_s = sum(g.pipe.no_data_s[n] for g in segments)
        if unknown_s >= 0.5:
            missing.append(
                f"sensor {n!r} has {unknown_s:.1f} s without data (gaps longer than "
                f"{cfg.max_lag_s:g} s): the angles on it are unknown there, and a rep whose "
                "hip angle was not seen is not counted"
            )
    dropped = sum(g.pipe.grid.dropped_samples for g in segments)
    if dropped:
        missing.append(f"{dropped} sample(s) with non-increasing time ignored")
    if not layout.has_hip or not layout.has_lumbar:
        missing.append("lumbar-first needs hip and lumbar angles: not evaluated")
    settings = cfg.settings()
    settings["reanchors"] = [t for g in segments for t, ok in g.pipe.neutral.anchors[1:] if ok]
    settings["orientation"] = "offline VQF (smoothed)" if smooth else "causal (as live)"
    settings["neutral_from_standing_s"] = [
        round(g.not_standing.standing_s, 4)
        for g in segments
        if g.not_standing is not None and g.not_standing.returned
    ]
    if len(segments) > 1:
        settings["recalibrations"] = [_recalibration_json(g) for g in segments[1:]]
    return SessionReview(
        file=session.source,
        sensors={
            n: SensorInfo(rate_hz=s.rate_hz, samples=s.samples) for n, s in session.sensors.items()
        },
        reps=reps,
        angles=angles,
        missing=missing,
        settings=settings,
    )


def _recalibration_note(g: _Segment, cfg: PipelineConfig) -> str:
    """The review's words for one re-calibration."""
    t = g.span_s[0]
    nf = g.pipe.neutral
    if not nf.found:
        end = "the end" if math.isinf(g.span_s[1]) else f"{g.span_s[1]:.1f} s"
        return (
            f"re-calibrated at {t:.1f} s, but nobody stood still for {cfg.neutral_s:g} s after "
            f"it: nothing from {t:.1f} s to {end} is measured"
        )
    t_new = nf.anchors[0][0]
    text = f"re-calibrated at {t:.1f} s (a sensor re-clipped?): new neutral at {t_new:.1f} s"
    c = g.carried
    if c is None:
        return text
    names = list(g.pipe.layout.sensors)
    relearn = [n for n in names if n not in c.kept]
    if c.kept:
        text += f"; flexion axes kept: {', '.join(c.kept)}"
    if relearn:
        turned = [
            f"{n} (turned {c.turned_deg[n]:.0f}°)" if n in c.turned_deg else n for n in relearn
        ]
        text += f"; learned again: {', '.join(turned)}"
    return text


def _recalibration_json(g: _Segment) -> dict[str, object]:
    nf = g.pipe.neutral
    c = g.carried
    return {
        "from_s": round(g.span_s[0], 4),
        "neutral_s": round(nf.anchors[0][0], 4) if nf.found else None,
        "kept_axes": [] if c is None else list(c.kept),
        "turned_deg": {} if c is None else {k: round(v, 1) for k, v in c.turned_deg.items()},
    }
