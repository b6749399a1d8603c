"""Cost of one dashboard frame, and what the redraw does to the event loop.

1. Offline: a full state (3 sensors, full traces, alerts, a prompt) drawn N times through
   ``rich.live.Live`` onto a colour terminal console writing to memory: per-frame time
   (pull + render + write), as ``Dashboard.run`` measures it.
2. Live: the demo set (three virtual sensors, real bleak over the virtual BLE link, the
   streaming pipeline, SetFlow) with the dashboard redrawing at 8 Hz onto such a console,
   once without and once with the dashboard. Reported: the dashboard's own frame times,
   and event-loop lag (how late a 5 ms sleep wakes up) with and without it.

Run: ``.venv/bin/python bench/view_render.py [--speed 4]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.live import Live

from analysis.results import LiveEvent, RepResult
from firmware_bridge.manager import LinkEvent, SensorStatus
from hipfirst.live.demo import DemoOptions, run_demo
from hipfirst.live.session import LiveHooks
from hipfirst.setflow import SetFlow
from hipfirst.view import Dashboard
from hipfirst.view.dashboard import render

N = 400


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=100)


def stats(ms: list[float] | np.ndarray) -> str:
    a = np.asarray(ms)
    return (
        f"median {np.median(a):.2f} ms, p99 {np.percentile(a, 99):.2f} ms, "
        f"max {a.max():.2f} ms (n={len(a)})"
    )


def full_dashboard() -> Dashboard:
    d = Dashboard(exercise="rdl", console=terminal())
    rng = np.random.default_rng(0)
    for name in ("lumbar", "sacrum", "thigh"):
        d.on_link(LinkEvent(name, "streaming", 0.5))
        st = SensorStatus(placement=name, address="AA", battery_pct=80, rate_hz=199.5)
        st.samples, st.samples_lost = 10_000, 12
        d.on_status({name: st})
    for i in range(3):
        d.on_event(LiveEvent("alert", 3.0 * i, i + 1, flag="lumbar_first", message="hips back"))
        d.on_event(
            LiveEvent(
                "rep_end",
                3.0 * i + 2,
                i + 1,
                rep=RepResult(i + 1, 0, 1, 2, 60, 12, -2, 1, 0.8, 200, ("lumbar_first",)),
            )
        )
    d.say("Neutral refreshed. Go when ready.")
    for k in range(60):
        d.state.hip_trace.append(30 + 30 * np.sin(k / 5) + rng.normal())
        d.state.lumbar_trace.append(5 * np.sin(k / 5))
    d.state.hip_deg, d.state.lumbar_deg = 42.0, 8.5
    return d


def offline() -> None:
    d = full_dashboard()
    ms = []
    with Live(render(d.state), console=d.console, auto_refresh=False) as live:
        for _ in range(N):
            t0 = time.perf_counter()
            d.pull_angles()
            live.update(render(d.state), refresh=True)
            ms.append(1000 * (time.perf_counter() - t0))
    print(f"offline, full state, colour terminal: frame {stats(ms)}")


class LagProbe:
    """How late a 5 ms sleep wakes up, all through the run."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            self.late_ms.append(1000 * (time.perf_counter() - t0 - 0.005))


async def live(speed: float, with_view: bool) -> None:
    opts = DemoOptions(exercise="rdl", reps=6, seed=7, speed=speed, out_dir=None)
    view = Dashboard(exercise="rdl", console=terminal()) if with_view else None
    flow = SetFlow(practice_reps=0, say=view.say if view else lambda _: None)
    hooks: list[LiveHooks] = [flow] + ([view] if view else [])
    stop_aux = asyncio.Event()
    probe = LagProbe()
    tasks = [asyncio.create_task(probe.run(stop_aux))]
    if view:
        tasks.append(asyncio.create_task(view.run(stop_aux)))
    t0 = time.perf_counter()
    result = await run_demo(opts, hooks=hooks)
    wall = time.perf_counter() - t0
    stop_aux.set()
    await asyncio.gather(*tasks)
    reps = sum(e.kind == "rep_end" for e in result.summary.events)
    label = "with dashboard" if view else "no dashboard  "
    lag = stats(probe.late_ms)
    print(f"live demo x{speed:g} {label}: {reps} reps in {wall:.1f} s; loop lag {lag}")
    if view:
        frames = list(view.frame_ms)
        print(
            f"  dashboard: {len(frames)} frames = {len(frames) / wall:.1f} per s; "
            f"frame {stats(frames)}; drawing {sum(frames) / 1000 / wall:.1%} of wall time"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=4.0, help="demo speed, times real time")
    args = ap.parse_args()
    offline()
    asyncio.run(live(args.speed, with_view=False))
    asyncio.run(live(args.speed, with_view=True))


if __name__ == "__main__":
    main()
