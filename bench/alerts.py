"""Alert delivery latency: decision -> the audio callback that plays the cue, and
decision -> haptic write acknowledged by the sensor.

Audio goes to the sound device when PortAudio has one. Otherwise it goes to the WAV sink,
whose :class:`PacedOutputStream` calls the same callback on PortAudio's schedule (256
frames at 22.05 kHz = one call every 11.6 ms, from its own thread, pulling the same queue);
the figure then stops at the callback and leaves out the device's own output latency. The
script says which one it used.

Two runs: audio alone on an idle process, then audio and haptic together while three
virtual hipfirst sensors stream at 200 Hz through the connection manager and the real
bleak client over the virtual BLE link (the event loop and the GIL busy as in a live set);
the buzz goes to the lumbar sensor's control characteristic and counts as done at its ack.
Alerts are spaced 0.6 s apart, longer than any tone cue, so each cue starts on an idle
output (a cue queued behind another waits for it by design).

Run: ``.venv/bin/python bench/alerts.py [--n 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.results import FLAGS, LiveEvent
from hipfirst.alerts import (
    AlertDispatcher,
    AlertPolicy,
    HapticOut,
    NoAudioDevice,
    SoundDeviceSink,
    WavFileSink,
)

GAP_S = 0.6


def stats(name: str, ms: list[float], extra: str = "") -> None:
    if not ms:
        print(f"{name}: no samples")
        return
    x = np.array(ms)
    print(
        f"{name}: median {np.median(x):.1f} ms, p95 {np.percentile(x, 95):.1f} ms, "
        f"max {x.max():.1f} ms (n={len(x)}){extra}"
    )


def open_sink(tmp: Path) -> SoundDeviceSink | WavFileSink:
    try:
        return SoundDeviceSink()
    except NoAudioDevice as exc:
        sink = WavFileSink(tmp)
        print(f"audio: {exc}; using the WAV sink paced like PortAudio (no device latency)")
        return sink


def report_audio(sink: SoundDeviceSink | WavFileSink, label: str) -> None:
    lat = [s.latency_ms for s in sink.started]
    stats(f"{label} decision -> cue in the audio callback", lat, "; target < 30 ms")
    if isinstance(sink, WavFileSink):
        late = np.array(sink.stream.wake_late_s) * 1000
        print(
            f"  paced callback: {sink.stream.blocks} blocks of {sink.stream.blocksize} frames "
            f"every {sink.stream.period_s * 1000:.1f} ms, woke late by median "
            f"{np.median(late):.2f} ms, p95 {np.percentile(late, 95):.2f} ms; "
            f"{sink.underflows} underflows, {len(sink.mixer.dropped)} cues dropped"
        )


def audio_idle(n: int, tmp: Path) -> None:
    sink = open_sink(tmp / "idle.wav")
    print(f"audio sink: {sink.description}")
    d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), audio=sink)
    for i in range(n):
        d.on_event(LiveEvent("alert", float(i), i + 1, flag=FLAGS[i % len(FLAGS)]))
        time.sleep(GAP_S)
    d.close()
    report_audio(sink, "[idle]")


async def live_load(n: int, tmp: Path) -> None:
    from firmware_bridge.manager import (
        HipfirstDriver,
        SampleBlock,
        SensorManager,
        Target,
    )
    from firmware_bridge.virtual_link import (
        VirtualLink,
        virtual_link_settings,
    )
    from firmware_bridge.virtual_sensor import VirtualSensor
    from firmware_bridge.virtual_sensor_source import SampleSource
    from hipfirst.live.demo import DemoOptions, demo_sim

    sim = demo_sim(DemoOptions(reps=40))
    sink = open_sink(tmp / "live.wav")
    async with VirtualLink() as link:
        sensors = {
            p: VirtualSensor(link, SampleSource.from_sim(sim, p), placement=p)
            for p in ("lumbar", "sacrum", "thigh")
        }
        await asyncio.gather(*(s.start() for s in sensors.values()))
        mgr = SensorManager(
            [Target(p, s.address, HipfirstDriver()) for p, s in sensors.items()],
            settings=virtual_link_settings(link, rate_hz=200),
        )  # fmt: skip
        mgr.start()
        await mgr.wait_streaming(timeout_s=15)
        samples = 0

        async def consume() -> None:  # keep the sample queue flowing, as the live session does
            nonlocal samples
            async for item in mgr.events():
                if isinstance(item, SampleBlock):
                    samples += len(item.time_s)

        consumer = asyncio.create_task(consume())
        out = HapticOut(mgr)
        d = AlertDispatcher(policy=AlertPolicy(cooldown_s=0.0), audio=sink, haptic=out)
        t0 = time.perf_counter()
        for i in range(n):
            d.on_event(LiveEvent("alert", float(i), i + 1, flag=FLAGS[i % len(FLAGS)]))
            await asyncio.sleep(GAP_S)
        await d.drain()
        elapsed = time.perf_counter() - t0
        await mgr.stop()
        await consumer
        for s in sensors.values():
            await s.close()
    d.close()
    print(f"[live] 3 sensors streaming, {samples / elapsed:.0f} samples/s through bleak")
    report_audio(sink, "[live]")
    ok = [h.latency_ms for h in out.done if h.ok]
    got = len(sensors["lumbar"].haptic_log)
    stats(
        "[live] decision -> haptic write acked over the virtual link",
        ok,
        f"; {got} patterns received by the lumbar sensor, {len(out.done) - len(ok)} failed",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60, help="alerts per run")
    args = ap.parse_args()
    logging.getLogger("bumble").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        audio_idle(args.n, Path(tmp))
        asyncio.run(live_load(args.n, Path(tmp)))


if __name__ == "__main__":
    main()
