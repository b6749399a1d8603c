"""WitMotion: codec layout, fuzz, and the stream through bleak from a virtual WT901BLE whose
sample clock runs 0.25 % fast (no timestamps: the manager's clock alignment fits it)."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.session import SensorStream
from firmware_bridge.devices.witmotion import codec
from firmware_bridge.devices.witmotion.driver import WitMotionDriver
from firmware_bridge.devices.witmotion.twin import WitMotionTwin
from firmware_bridge.profile.wire import MalformedPacket
from firmware_bridge.virtual_sensor_source import SampleSource

# 55 61 | ax=0x0800 (2048 -> 1 g) ay=0 az=0xF800 (-2048 -> -1 g)
#       | wx=0x0010 (16 -> 0.977 °/s) wy=0xFFF0 (-16) wz=0 | roll=0x4000 (90°) pitch=0 yaw=0
FRAME = bytes.fromhex("55610008000000f81000f0ff0000004000000000")


def test_frame_layout() -> None:
    acc, gyr, ang = codec.decode_data(FRAME)
    np.testing.assert_allclose(acc, [[1.0, 0.0, -1.0]])
    np.testing.assert_allclose(gyr, [[16 / 32768 * 2000, -16 / 32768 * 2000, 0.0]])
    np.testing.assert_allclose(ang, [[90.0, 0.0, 0.0]])
    assert codec.encode_data(acc, gyr, ang) == FRAME
    two = codec.decode_data(FRAME + FRAME)[0]
    assert two.shape == (2, 3)


def test_commands_and_register_reply() -> None:
    cmd, code, rate = codec.set_rate(100)
    assert cmd == bytes.fromhex("ffaa030900") and (code, rate) == (0x09, 100)
    assert codec.set_rate(190)[1:] == (0x0B, 200)
    assert codec.read_register(0x03) == bytes.fromhex("ffaa270300")
    reply = codec.encode_register_reply(0x03, [0x09, 0x06])
    assert codec.decode_register_reply(reply) == (0x03, [9, 6, 0, 0, 0, 0, 0, 0])
    for bad in (FRAME[:19], b"\x55\x62" + FRAME[2:], b""):
        with pytest.raises(MalformedPacket):
            codec.decode_data(bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes_only_ever_raise_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedPacket):
        codec.decode_data(data)
    with contextlib.suppress(MalformedPacket):
        codec.decode_register_reply(data)


async def test_stream_through_bleak_with_a_drifting_sample_clock() -> None:
    from firmware_bridge.manager import LinkSettings, SampleBlock, SensorManager, Target
    from firmware_bridge.virtual_link import BumbleBleakClient, BumbleBleakScanner, VirtualLink

    rate = 200.0
    t = np.arange(int(12 * rate)) / rate
    th = np.radians(25) * np.sin(2 * np.pi * 0.4 * t)
    acc = np.column_stack([np.sin(th), 0 * t, np.cos(th)])
    gyr = np.column_stack([0 * t, np.degrees(np.gradient(th, t)), 0 * t])
    src = SampleSource.from_stream(SensorStream("sacrum", t, acc, gyr))
    speed = 4.0
    async with VirtualLink() as link:
        twin = WitMotionTwin(link, src, speed=speed)
        await twin.start()
        loop = asyncio.get_running_loop()
        mgr = SensorManager(
            [Target("sacrum", twin.address, WitMotionDriver())],
            settings=LinkSettings(
                rate_hz=100, client_backend=BumbleBleakClient, client_kwargs={"link": link},
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
    assert twin.writes[:2] == [bytes.fromhex("ffaa030900"), bytes.fromhex("ffaa270300")]
    got = np.concatenate([b.acc_g for b in blocks])
    sent = src.acc_g[::2][: len(got)]
    assert len(got) >= 0.95 * len(src.acc_g[::2])
    np.testing.assert_allclose(got, sent, atol=16 / 32768)
    np.testing.assert_allclose(
        np.concatenate([b.gyr_dps for b in blocks]), src.gyr_dps[::2][: len(got)],
        atol=2000 / 32768,
    )  # fmt: skip
    # no timestamps on the wire: times come from the sample count, aligned to arrivals.
    # The sensor is 0.25 % fast, so after the fit the steps are 10 ms / 1.0025.
    times = np.concatenate([b.time_s for b in blocks])
    assert np.all(np.diff(times) > 0)
    late = np.diff(times[len(times) // 2 :])
    assert np.median(late) == pytest.approx(0.01 / 1.0025, rel=5e-4)
    assert late.std() < 1e-4  # steady steps, not arrival jitter
