"""Throughput and latency of the virtual BLE link through unmodified bleak.

For 1..3 virtual hipfirst sensors at 200 Hz (six-axis, MTU 247, 50 ms batches) and a
range of speed-ups, streams a fixed stretch of source time and reports what the bleak
client received: samples per second of wall time, the real-time factor achieved,
sequence gaps and malformed packets, and the notification latency from a packet's
last sample being "taken" (on the sped-up clock) to its arrival in bleak's callback.
Where x-realtime falls short of the speed, the sender is CPU-bound and packets queue
(latency grows); nothing is lost either way.

Run: ``.venv/bin/python bench/virtual_link_throughput.py`` (about half a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import time

import numpy as np
from bleak import BleakClient

from analysis.session import SensorStream
from firmware_bridge.profile import ImuPacket, MalformedPacket
from firmware_bridge.profile.uuids import CONTROL, IMU_DATA
from firmware_bridge.virtual_link import BumbleBleakClient, VirtualLink
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource


def source(seed: int, seconds: float) -> SampleSource:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 200)) / 200.0
    acc = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.05, (len(t), 3))
    gyr = rng.normal(0, 20.0, (len(t), 3))
    return SampleSource.from_stream(SensorStream(f"s{seed}", t, acc, gyr), clock_offset_s=1.0)


async def run(n_sensors: int, speed: float, source_s: float) -> dict[str, float]:
    async with VirtualLink() as link:
        sensors = [
            VirtualSensor(link, source(i, source_s), speed=speed, source_from_start=True)
            for i in range(n_sensors)
        ]
        for s in sensors:
            await s.start()
        received: list[list[tuple[float, bytearray]]] = [[] for _ in sensors]
        clients = []
        loop = asyncio.get_running_loop()
        for s, rx in zip(sensors, received, strict=True):
            c = BleakClient(s.address, backend=BumbleBleakClient, link=link)
            await c.connect()
            await c.start_notify(IMU_DATA, lambda _c, d, rx=rx: rx.append((loop.time(), d)))
            clients.append(c)
        t0 = time.perf_counter()
        for c in clients:
            await c.write_gatt_char(CONTROL, b"\x01", response=True)
        while not all(s.stats.source_exhausted for s in sensors):
            await asyncio.sleep(0.005)
        wall = time.perf_counter() - t0
        samples = gaps = bad = 0
        latencies: list[float] = []
        for s, rx in zip(sensors, received, strict=True):
            seqs = []
            clock = s._clock
            assert clock is not None
            k_of = {round(d * 1e6): k for k, d in enumerate(s.source.device_time_s)}
            for t_rx, raw in rx:
                try:
                    p = ImuPacket.from_bytes(raw)
                except MalformedPacket:
                    bad += 1
                    continue
                samples += p.count
                seqs.append(p.seq)
                k_last = k_of[p.t0_us] + p.count - 1
                latencies.append(t_rx - clock.host_time(k_last))
            gaps += sum(b - a - 1 for a, b in itertools.pairwise(seqs))
        for c in clients:
            await c.disconnect()
        for s in sensors:
            await s.close()
    sent_s = samples / n_sensors / 200.0
    lat = np.asarray(latencies) * 1e3
    return {
        "samples_per_s": samples / wall,
        "realtime_x": sent_s / wall,
        "gaps": gaps,
        "malformed": bad,
        "lat_med_ms": float(np.median(lat)),
        "lat_p99_ms": float(np.percentile(lat, 99)),
    }


async def main() -> None:
    logging.getLogger("bumble").setLevel(logging.ERROR)  # in-flight data at teardown
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source-s", type=float, default=20.0, help="source seconds per run")
    ap.add_argument("--realtime-s", type=float, default=4.0, help="source seconds at 1x")
    args = ap.parse_args()
    print("sensors speed   samples/s  x-realtime  gaps  malformed  latency med/p99 (ms)")
    for n in (1, 2, 3):
        for speed in (1.0, 10.0, 25.0, 50.0, 100.0):
            secs = args.realtime_s if speed == 1.0 else args.source_s
            r = await run(n, speed, secs)
            label = "max" if speed >= 1e6 else f"{speed:g}x"
            lat = f"{r['lat_med_ms']:.2f}/{r['lat_p99_ms']:.2f}" if speed < 1e6 else "(backlogged)"
            print(
                f"{n:7d} {label:>5} {r['samples_per_s']:11.0f} {r['realtime_x']:11.1f}"
                f" {r['gaps']:5d} {r['malformed']:10d}  {lat}"
            )


if __name__ == "__main__":
    asyncio.run(main())
