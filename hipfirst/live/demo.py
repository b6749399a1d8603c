"""The demo: a simulated lifter on three virtual sensors, coached live through real bleak.

The simulator (``analysis.sim``) scripts a set with some back-first reps; each placement's
signals feed a virtual hipfirst sensor (a Bumble GATT peripheral on the in-process virtual
BLE link); the connection manager connects to them with the real ``bleak.BleakClient``,
the live session runs the streaming pipeline, raises alerts and records the set to
``recordings/`` exactly as ``hipfirst monitor`` does with real sensors.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.config import PipelineConfig
from analysis.session import SensorStream, Session
from analysis.sim import SimConfig, SimResult, simulate
from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
from firmware_bridge.virtual_link import (
    VirtualLink,
    virtual_link_settings,
)
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.live.session import LiveHooks, LiveSession, LiveSummary
from hipfirst.recording import RecordingMeta, SessionRecorder, recording_path

# Bumble's controller logs a warning for packets still in flight when a link is torn down
logging.getLogger("bumble").setLevel(logging.ERROR)


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    exercise: str = "rdl"
    reps: int = 6
    faults: dict[str, int] = field(default_factory=lambda: {"lumbar_first": 2})
    seed: int = 7
    rate_hz: float = 200.0
    speed: float = 1.0
    """Times real time (the sensors, the manager's clock and the recording all run faster)."""
    out_dir: Path | None = Path("recordings")
    """Where the recording goes (``None``: do not record)."""
    out_file: Path | None = None
    sensor_faults: dict[str, str] = field(default_factory=dict)
    """Per placement, a broken sensor to show the set-up checks (see ``SENSOR_FAULTS``)."""
    dropouts: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per placement, ``(at_s, seconds)``: the sensor loses its link ``at_s`` into the set
    (the simulator's clock) and stays silent that long, as out of range."""


SENSOR_FAULTS = ("scale=G", "frozen")
"""``scale=0.5``: the accelerometer reads 0.5 × the truth (0.5 g standing still);
``frozen``: the sensor repeats its first reading for the whole set (a stuck IMU)."""
GO_TIMEOUT_S = 30.0
"""Longest the simulated lifter waits for every sensor to stream (session seconds)."""


def parse_dropouts(text: str) -> dict[str, tuple[float, float]]:
    """``"lumbar@12:4"`` -> ``{"lumbar": (12.0, 4.0)}`` (lose the link 12 s into the set
    for 4 s); ``ValueError`` naming the part that is wrong."""
    out: dict[str, tuple[float, float]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        placement, _, when = part.partition("@")
        at, _, seconds = when.partition(":")
        try:
            at_s, dur_s = float(at), float(seconds)
        except ValueError:
            at_s = dur_s = math.nan
        if not placement.strip() or not (0 <= at_s < math.inf and 0 < dur_s <= 60):
            raise ValueError(f"{part!r}: expected PLACEMENT@AT_S:SECONDS (at most 60 s), "
                             "e.g. lumbar@12:4")  # fmt: skip
        out[placement.strip()] = (at_s, dur_s)
    return out


def parse_sensor_faults(text: str) -> dict[str, str]:
    """``"thigh:scale=0.5,lumbar:frozen"`` -> ``{"thigh": "scale=0.5", "lumbar": "frozen"}``;
    ``ValueError`` naming the part that is wrong."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        placement, _, kind = part.partition(":")
        placement, kind = placement.strip(), kind.strip()
        if not placement or not kind:
            raise ValueError(f"{part!r}: expected PLACEMENT:FAULT, e.g. thigh:scale=0.5")
        _fault_stream(SensorStream(placement, np.zeros(2), np.ones((2, 3))), kind)  # validate
        out[placement] = kind
    return out


def _fault_stream(st: SensorStream, kind: str) -> SensorStream:
    if kind == "frozen":
        n = st.samples
        gyr = None if st.gyr_dps is None else np.repeat(st.gyr_dps[:1], n, axis=0)
        return SensorStream(st.name, st.time_s, np.repeat(st.acc_g[:1], n, axis=0), gyr)
    name, _, value = kind.partition("=")
    if name == "scale":
        try:
            scale = float(value)
        except ValueError:
            scale = float("nan")
        if not 0.0 < scale <= 4.0:
            raise ValueError(f"{kind!r}: the scale must be a number in (0, 4]")
        return SensorStream(st.name, st.time_s, scale * st.acc_g, st.gyr_dps)
    raise ValueError(f"unknown sensor fault {kind!r}; known: {', '.join(SENSOR_FAULTS)}")


def with_sensor_faults(sim: SimResult, faults: dict[str, str]) -> SimResult:
    """The simulated session as broken sensors would send it (the truth is unchanged)."""
    if not faults:
        return sim
    streams = dict(sim.session.sensors)
    for placement, kind in faults.items():
        if placement not in streams:
            raise ValueError(f"sensor fault on {placement!r}: no such sensor in the demo")
        streams[placement] = _fault_stream(streams[placement], kind)
    session = Session(streams, source=sim.session.source, meta=dict(sim.session.meta))
    return dataclasses.replace(sim, session=session)


@dataclass
class DemoResult:
    summary: LiveSummary
    sim: SimResult
    recording: Path | None
    sensors: dict[str, VirtualSensor]


def demo_sim(opts: DemoOptions) -> SimResult:
    sim = simulate(
        SimConfig(
            exercise=opts.exercise,
            reps=opts.reps,
            faults=dict(opts.faults),
            seed=opts.seed,
            rate_hz=opts.rate_hz,
            # the manager aligns clocks itself: the sensors get raw device clocks
            clock_offset_s=0.0,
            clock_drift_ppm=0.0,
            still_start_s=4.0,
        )
    )
    return with_sensor_faults(sim, opts.sensor_faults)


async def run_demo(
    opts: DemoOptions,
    *,
    hooks: Sequence[LiveHooks] = (),
    make_hooks: Callable[[SensorManager], Sequence[LiveHooks]] | None = None,
    config: PipelineConfig | None = None,
    placements: Sequence[str] = ("lumbar", "sacrum", "thigh"),
    stop: asyncio.Event | None = None,
    sim: SimResult | None = None,
    on_session: Callable[[LiveSession], None] | None = None,
) -> DemoResult:
    """Run the set to its end (or until ``stop`` is set, e.g. on Ctrl-C); the recording is
    closed either way. ``sim``: a simulated session to stream instead of the one
    ``opts`` describes; ``on_session`` is called with the live session before it runs."""
    sim = sim or demo_sim(opts)
    if set(opts.dropouts) - set(placements):
        raise ValueError(f"dropout on {sorted(set(opts.dropouts) - set(placements))[0]!r}: "
                         "no such sensor in the demo")  # fmt: skip
    config = config or PipelineConfig.for_exercise(opts.exercise)
    path = opts.out_file or (
        None if opts.out_dir is None else recording_path(opts.exercise, directory=opts.out_dir)
    )
    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(
                link,
                SampleSource.from_sim(sim, p),
                speed=opts.speed,
                placement=p,
                wait_for_go=True,
            )
            for p in placements
        }
        # worn sensors: their clocks run from here, whether streamed or not; the lifter
        # stands still until every sensor streams (as a lifter waits for the app), then
        # starts the simulated set, which opens with its still start
        await asyncio.gather(*(s.start() for s in sensors.values()))
        loop = asyncio.get_running_loop()
        settings = virtual_link_settings(
            link, rate_hz=opts.rate_hz, scan_timeout_s=5.0, backoff_min_s=0.05
        )
        manager = SensorManager(
            [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()],
            settings=settings,
            clock=lambda: loop.time() * opts.speed,
        )
        recorder = None
        if path is not None:
            recorder = SessionRecorder(
                path,
                meta=RecordingMeta(
                    exercise=opts.exercise,
                    placements=list(placements),
                    simulated=True,
                    extra={
                        "demo": sim.config.to_json(),
                        **(
                            {"sensor_faults": dict(opts.sensor_faults)}
                            if opts.sensor_faults
                            else {}
                        ),
                    },
                ),
            )
        all_hooks = [*hooks, *(make_hooks(manager) if make_hooks else ())]
        session = LiveSession(
            manager, config=config, recorder=recorder, hooks=all_hooks, rate_hz=opts.rate_hz
        )
        if on_session is not None:
            on_session(session)
        stop = stop or asyncio.Event()

        async def stop_when_done() -> None:
            while not all(s.stats.source_exhausted for s in sensors.values()):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3 / opts.speed)
            stop.set()

        async def go_when_streaming() -> None:
            """However long connecting takes (a loaded machine at a high speed-up), the
            set starts with its full still start; a sensor that never streams does not
            hold the others up past ``GO_TIMEOUT_S`` (on the session clock)."""
            give_up = loop.time() + GO_TIMEOUT_S / opts.speed
            while not all(s.streaming for s in sensors.values()) and loop.time() < give_up:
                await asyncio.sleep(0.01)
            now = loop.time()
            for s in sensors.values():
                s.go(now)
            await asyncio.gather(*(drop(p, *when) for p, when in opts.dropouts.items()))

        async def drop(placement: str, at_s: float, seconds: float) -> None:
            await asyncio.sleep(at_s / opts.speed)
            await sensors[placement].drop_link(seconds / opts.speed)

        watcher = asyncio.create_task(stop_when_done())
        starter = asyncio.create_task(go_when_streaming())
        try:
            summary = await session.run(stop=stop)
        finally:
            watcher.cancel()
            starter.cancel()
            for s in sensors.values():
                await s.close()
    return DemoResult(summary, sim, path, sensors)
