"""End-to-end alert delivery: decision -> audio playing, decision -> haptic write done.

Audio: cues go through the sound device when PortAudio has one, otherwise through the
WAV sink, whose thread pulls the same queue in the same 256-frame blocks at the same pace
as PortAudio's callback (the figure then excludes the device's own output latency; the
script says which sink it used). Haptic: alerts to the lumbar sensor's control
characteristic through the connection manager and bleak, over the virtual BLE link, until
the sensor's ack arrives.

Run: ``.venv/bin/python bench/alerts.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.results import LiveEvent
from hipfirst.alerts import (
    CUES,
    AlertDispatcher,
    AlertPolicy,
    HapticOut,
    SoundDeviceSink,
    WavFileSink,
)

N = 60


def pct(x: list[float], q: float) -> float:
    return float(np.percentile(x, q))


def audio() -> None:
    try:
        sink = SoundDeviceSink()
    except Exception as exc:  # no PortAudio / no device
        tmp = Path(tempfile.mkdtemp()) / "cues.wav"
        sink = WavFileSink(tmp)
        print(f"audio sink: {sink.description} (no sound device: {str(exc).splitlines()[0]})")
    else:
        print(f"audio sink: {sink.description}")
    d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), audio=sink)
    flags = list(CUES)
    for i in range(N):
        d.on_event(LiveEvent("alert", float(i), i + 1, flag=flags[i % len(flags)]))
        time.sleep(0.6)  # longer than any cue: each one starts on an idle output
    d.close()
    lat = [(s.playing_s - s.decided_s) * 1000 for s in sink.started]
    print(
        f"decision -> cue playing: median {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms, "
        f"max {max(lat):.1f} ms (n={len(lat)}; target < 30 ms)"
    )


async def haptic() -> None:
    from firmware_bridge.manager import HipfirstDriver, LinkSettings, SensorManager, Target
    from firmware_bridge.virtual_link import BumbleBleakClient, BumbleBleakScanner, VirtualLink
    from firmware_bridge.virtual_sensor import VirtualSensor
    from firmware_bridge.virtual_sensor_source import SampleSource
    from hipfirst.live.demo import DemoOptions, demo_sim

    sim = demo_sim(DemoOptions(reps=12))
    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(link, SampleSource.from_sim(sim, p), placement=p)
            for p in ("lumbar", "sacrum", "thigh")
        }
        await asyncio.gather(*(s.start() for s in sensors.values()))
        mgr = SensorManager(
            [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()],
            settings=LinkSettings(
                rate_hz=200, client_backend=BumbleBleakClient, client_kwargs={"link": link},
                scanner_kwargs={"backend": BumbleBleakScanner, "link": link},
            ),
        )  # fmt: skip
        mgr.start()
        await mgr.wait_streaming(timeout_s=15)

        async def drain() -> None:  # keep the sample queue flowing, as the live session does
            async for _ in mgr.events():
                pass

        consumer = asyncio.create_task(drain())
        out = HapticOut(mgr)
        d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), haptic=out)
        flags = list(CUES)
        for i in range(N):
            d.on_event(LiveEvent("alert", float(i), i + 1, flag=flags[i % len(flags)]))
            await d.drain()
            await asyncio.sleep(0.1)
        await mgr.stop()
        await consumer
        for s in sensors.values():
            await s.close()
    lat = [(h.done_s - h.decided_s) * 1000 for h in out.done if h.ok]
    got = len(sensors["lumbar"].haptic_log)
    print(
        f"decision -> haptic write acked (virtual link, 3 sensors streaming 200 Hz): "
        f"median {pct(lat, 50):.1f} ms, p95 {pct(lat, 95):.1f} ms (n={len(lat)}, "
        f"{got} patterns received by the sensor)"
    )


def main() -> None:
    audio()
    asyncio.run(haptic())


if __name__ == "__main__":
    main()
