"""A virtual Verity Sense through the real bleak client and the connection manager, in real
time: scan recognition by name, ACC+GYRO at 52 Hz (normal mode, the documented start
bytes), frames sized by the MTU, decoded samples equal to what the twin sent; then SDK
mode at 208 Hz, the device stopping its streams (the driver reconnects), SDK mode off at
stop."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from analysis.session import SensorStream
from firmware_bridge.devices.polar import pmd_codec as pmd
from firmware_bridge.devices.polar.driver import PolarDriver
from firmware_bridge.devices.polar.twin import PolarTwin
from firmware_bridge.virtual_sensor_source import SampleSource


def source(seconds: float, rate_hz: float) -> SampleSource:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    th = np.radians(35) * np.sin(2 * np.pi * 0.6 * t)
    acc = np.column_stack([np.sin(th), 0.05 * np.sin(3 * t), np.cos(th)])
    gyr = np.column_stack([3 * np.cos(t), np.degrees(np.gradient(th, t)), 0 * t - 1.5])
    return SampleSource.from_stream(SensorStream("thigh", t, acc, gyr), clock_offset_s=7.0)


async def stream(link, twin, *, rate_hz: float, until):  # type: ignore[no-untyped-def]
    from firmware_bridge.manager import SampleBlock, SensorManager, Target
    from firmware_bridge.virtual_link import virtual_link_settings

    driver = PolarDriver()
    mgr = SensorManager(
        [Target("thigh", twin.address, driver)],
        settings=virtual_link_settings(link, rate_hz=rate_hz),
    )  # fmt: skip
    blocks: list[SampleBlock] = []

    async def consume() -> None:
        async for ev in mgr.events():
            if isinstance(ev, SampleBlock):
                blocks.append(ev)

    task = asyncio.create_task(consume())
    mgr.start()
    await mgr.wait_streaming(timeout_s=10)
    await until(mgr, driver)
    await mgr.stop()
    await task
    await asyncio.sleep(0.1)  # let the twin re-advertise before the link closes
    return driver, mgr, blocks


async def test_verity_sense_acc_gyro_52hz_in_real_time() -> None:
    from firmware_bridge.manager.scan import scan
    from firmware_bridge.virtual_link import BumbleBleakScanner, VirtualLink

    src = source(5.0, 52.0)
    async with VirtualLink() as link:
        twin = PolarTwin(link, src)
        await twin.start()
        found = await scan(
            timeout_s=0.5, scanner_kwargs={"backend": BumbleBleakScanner, "link": link}
        )
        assert [(f.name, f.driver) for f in found] == [("Polar Sense 0A1B2C3D", PolarDriver)]
        assert found[0].driver.matches(found[0].name, [])  # by name alone, as the device

        async def until_source_ends(_mgr, _drv) -> None:  # type: ignore[no-untyped-def]
            async with asyncio.timeout(15):
                while twin.streaming:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)

        driver, mgr, blocks = await stream(link, twin, rate_hz=52, until=until_source_ends)
    # the requests: features read, ACC settings, ACC start with the documented bytes,
    # GYRO settings and start; no SDK mode at 52 Hz; stop GYRO then ACC
    ops = [bytes(r[:2]).hex() for r in twin.requests]
    assert ops == ["0102", "0202", "0105", "0205", "0305", "0302"]
    assert twin.requests[1] == bytes.fromhex("0202000134000101100002010800040103")
    assert driver.factor == {2: 1.0, 5: 2000 / 32768}  # ACC type 1 has no factor
    # frames as the device packs them: up to MTU 247 - 3 bytes, tens of samples each
    sizes = [len(t) for t, _ in twin.sent[2]]
    assert max(twin.frame_bytes) <= 244 and np.mean(sizes) > 20
    sent_t = np.concatenate([t for t, _ in twin.sent[2]])
    sent_acc = np.concatenate([v for _, v in twin.sent[2]])
    sent_gyr = np.concatenate([v for _, v in twin.sent[5]])
    acc = np.concatenate([b.acc_g for b in blocks])
    gyr = np.concatenate([b.gyr_dps for b in blocks])  # type: ignore[misc]
    dev_s = np.concatenate([b.device_time_s for b in blocks])
    n = len(acc)
    # GYRO starts a sample or so after ACC: the ACC before it cannot be paired
    late = driver.unpaired_acc
    assert late <= 2 and n == len(sent_acc) - late == src.samples - late
    np.testing.assert_allclose(acc, sent_acc[late:], atol=1e-9)  # counts of 1 mG
    gyr_t = np.concatenate([t for t, _ in twin.sent[5]])
    np.testing.assert_array_equal(gyr_t[:n], sent_t[late:])  # same IMU samples
    np.testing.assert_allclose(gyr, sent_gyr[:n], atol=1e-3)  # interpolated, 1 LSB = 0.06
    # and what was sent is the source within int16 quantisation
    np.testing.assert_allclose(acc, src.acc_g[late:], atol=0.5e-3 + 1e-12)
    np.testing.assert_allclose(gyr, src.gyr_dps[late:], atol=1000 / 32768 + 1e-9)
    # device times of the samples: the twin's stamps (µs resolution)
    sent_rel = sent_t[late:] - sent_t[late]
    np.testing.assert_allclose((dev_s - dev_s[0]) * 1e9, sent_rel, atol=2e3)
    t = np.concatenate([b.time_s for b in blocks])
    assert np.all(np.diff(t) > 0)
    assert np.median(np.diff(t)) == pytest.approx(1 / 52, rel=0.01)
    st = mgr.status["thigh"]
    assert st.malformed == 0 and st.battery_pct == 81


async def test_sdk_mode_208hz_device_stop_and_reconnect() -> None:
    from firmware_bridge.virtual_link import VirtualLink

    src = source(3.0, 208.0)
    async with VirtualLink() as link:
        twin = PolarTwin(link, src)
        await twin.start()

        stopped_at: list[float] = []

        async def stop_by_device_then_wait(mgr, drv) -> None:  # type: ignore[no-untyped-def]
            await asyncio.sleep(1.0)
            stopped_at.append(mgr.now_s())
            await twin.stop_by_device()
            async with asyncio.timeout(10):
                while mgr.status["thigh"].connects < 2 or not twin.streaming:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)

        driver, mgr, blocks = await stream(link, twin, rate_hz=200, until=stop_by_device_then_wait)
        sdk_after_stop = twin.sdk_mode
    reqs = [bytes(r[:2]).hex() for r in twin.requests]
    # first session: settings (52 Hz only), SDK mode on, settings again, start at 208 Hz
    assert reqs[:6] == ["0102", "0209", "0102", "0202", "0105", "0205"]
    assert pmd.decode_settings(twin.requests[3][2:])[pmd.Setting.SAMPLE_RATE] == (208,)
    assert driver.device_stopped == 1 and mgr.status["thigh"].connects == 2
    # after the reconnect SDK mode is still on (answered ALREADY_IN_STATE or not needed),
    # and stop() switches it off because this driver switched it on
    assert reqs[-1] == "0309" and not sdk_after_stop
    t = np.concatenate([b.time_s for b in blocks])
    assert np.median(np.diff(t)) == pytest.approx(1 / 208, rel=0.01)
    before, after = np.sum(t < stopped_at[0]), np.sum(t > stopped_at[0])
    assert before > 0.3 * 208 and after > 0.3 * 208  # streaming again after the reconnect


async def test_a_live_session_takes_each_sensors_own_rate() -> None:
    """``hipfirst monitor`` asks every sensor for ``--rate`` (200 Hz) and the session assumed
    it for all; a Verity Sense runs the nearest rate it has, 208 Hz (a DOT: 60 Hz, where
    200 Hz made every step look like missing samples). Once streaming, the session's
    pipeline runs each sensor at the rate it reports."""
    from firmware_bridge.manager import HipfirstDriver, SensorManager, Target
    from firmware_bridge.virtual_link import VirtualLink, virtual_link_settings
    from firmware_bridge.virtual_sensor import VirtualSensor
    from hipfirst.live import LiveSession
    from tests.test_live_manager import hinge_source

    async with VirtualLink() as link:
        twin = PolarTwin(link, source(5.0, 52.0))
        diy = VirtualSensor(link, hinge_source(1, seconds=5, offset_s=3, drift_ppm=0))
        await twin.start()
        await diy.start()
        mgr = SensorManager(
            [
                Target("thigh", twin.address, PolarDriver()),
                Target("sacrum", diy.address, HipfirstDriver()),
            ],
            settings=virtual_link_settings(link, rate_hz=200),
        )
        session = LiveSession(mgr, rate_hz=200.0)
        mgr.start()
        try:
            await mgr.wait_streaming(timeout_s=10)
            session.use_stream_rates()
            specs = session.pipeline.specs
            assert specs["thigh"].rate_hz == pytest.approx(208.0) and specs["thigh"].has_gyro
            assert specs["sacrum"].rate_hz == pytest.approx(200.0)
        finally:
            await mgr.stop()
