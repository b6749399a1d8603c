"""Hand-decoded test vectors for the hipfirst sensor profile (firmware_bridge/PROFILE.md).

The byte strings are written out by hand from the tables in PROFILE.md; the expected
values in the comments are decoded by hand, so wire constants here are literals and
never imported from the production code.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.profile import (
    Ack,
    Backfill,
    DeviceEvent,
    DeviceState,
    Haptic,
    ImuPacket,
    MalformedPacket,
    Result,
    SetPlacement,
    SetRanges,
    SetRate,
    StartStream,
    StopStream,
    TimeSync,
    decode_command,
    decode_status,
    local_name,
    parse_local_name,
)
from firmware_bridge.profile.uuids import BATTERY_LEVEL, CONTROL, IMU_DATA, SENSOR_SERVICE, STATUS

# Six-axis packet, two samples.
SIX_AXIS = bytes.fromhex(
    "01"  # version 1
    "00"  # flags: none
    "3412"  # seq 0x1234 = 4660
    "4e61bc00"  # t0_us 0x00bc614e = 12_345_678 µs
    "8813"  # period_us 0x1388 = 5000 µs (200 Hz)
    "02"  # count 2
    "31"  # ranges: accel code 1 (±4 g, 8192 LSB/g), gyro code 3 (±1000 °/s, 32.768 LSB/(°/s))
    # sample 0: ax 0x2000=8192 -> 1.0 g, ay 0xf000=-4096 -> -0.5 g, az 0 -> 0 g,
    #           gx 0x1000=4096 -> 125 °/s, gy 0x8000=-32768 -> -1000 °/s, gz 1 -> 0.030517578125 °/s
    "0020 00f0 0000 0010 0080 0100"
    # sample 1: ax 0x7fff=32767 -> 3.9998779296875 g, ay 0xffff=-1 -> -0.0001220703125 g,
    #           az 0x4000=16384 -> 2.0 g, gx 0, gy 0xc000=-16384 -> -500 °/s,
    #           gz 0x0100=256 -> 7.8125 °/s
    "ff7f ffff 0040 0000 00c0 0001"
)

# Accelerometer-only packet re-sent by backfill, at the wrap of both counters.
ACCEL_ONLY = bytes.fromhex(
    "01"  # version 1
    "03"  # flags: ACCEL_ONLY (bit 0) | BACKFILL (bit 1)
    "ffff"  # seq 65535, the last before the wrap
    "ffffffff"  # t0_us 4_294_967_295, 1 µs before the clock wraps
    "1027"  # period_us 0x2710 = 10_000 µs (100 Hz)
    "01"  # count 1
    "00"  # ranges: accel code 0 (±2 g, 16384 LSB/g), gyro nibble 0 (ignored)
    "0040 0000 00c0"  # ax 16384 -> 1.0 g, ay 0, az -16384 -> -1.0 g
)


def test_uuids_are_the_documented_ones() -> None:
    assert SENSOR_SERVICE == "68690001-0aac-446a-8884-59668ae0fff1"
    assert IMU_DATA == "68690002-0aac-446a-8884-59668ae0fff1"
    assert CONTROL == "68690003-0aac-446a-8884-59668ae0fff1"
    assert STATUS == "68690004-0aac-446a-8884-59668ae0fff1"
    assert BATTERY_LEVEL == "00002a19-0000-1000-8000-00805f9b34fb"


def test_six_axis_vector_decodes_by_hand() -> None:
    p = ImuPacket.from_bytes(SIX_AXIS)
    assert (p.version, p.flags, p.seq, p.t0_us, p.period_us) == (1, 0, 4660, 12_345_678, 5000)
    assert (p.count, p.acc_range, p.gyr_range, p.accel_only) == (2, 1, 3, False)
    assert p.acc_raw == ((8192, -4096, 0), (32767, -1, 16384))
    assert p.gyr_raw == ((4096, -32768, 1), (0, -16384, 256))
    np.testing.assert_array_equal(
        p.acc_g(), [[1.0, -0.5, 0.0], [3.9998779296875, -0.0001220703125, 2.0]]
    )
    np.testing.assert_array_equal(
        p.gyr_dps(), [[125.0, -1000.0, 0.030517578125], [0.0, -500.0, 7.8125]]
    )
    assert p.sample_times_us() == [12_345_678, 12_350_678]
    assert bytes(p) == SIX_AXIS


def test_accel_only_vector_decodes_by_hand_and_wraps() -> None:
    p = ImuPacket.from_bytes(ACCEL_ONLY)
    assert (p.flags, p.seq, p.t0_us, p.period_us, p.count) == (3, 65535, 4_294_967_295, 10_000, 1)
    assert p.accel_only and p.gyr_raw is None and p.gyr_dps() is None
    np.testing.assert_array_equal(p.acc_g(), [[1.0, 0.0, -1.0]])
    assert bytes(p) == ACCEL_ONLY


def test_decode_accepts_bytearray_and_memoryview() -> None:
    assert ImuPacket.from_bytes(bytearray(SIX_AXIS)) == ImuPacket.from_bytes(memoryview(SIX_AXIS))


@pytest.mark.parametrize(
    ("hex_bytes", "why"),
    [
        ("", "empty"),
        ("0100341200", "truncated header"),
        (SIX_AXIS[:-1].hex(), "last sample one byte short"),
        (SIX_AXIS.hex() + "00", "one trailing byte"),
        ("02" + SIX_AXIS[1:].hex(), "version 2"),
        (SIX_AXIS[:10].hex() + "0031", "count 0"),
        (SIX_AXIS[:10].hex() + "0134" + "00" * 12, "accel range code 4 unknown"),
        (SIX_AXIS[:10].hex() + "0151" + "00" * 12, "gyro range code 5 unknown"),
        (SIX_AXIS[:8].hex() + "0000" + SIX_AXIS[10:].hex(), "period 0"),
        ("0101" + SIX_AXIS[2:].hex(), "ACCEL_ONLY flag on six-axis body: length mismatch"),
    ],
)
def test_malformed_imu_packets_raise_malformed_packet(hex_bytes: str, why: str) -> None:
    with pytest.raises(MalformedPacket):
        ImuPacket.from_bytes(bytes.fromhex(hex_bytes))


def test_malformed_packet_is_a_value_error() -> None:
    assert issubclass(MalformedPacket, ValueError)


@pytest.mark.parametrize(
    ("hex_bytes", "command"),
    [
        ("01", StartStream()),
        ("02", StopStream()),
        ("03c800", SetRate(rate_hz=200)),  # 0x00c8 = 200 Hz
        ("040204", SetRanges(acc_range=2, gyr_range=4)),  # ±8 g, ±2000 °/s
        # intensity 0x50 = 80 %, 3 entries: on 0xc8=200 ms, off 0x64=100 ms, on 200 ms
        ("055003c8006400c800", Haptic(intensity_pct=80, pattern_ms=(200, 100, 200))),
        ("06efbeadde", TimeSync(token=0xDEADBEEF)),
        ("076c756d626172", SetPlacement(name="lumbar")),  # ASCII "lumbar"
        ("07", SetPlacement(name="")),  # clears the placement
        ("08faff0a", Backfill(from_seq=65530, count=10)),  # from 0xfffa, 10 packets
    ],
)
def test_control_vectors(hex_bytes: str, command: object) -> None:
    raw = bytes.fromhex(hex_bytes)
    assert decode_command(raw) == command
    assert bytes(command) == raw  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("hex_bytes", "why"),
    [
        ("", "empty write"),
        ("09", "unknown opcode 0x09"),
        ("0100", "START with a parameter"),
        ("03c8", "SET_RATE truncated"),
        ("030f00", "SET_RATE 15 Hz, below 16"),
        ("040400", "accel range code 4"),
        ("050001", "HAPTIC: one entry announced, none sent"),
        ("056503c8006400c800", "HAPTIC: intensity 101 %"),
        ("055009" + "6400" * 9, "HAPTIC: 9 entries, at most 8"),
        ("05500111 27".replace(" ", ""), "HAPTIC: 0x2711 = 10001 ms, at most 10000"),
        ("074c756d626172", "placement with upper case 'L'"),
        ("07" + "61" * 16, "placement of 16 bytes"),
        ("07ff", "placement not ASCII"),
        ("08faff00", "BACKFILL of 0 packets"),
    ],
)
def test_malformed_control_writes(hex_bytes: str, why: str) -> None:
    with pytest.raises(MalformedPacket):
        decode_command(bytes.fromhex(hex_bytes))


def test_ack_vector() -> None:
    raw = bytes.fromhex(
        "01"  # kind ack
        "06"  # opcode TIME_SYNC
        "00"  # result OK
        "efbeadde"  # value = token 0xdeadbeef echoed
        "1000000001000000"  # device_time_us 0x0000000100000010 = 4_294_967_312 µs
    )
    ack = decode_status(raw)
    assert ack == Ack(opcode=6, result=Result.OK, value=0xDEADBEEF, device_time_us=4_294_967_312)
    assert bytes(ack) == raw
    # The low 32 bits are what IMU packets carry: 16 µs after the packet clock wrapped.
    assert ack.device_time_us & 0xFFFFFFFF == 16


def test_state_vector() -> None:
    raw = bytes.fromhex(
        "02"  # kind state
        "01"  # streaming
        "8813"  # period 5000 µs
        "01"
        "03"  # accel code 1, gyro code 3
        "06"  # capabilities: BACKFILL (bit 1) | HAPTIC (bit 2)
        "0201"  # next_seq 0x0102 = 258
        "40420f0000000000"  # device_time_us 0x0f4240 = 1_000_000
        "05"
        "7468696768"  # placement, 5 bytes "thigh"
    )
    state = decode_status(raw)
    assert state == DeviceState(
        streaming=True,
        period_us=5000,
        acc_range=1,
        gyr_range=3,
        capabilities=6,
        next_seq=258,
        device_time_us=1_000_000,
        placement="thigh",
    )
    assert bytes(state) == raw


@pytest.mark.parametrize(
    "hex_bytes",
    [
        "",
        "04",  # unknown kind
        "030200000000000000000000",  # event code 2 unknown
        "0301000000000000000000",  # event truncated
        "0106",  # ack truncated
        "010607" + "00" * 12,  # ack, result code 7 unknown
        "010600" + "00" * 12 + "00",  # ack with one trailing byte
        "020100000103060000" + "00" * 8 + "00",  # state with period 0
        "0202881301030602014042" + "0f0000000000" + "00",  # streaming byte 2
        "0201881301030602014042" + "0f0000000000" + "05" + "74686967",  # placement 1 short
    ],
)
def test_malformed_status(hex_bytes: str) -> None:
    with pytest.raises(MalformedPacket):
        decode_status(bytes.fromhex(hex_bytes))


def test_button_event_vector() -> None:
    # kind 0x03 event, code 0x01 button, count 0x0002, device time 0x0000000100000000 µs
    raw = bytes.fromhex("030102000000000001000000")
    msg = decode_status(raw)
    assert isinstance(msg, DeviceEvent)
    assert (msg.event, msg.count, msg.device_time_us) == (1, 2, 1 << 32)
    assert bytes(msg) == raw


def test_local_names() -> None:
    assert local_name(address_tail=0x3F2A) == "hipfirst-3F2A"
    assert local_name(address_tail=0x13F2A, placement="lumbar") == "hipfirst-3F2A-lumbar"
    name = parse_local_name("hipfirst-3F2A-lumbar")
    assert name is not None and (name.device_id, name.placement) == ("3F2A", "lumbar")
    unplaced = parse_local_name("hipfirst-00C1")
    assert unplaced is not None and (unplaced.device_id, unplaced.placement) == ("00C1", None)
    for other in (None, "", "Polar H10", "hipfirst-3f2a", "hipfirst-3F2A-", "hipfirst-3F2A-Lumbar"):
        assert parse_local_name(other) is None
