"""BLE path throughput: N virtual sensors at 200 Hz through the real bleak client.

Runs in REAL time (speed 1) over the in-process virtual link: sensors -> bleak ->
connection manager (decode, gaps, clock alignment, time probes) -> the live session's
streaming pipeline (fed directly here, to time each push). Prints sustained samples/s per
sensor, the process CPU share
(CPU time / wall time; the virtual sensors and the radio run in this process too, so this
is an upper bound for the host side) and the time from a notification's arrival to the
pipeline having processed it (median, p95).

    .venv/bin/python bench/ble.py --seconds 20 --sensors 3 6
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from analysis.session import SensorStream
from firmware_bridge.manager import HipfirstDriver, SampleBlock, SensorManager, Target
from firmware_bridge.virtual_link import (
    VirtualLink,
    virtual_link_settings,
)
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource
from hipfirst.live import LiveSession

PLACEMENTS = ("lumbar", "sacrum", "thigh", "shank", "upper_back", "forearm")


def source(seed: int, seconds: float) -> SampleSource:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 200)) / 200.0
    theta = np.radians(20.0 * (1 - np.cos(2 * np.pi * t / 3.0)))
    acc = np.stack([np.zeros_like(t), np.sin(theta), np.cos(theta)], axis=1)
    acc += rng.normal(0, 0.02, acc.shape)
    gyr = np.zeros_like(acc)
    gyr[:, 0] = np.degrees(np.gradient(theta, t))
    return SampleSource.from_stream(SensorStream(f"s{seed}", t, acc, gyr), clock_offset_s=seed)


async def run(n: int, seconds: float) -> None:
    async with VirtualLink() as link:
        sensors = [VirtualSensor(link, source(i, seconds + 15), speed=1.0) for i in range(n)]
        for s in sensors:
            await s.start()
        mgr = SensorManager(
            [Target(PLACEMENTS[i], s.address, HipfirstDriver()) for i, s in enumerate(sensors)],
            settings=virtual_link_settings(link),
        )
        session = LiveSession(mgr)
        delays: list[float] = []
        push = session.pipeline.push

        def timed_push(sensor, t, acc, gyr):  # type: ignore[no-untyped-def]
            out = push(sensor, t, acc, gyr)
            delays.append(mgr.now_s() - current[0])
            return out

        current = [0.0]
        orig_samples = session.summary.samples

        session.pipeline.push = timed_push  # type: ignore[method-assign]
        mgr.start()
        await mgr.wait_streaming(timeout_s=30)
        counts0 = {p: st.samples for p, st in mgr.status.items()}
        wall0, cpu0 = time.perf_counter(), time.process_time()

        async def tap() -> None:
            async for ev in mgr.events():
                if isinstance(ev, SampleBlock):
                    current[0] = ev.arrival_s
                    orig_samples[ev.sensor] += len(ev.time_s)
                    session.pipeline.push(ev.sensor, ev.time_s, ev.acc_g, ev.gyr_dps)

        tapper = asyncio.create_task(tap())
        await asyncio.sleep(seconds)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        counts = {p: st.samples - counts0[p] for p, st in mgr.status.items()}
        lost = {p: st.samples_lost for p, st in mgr.status.items()}
        await mgr.stop()
        await tapper
        for s in sensors:
            await s.close()
    rates = ", ".join(f"{p} {c / wall:.1f}" for p, c in counts.items())
    d = np.array(delays) * 1e3
    print(f"{n} sensors x 200 Hz, {wall:.1f} s real time: samples/s per sensor: {rates}")
    print(
        f"  lost samples: {sum(lost.values())}; process CPU share {100 * cpu / wall:.1f} % "
        f"of one core (sensors + radio + host)"
    )
    print(
        f"  notification arrival -> pipeline done: median {np.median(d):.2f} ms, "
        f"p95 {np.percentile(d, 95):.2f} ms ({len(d)} notifications)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--sensors", type=int, nargs="+", default=[3, 6])
    args = ap.parse_args()
    for n in args.sensors:
        asyncio.run(run(n, args.seconds))


if __name__ == "__main__":
    main()
