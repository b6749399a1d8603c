"""Polar PMD: Polar's own SDK test frames decode exactly; round trips; fuzz; and the whole
connect -> configure -> stream -> decode path through bleak to a virtual Verity Sense."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.session import SensorStream
from firmware_bridge.devices.polar import pmd
from firmware_bridge.devices.polar.driver import PolarDriver
from firmware_bridge.devices.polar.twin import PolarTwin
from firmware_bridge.profile.wire import MalformedPacket
from firmware_bridge.virtual_sensor_source import SampleSource

# Frames from polarofficial/polar-ble-sdk, sources/Android/android-communications/library/
# src/test/java/.../pmd/model/AccDataTest.kt and GyrDataTest.kt (header + content arrays).
ACC_RAW_TYPE1 = bytes.fromhex(
    "02009435770000000001"
    "f7ffffffe703f8fffeffe503f9ffffffe503faffffffe603fafffeffe603f9ffffffe503f8ffffffe603"
)
ACC_COMPRESSED_TYPE0 = bytes.fromhex(
    "02009435770000000080"
    "7107f06a9e8d0a38be5cbeba2f96b3ee4be5adfb42b9ebbe4cfeba2f92bfee4be4b1fb12b9ecbd3c3ebb2f8fd3"
    "de4be3b5f7d2b8edbd307e7b2f8be3ce8be2baf7a2b8eebc20be7b2f88f3cecbe1bdef52f8efbc18fe3b2f84"
    "03bfcbe0c2ef32b8f0bb044ebc2e8113af0be0c6eff2f7f1b9fc7dbc2e7d279f4bdfcaebc2f7f2b8eccd7c2e"
    "7b378f4bdecee392f7f3b8e00dfd2d774b7fcbddd2df6237f5b7d44dbd2d745b6fcbdcd7d73237f6b5c88d7d"
    "2d716b4f4bdcdcd3f236f7b4bcddfd2c6f7b3f4bdbe0cfd236f8b2b02dbe2c6c8f1fcbdae3c7a276"
)
ACC_COMPRESSED_TYPE1 = bytes.fromhex("02650000000000000081f1ff1400f00306017b0f")
GYR_COMPRESSED_TYPE0 = bytes.fromhex("05ffffffffffffff7f80eaff08000d000301df")


def test_sdk_frames_decode_to_the_sdk_values() -> None:
    f = pmd.decode_frame(ACC_RAW_TYPE1)
    assert f.timestamp_ns == 2_000_000_000 and not f.compressed
    assert f.samples[:2].tolist() == [[-9, -1, 999], [-8, -2, 997]]
    f = pmd.decode_frame(ACC_COMPRESSED_TYPE0)
    assert len(f.samples) == 1 + 56 and f.compressed
    assert f.samples[0].tolist() == [1905, 27376, -29282]
    assert f.samples[1].tolist() == [1905 + 190, 27376 - 105, -29282 - 85]
    f = pmd.decode_frame(ACC_COMPRESSED_TYPE1)
    assert f.samples.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    f = pmd.decode_frame(GYR_COMPRESSED_TYPE0)
    assert f.measurement == pmd.GYRO and f.timestamp_ns == 9223372036854775807
    assert f.samples.tolist() == [[-22, 8, 13], [-23, 11, 16]]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=60),
    st.integers(0, 2**63),
)
def test_delta_frames_round_trip(rows: list[tuple[int, int, int]], ts: int) -> None:
    s = np.array(rows, dtype=np.int64)
    f = pmd.decode_frame(pmd.encode_frame(pmd.ACC, ts, s))
    assert f.timestamp_ns == ts and f.samples.tolist() == s.tolist()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_only_ever_raise_malformed(data: bytes) -> None:
    for fn in (pmd.decode_frame, pmd.Response.from_bytes, pmd.decode_settings, pmd.features):
        with contextlib.suppress(MalformedPacket):
            fn(data)


def test_truncated_and_foreign_frames_are_malformed() -> None:
    with pytest.raises(MalformedPacket):
        pmd.decode_frame(ACC_COMPRESSED_TYPE0[:60])  # blocks missing many bytes
    with pytest.raises(MalformedPacket):
        pmd.decode_frame(bytes.fromhex("0100000000000000008000"))  # PPG
    with pytest.raises(MalformedPacket):
        pmd.decode_frame(ACC_RAW_TYPE1[:9])


def test_settings_round_trip_and_response() -> None:
    s = {pmd.SAMPLE_RATE: [52.0, 104.0], pmd.RANGE: [8.0], pmd.CHANNELS: [3.0]}
    assert pmd.decode_settings(pmd.encode_settings(s)) == s
    r = pmd.Response(pmd.OP_START, pmd.ACC, 0, False, {pmd.FACTOR: [2.44140625e-4]})
    back = pmd.Response.from_bytes(bytes(r))
    assert back.settings[pmd.FACTOR][0] == pytest.approx(2.44140625e-4)
    assert pmd.features(pmd.encode_features({pmd.ACC, pmd.GYRO})) == {pmd.ACC, pmd.GYRO}


def source(seconds: float = 6.0, rate: float = 52.0) -> SampleSource:
    t = np.arange(int(seconds * rate)) / rate
    th = np.radians(30) * np.sin(2 * np.pi * 0.5 * t)
    acc = np.column_stack([np.sin(th), 0 * t, np.cos(th)])
    gyr = np.column_stack([0 * t, np.degrees(np.gradient(th, t)), 0 * t])
    return SampleSource.from_stream(SensorStream("thigh", t, acc, gyr), clock_offset_s=3.0)


async def test_stream_through_bleak_from_a_virtual_verity_sense() -> None:
    from firmware_bridge.manager import LinkSettings, SampleBlock, SensorManager, Target
    from firmware_bridge.manager.scan import scan
    from firmware_bridge.virtual_link import BumbleBleakClient, BumbleBleakScanner, VirtualLink

    src = source()
    async with VirtualLink() as link:
        twin = PolarTwin(link, src, speed=4.0)
        await twin.start()
        found = await scan(
            timeout_s=1.0, scanner_kwargs={"backend": BumbleBleakScanner, "link": link}
        )
        assert [(f.name, f.driver) for f in found] == [("Polar Sense 0A1B2C3D", PolarDriver)]
        loop = asyncio.get_running_loop()
        mgr = SensorManager(
            [Target("thigh", twin.address, PolarDriver())],
            settings=LinkSettings(
                rate_hz=50, client_backend=BumbleBleakClient, client_kwargs={"link": link},
                scanner_kwargs={"backend": BumbleBleakScanner, "link": link},
            ),
            clock=lambda: loop.time() * 4.0,
        )  # fmt: skip
        blocks: list[SampleBlock] = []

        async def consume() -> None:
            async for ev in mgr.events():
                if isinstance(ev, SampleBlock):
                    blocks.append(ev)

        task = asyncio.create_task(consume())
        mgr.start()
        await mgr.wait_streaming(timeout_s=10)
        async with asyncio.timeout(20):
            while twin.streaming:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await mgr.stop()
        await task
    # the requests the driver sent: settings, start (echoing an offered rate) for both
    ops = [(r[0], r[1]) for r in twin.requests]
    assert ops[:4] == [(1, pmd.ACC), (2, pmd.ACC), (1, pmd.GYRO), (2, pmd.GYRO)]
    assert pmd.decode_settings(twin.requests[1][2:])[pmd.SAMPLE_RATE] == [52.0]
    acc = np.concatenate([b.acc_g for b in blocks])
    gyr = np.concatenate([b.gyr_dps for b in blocks])
    n = len(acc)
    assert n >= twin.samples_sent - 9  # the last ACC samples wait for gyro that never came
    np.testing.assert_allclose(acc, src.acc_g[:n], atol=8 / 32768)
    np.testing.assert_allclose(gyr, src.gyr_dps[:n], atol=2000 / 32768 + 1e-9)
    t = np.concatenate([b.time_s for b in blocks])
    assert np.all(np.diff(t) > 0)
    assert np.median(np.diff(t)) == pytest.approx(1 / 52, rel=0.02)
