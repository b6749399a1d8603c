"""A virtual Movella DOT through the real bleak client and the connection manager, in real
time: scan recognition, output rate set (20 -> 60 Hz) and read back, 3 s of rate quantities
whose µs clock wraps at 2^32 1.5 s in, a button click during the set, stop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from analysis.session import SensorStream
from firmware_bridge.devices.movella_dot.driver import ButtonPress, MovellaDotDriver
from firmware_bridge.devices.movella_dot.twin import MovellaDotTwin
from firmware_bridge.virtual_sensor_source import SampleSource


def source(seconds: float = 3.0, rate_hz: float = 120.0) -> SampleSource:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    th = np.radians(20) * np.sin(2 * np.pi * 0.5 * t)
    acc = np.column_stack([np.sin(th), 0.01 * np.cos(7 * t), np.cos(th)])
    gyr = np.column_stack([np.degrees(np.gradient(th, t)), 0 * t, 3 * np.sin(t)])
    return SampleSource.from_stream(SensorStream("lumbar", t, acc, gyr))


async def test_stream_through_bleak_in_real_time() -> None:
    from firmware_bridge.manager import SampleBlock, SensorManager, Target
    from firmware_bridge.manager.scan import scan
    from firmware_bridge.virtual_link import (
        BumbleBleakScanner,
        VirtualLink,
        virtual_link_settings,
    )

    src = source()
    presses: list[ButtonPress] = []
    async with VirtualLink() as link:
        twin = MovellaDotTwin(link, src, clock_start_us=(1 << 32) - 1_500_000)
        await twin.start()
        found = await scan(
            timeout_s=0.5, scanner_kwargs={"backend": BumbleBleakScanner, "link": link}
        )
        assert [(f.name, f.driver) for f in found] == [("Movella DOT", MovellaDotDriver)]
        driver = MovellaDotDriver(on_button=presses.append)
        mgr = SensorManager(
            [Target("lumbar", twin.address, driver, device=found[0].device)],
            settings=virtual_link_settings(link, rate_hz=60),
        )  # fmt: skip
        blocks: list[SampleBlock] = []

        async def consume() -> None:
            async for ev in mgr.events():
                if isinstance(ev, SampleBlock):
                    blocks.append(ev)

        task = asyncio.create_task(consume())
        mgr.start()
        await mgr.wait_streaming(timeout_s=10)
        await asyncio.sleep(1.0)
        pressed_ms = await twin.press_button(2)
        async with asyncio.timeout(10):
            while twin.streaming:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        await mgr.stop()
        await task
    # configured: 60 Hz written through device control and read back; started, then stopped
    assert twin.rate_hz == 60
    assert twin.measurement_writes == [bytes.fromhex("010115"), bytes.fromhex("010015")]
    # every sample the twin sent arrived, equal within float32 (acc: m/s² -> g)
    sent_ts = np.array([s[0] for s in twin.sent])
    assert len(twin.sent) == len(src.time_s) // 2 == 180
    acc = np.concatenate([b.acc_g for b in blocks])
    gyr = np.concatenate([b.gyr_dps for b in blocks])
    assert len(acc) == len(twin.sent)
    np.testing.assert_allclose(acc, [s[1] for s in twin.sent], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gyr, [s[2] for s in twin.sent], rtol=1e-6, atol=1e-5)
    # the µs clock wrapped during the set; device times are unwrapped and steady
    assert np.any(np.diff(sent_ts.astype(np.int64)) < 0)
    dev = np.concatenate([b.device_time_s for b in blocks])
    assert np.all(np.diff(dev) > 0) and dev[-1] * 1e6 > 1 << 32
    np.testing.assert_allclose(np.diff(dev), 1 / 60, atol=2e-6)
    # sample count matches the rate: 180 samples over ~3 s of arrivals
    arrivals = np.array([b.arrival_s for b in blocks])
    assert (len(acc) - 1) / (arrivals[-1] - arrivals[0]) == pytest.approx(60, rel=0.05)
    times = np.concatenate([b.time_s for b in blocks])
    assert np.all(np.diff(times) > 0)
    assert np.median(np.diff(times)) == pytest.approx(1 / 60, rel=0.01)
    # the double click reached the driver with the device's ms clock
    assert [(p.clicks, p.device_ms) for p in presses] == [(2, pressed_ms)]
    status = mgr.status["lumbar"]
    assert (status.battery_pct, status.samples_lost, status.malformed) == (76, 0, 0)
