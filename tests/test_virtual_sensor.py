"""The virtual sensor obeys the profile's control commands, seen through bleak.

Commands are written as raw bytes from PROFILE.md; replies are decoded with the
profile codecs. Each test runs a few hundred ms of wall time (sources run 4-8x fast).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import numpy as np
import pytest
from bleak import BleakClient

from analysis.session import SensorStream
from firmware_bridge.profile import Ack, DeviceState, ImuPacket, MalformedPacket, decode_status
from firmware_bridge.virtual_link import BumbleBleakClient, BumbleBleakScanner, VirtualLink
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource

IMU_DATA = "68690002-0aac-446a-8884-59668ae0fff1"
CONTROL = "68690003-0aac-446a-8884-59668ae0fff1"
STATUS = "68690004-0aac-446a-8884-59668ae0fff1"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"


def ramp_source(*, seconds: float = 20.0, accel_only: bool = False) -> SampleSource:
    """Slowly varying values, distinct per sample; device clock = 1000 s + common time."""
    t = np.arange(int(seconds * 200)) / 200.0
    acc = np.stack([np.sin(t), np.cos(t), 0.5 * np.sin(0.3 * t)], axis=1)
    gyr = None if accel_only else np.stack([100 * np.sin(2 * t), 50 * np.cos(t), 10 * t], axis=1)
    return SampleSource.from_stream(SensorStream("ramp", t, acc, gyr), clock_offset_s=1000.0)


@dataclass
class Session:
    client: BleakClient
    acks: list[Ack] = field(default_factory=list)
    raw: list[bytearray] = field(default_factory=list)

    def packets(self) -> list[ImuPacket]:
        return [ImuPacket.from_bytes(p) for p in self.raw]

    async def command(self, hex_bytes: str) -> Ack:
        before = len(self.acks)
        await self.client.write_gatt_char(CONTROL, bytes.fromhex(hex_bytes), response=True)
        for _ in range(100):
            if len(self.acks) > before:
                break
            await asyncio.sleep(0.005)
        assert len(self.acks) == before + 1, "exactly one ack per control write"
        return self.acks[-1]

    async def wait_packets(self, n: int) -> None:
        async with asyncio.timeout(3.0):
            while len(self.raw) < n:
                await asyncio.sleep(0.01)


@asynccontextmanager
async def connected(
    sensor: VirtualSensor, *, subscribe_imu: bool = True, att_mtu: int = 247
) -> AsyncIterator[Session]:
    async with BleakClient(
        sensor.address, backend=BumbleBleakClient, link=sensor.link, att_mtu=att_mtu
    ) as client:
        s = Session(client)

        def on_status(_c: object, data: bytearray) -> None:
            msg = decode_status(data)
            assert isinstance(msg, Ack)
            s.acks.append(msg)

        await client.start_notify(STATUS, on_status)
        if subscribe_imu:
            await client.start_notify(IMU_DATA, lambda _c, d: s.raw.append(d))
        yield s


async def drained(sensor: VirtualSensor, s: Session) -> None:
    """Wait for the end of the source and for its last notifications to arrive."""
    async with asyncio.timeout(3.0):
        while not sensor.stats.source_exhausted or len(s.raw) < sensor.stats.packets_sent:
            await asyncio.sleep(0.01)


@asynccontextmanager
async def one_sensor(**kw: object) -> AsyncIterator[VirtualSensor]:
    source = kw.pop("source", None) or ramp_source()
    async with VirtualLink() as link:
        sensor = VirtualSensor(link, source, speed=kw.pop("speed", 4.0), **kw)  # type: ignore[arg-type]
        await sensor.start()
        try:
            yield sensor
        finally:
            await sensor.close()


async def test_rate_and_ranges_change_the_packets() -> None:
    async with one_sensor() as sensor, connected(sensor) as s:
        ack = await s.command("036400")  # SET_RATE 100 Hz
        assert (ack.opcode, ack.result, ack.value) == (0x03, 0, 10_000)  # period 10 ms
        ack = await s.command("040304")  # SET_RANGES ±16 g, ±2000 °/s
        assert (ack.opcode, ack.result) == (0x04, 0)
        assert (await s.command("01")).result == 0  # START
        await s.wait_packets(4)
        packets = s.packets()
        assert {(p.period_us, p.acc_range, p.gyr_range, p.count) for p in packets} == {
            (10_000, 3, 4, 5)  # 50 ms batches at 100 Hz
        }
        src = sensor.source
        k0 = int(np.argmin(np.abs(src.device_time_s * 1e6 - packets[0].t0_us)))
        acc = np.concatenate([np.asarray(p.acc_raw) for p in packets])
        gyr = np.concatenate([np.asarray(p.gyr_raw) for p in packets])
        idx = k0 + 2 * np.arange(len(acc))  # every second 200 Hz sample
        np.testing.assert_array_equal(acc, np.rint(src.acc_g[idx] / (16 / 32768)))
        np.testing.assert_array_equal(gyr, np.rint(src.gyr_dps[idx] / (2000 / 32768)))


async def test_commands_acks_and_errors() -> None:
    async with one_sensor() as sensor, connected(sensor, subscribe_imu=False) as s:
        assert (await s.command("01")).result == 3  # START before subscribing: WRONG_STATE
        assert (await s.command("09")).result == 1  # unknown opcode
        assert (await s.command("03c8")).result == 2  # SET_RATE truncated: BAD_COMMAND
        assert (await s.command("056503c8006400c800")).result == 2  # intensity 101 %
        ack = await s.command("055003c8006400c800")  # HAPTIC 80 %, on 200, off 100, on 200
        assert ack.result == 0
        assert [(e.command.intensity_pct, e.command.pattern_ms) for e in sensor.haptic_log] == [
            (80, (200, 100, 200))
        ]
        assert (await s.command("0800000a")).result == 4  # BACKFILL before any packet
        state = DeviceState.from_bytes(await s.client.read_gatt_char(STATUS))
        assert (state.streaming, state.period_us, state.capabilities) == (False, 5000, 0b110)
        assert len(sensor.commands) == 3  # only the well-formed ones were applied


async def test_time_sync_ack_stamps_the_packet_clock() -> None:
    async with one_sensor(speed=1.0) as sensor, connected(sensor) as s:
        await s.command("01")
        await s.wait_packets(2)
        ack = await s.command("06efbeadde")  # TIME_SYNC token 0xdeadbeef
        assert ack.value == 0xDEADBEEF
        await s.wait_packets(len(s.raw) + 2)
        packets = s.packets()
        # The ack's clock is the packets' clock: it falls among the packets' sample
        # times (packets are sent up to 50 ms after their first sample).
        t = ack.device_time_us
        assert packets[0].t0_us < t < packets[-1].t0_us + 50_000
        assert 1000e6 < t < 1020e6  # the source's device clock starts at 1000 s


async def test_placement_renames_the_advertisement() -> None:
    async with one_sensor() as sensor:
        async with connected(sensor) as s:
            assert (await s.command("076c756d626172")).result == 0  # SET_PLACEMENT lumbar
            state = DeviceState.from_bytes(await s.client.read_gatt_char(STATUS))
            assert state.placement == "lumbar"
        device = await _scan_for(sensor, f"hipfirst-{sensor.device_id}-lumbar")
        assert device is not None


async def _scan_for(sensor: VirtualSensor, name: str) -> object:
    from bleak import BleakScanner

    return await BleakScanner.find_device_by_name(
        name, timeout=2.0, backend=BumbleBleakScanner, link=sensor.link
    )


async def test_corrupted_packets_are_dropped_and_backfilled() -> None:
    async with one_sensor() as sensor, connected(sensor) as s:
        await s.command("01")
        await s.wait_packets(3)
        sensor.corrupt_next(2, mode="truncate")
        await s.wait_packets(len(s.raw) + 4)
        good: list[ImuPacket] = []
        bad = 0
        for raw in s.raw:
            try:
                good.append(ImuPacket.from_bytes(raw))
            except MalformedPacket:
                bad += 1
        assert bad == 2
        seqs = [p.seq for p in good]
        missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
        assert len(missing) == 2 and missing[1] == missing[0] + 1
        ack = await s.command("08" + missing[0].to_bytes(2, "little").hex() + "02")
        assert (ack.result, ack.value) == (0, 2)
        await asyncio.sleep(0.02)
        refilled = [p for p in map(_decode_or_none, s.raw) if p and p.flags & 0x02]  # BACKFILL
        assert sorted(p.seq for p in refilled) == missing


def _decode_or_none(raw: bytearray) -> ImuPacket | None:
    try:
        return ImuPacket.from_bytes(raw)
    except MalformedPacket:
        return None


async def test_accel_only_sensor_and_small_mtu() -> None:
    async with one_sensor() as sensor, connected(sensor, att_mtu=23) as s:
        assert s.client.mtu_size == 23
        assert (await s.command("01")).result == 3  # six-axis needs MTU >= 27
    async with one_sensor(source=ramp_source(accel_only=True)) as sensor:
        async with connected(sensor, att_mtu=23) as s:
            assert (await s.command("01")).result == 0
            await s.wait_packets(3)
            packets = s.packets()
            assert all(p.accel_only and p.count == 1 and p.gyr_raw is None for p in packets)
            assert all(len(raw) == 18 for raw in s.raw)  # fits the 20-byte payload
        async with connected(sensor) as s:
            await s.command("01")
            await s.wait_packets(2)
            assert {p.count for p in s.packets()} == {10}  # 50 ms at 200 Hz


async def test_link_drop_keeps_counting_and_battery_notifies() -> None:
    async with one_sensor() as sensor:
        async with connected(sensor) as s:
            await s.command("01")
            await s.wait_packets(3)
            last_seq = s.packets()[-1].seq
            await sensor.drop_link(0.1)
            await asyncio.sleep(0.05)
            assert not s.client.is_connected and not sensor.streaming
        await asyncio.sleep(0.1)
        async with connected(sensor) as s:
            levels: list[bytearray] = []
            await s.client.start_notify(BATTERY_LEVEL, lambda _c, d: levels.append(d))
            await sensor.set_battery(42)
            await s.command("01")
            await s.wait_packets(1)
            assert s.packets()[0].seq == last_seq + 1  # the counter never resets
            assert levels == [bytearray([42])]
            assert await s.client.read_gatt_char(BATTERY_LEVEL) == bytearray([42])


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speed"):
        VirtualSensor(VirtualLink(), ramp_source(), speed=0)


async def test_recorded_session_replays_from_its_first_sample() -> None:
    from types import SimpleNamespace

    from analysis.session import Session as RecordedSession

    ramp = ramp_source(seconds=2.0)
    stream = SensorStream("thigh", ramp.time_s, ramp.acc_g, ramp.gyr_dps)
    recorded = RecordedSession({"thigh": stream}, source="rec.csv")
    device_clock = 7.0 + ramp.time_s * (1 + 80e-6)  # as a simulator would hand it over
    sim_like = SimpleNamespace(session=recorded, device_time_s={"thigh": device_clock})
    source = SampleSource.from_sim(sim_like, "thigh")
    np.testing.assert_array_equal(source.device_time_s, device_clock)
    with pytest.raises(KeyError, match=r"rec\.csv"):
        SampleSource.from_session(recorded, "lumbar")
    async with one_sensor(source=source, speed=20.0, source_from_start=True) as sensor:
        await asyncio.sleep(0.3)  # the session would be over by now if its clock had run
        async with connected(sensor) as s:
            await s.command("01")
            await drained(sensor, s)
            packets = s.packets()
    assert packets[0].t0_us == 7_000_000  # device clock at the session's first sample
    acc = np.concatenate([np.asarray(p.acc_raw) for p in packets])
    np.testing.assert_array_equal(acc, np.rint(stream.acc_g / (4 / 32768)))


async def test_a_wearer_waiting_for_go_stands_on_the_first_sample_then_plays_the_source() -> None:
    ramp = ramp_source(seconds=1.0)
    async with one_sensor(source=ramp, speed=8.0, wait_for_go=True) as sensor:
        assert sensor.waiting
        async with connected(sensor) as s:
            await s.command("01")
            await s.wait_packets(8)
            sensor.go()
            assert not sensor.waiting
            await drained(sensor, s)
            packets = s.packets()
    acc = np.concatenate([np.asarray(p.acc_raw) for p in packets])
    want = np.rint(ramp.acc_g / (4 / 32768))
    # still on the first sample, then every source sample once, in order, to its end
    first = want[0]
    n_wait = int(np.argmax(~np.all(acc == first, axis=1))) - 1
    assert n_wait >= 8 * len(packets[0].acc_raw) - 1
    np.testing.assert_array_equal(acc[n_wait:], want)
    # the device clock ran on unbroken across the go: one period between packets' samples
    t0 = np.array([p.t0_us for p in packets], dtype=float)
    counts = np.array([len(p.acc_raw) for p in packets])
    np.testing.assert_allclose(np.diff(t0), counts[:-1] * 5000, atol=1)
