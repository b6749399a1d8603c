"""Movella DOT: payload layout, control messages, fuzz, and the stream through bleak from a
virtual DOT whose µs clock wraps at 2^32 during the set."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.session import SensorStream
from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.devices.movella_dot.twin import MovellaDotTwin
from firmware_bridge.profile.wire import MalformedPacket
from firmware_bridge.virtual_sensor_source import SampleSource


def test_rate_quantities_layout() -> None:
    # u32 timestamp | acc m/s² x,y,z float32 | gyr °/s x,y,z float32 (little-endian)
    raw = struct.pack("<I6f", 4_294_967_000, 0.0, 0.0, 9.80665, 1.5, -2.0, 0.25)
    ts, acc, gyr = codec.decode_rate_quantities(raw)
    assert ts == 4_294_967_000
    np.testing.assert_allclose(acc, [0.0, 0.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(gyr, [1.5, -2.0, 0.25])
    assert codec.encode_rate_quantities(ts, acc, gyr) == raw
    for bad in (raw[:27], raw + b"\x00", struct.pack("<I6f", 1, float("nan"), 0, 0, 0, 0, 0)):
        with pytest.raises(MalformedPacket):
            codec.decode_rate_quantities(bad)


def test_control_messages() -> None:
    assert codec.measurement(True) == bytes([1, 1, 21])
    assert codec.measurement(False) == bytes([1, 0, 21])
    assert codec.parse_measurement(bytes([1, 1, 21])) == (True, 21)
    ctl = codec.set_output_rate(bytes(32), 60)
    assert ctl[0] == 0x10 and codec.output_rate(ctl) == 60 and len(ctl) == 32
    assert codec.nearest_rate(100) == 60 and codec.nearest_rate(11) == 10


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_random_bytes_only_ever_raise_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedPacket):
        codec.decode_rate_quantities(data)
    with contextlib.suppress(MalformedPacket):
        codec.parse_measurement(data)


async def test_stream_through_bleak_across_the_timestamp_wrap() -> None:
    from firmware_bridge.manager import LinkSettings, SampleBlock, SensorManager, Target
    from firmware_bridge.virtual_link import BumbleBleakClient, BumbleBleakScanner, VirtualLink

    rate = 120.0
    t = np.arange(int(8 * rate)) / rate
    th = np.radians(20) * np.sin(2 * np.pi * 0.5 * t)
    acc = np.column_stack([np.sin(th), 0 * t, np.cos(th)])
    gyr = np.column_stack([np.degrees(np.gradient(th, t)), 0 * t, 0 * t])
    src = SampleSource.from_stream(SensorStream("lumbar", t, acc, gyr))
    speed = 4.0
    async with VirtualLink() as link:
        twin = MovellaDotTwin(link, src, speed=speed)
        await twin.start()
        loop = asyncio.get_running_loop()
        mgr = SensorManager(
            [Target("lumbar", twin.address, MovellaDotDriver())],
            settings=LinkSettings(
                rate_hz=60, client_backend=BumbleBleakClient, client_kwargs={"link": link},
                scanner_kwargs={"backend": BumbleBleakScanner, "link": link},
            ),
            clock=lambda: loop.time() * speed,
        )  # fmt: skip
        blocks: list[SampleBlock] = []

        async def consume() -> None:
            async for ev in mgr.events():
                if isinstance(ev, SampleBlock):
                    blocks.append(ev)

        task = asyncio.create_task(consume())
        mgr.start()
        await mgr.wait_streaming(timeout_s=10)
        async with asyncio.timeout(30):
            while twin.streaming:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await mgr.stop()
        await task
    assert twin.rate_hz == 60 and twin.measurement_writes[0] == bytes([1, 1, 21])
    got = np.concatenate([b.acc_g for b in blocks])
    assert len(got) >= 0.95 * len(t) / 2
    np.testing.assert_allclose(got, acc[::2][: len(got)], atol=1e-6)
    np.testing.assert_allclose(np.concatenate([b.gyr_dps for b in blocks]),
                               gyr[::2][: len(got)], atol=1e-4)  # fmt: skip
    dev = np.concatenate([b.device_time_s for b in blocks])
    assert np.all(np.diff(dev) > 0)  # unwrapped across 2^32 µs (after ~2 s)
    assert dev[-1] * 1e6 > (1 << 32)
    times = np.concatenate([b.time_s for b in blocks])
    assert np.all(np.diff(times) > 0)
    assert np.median(np.diff(times)) == pytest.approx(1 / 60, rel=0.01)
    assert mgr.status["lumbar"].battery_pct == 76
    assert mgr.status["lumbar"].samples_lost == 0
