"""Polar PMD codec: Polar's own SDK test frames decode to the SDK's values; a real Verity
Sense frame decodes to ~1 g; delta frames round-trip; control point and settings bytes."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.devices.polar import pmd_codec as pmd
from firmware_bridge.profile.wire import MalformedPacket

# Test vectors below are the byte arrays of polarofficial/polar-ble-sdk, directory
# sources/Android/android-communications/library/src/test/java/com/polar/
# androidcommunications/api/ble/model/gatt/client/pmd/ (header + content, as hex).

# model/AccDataTest.kt "process acc raw data frame type 1"
ACC_RAW_TYPE1 = bytes.fromhex(
    "02009435770000000001"
    "f7ffffffe703f8fffeffe503f9ffffffe503faffffffe603fafffeffe603f9ffffffe503f8ffffffe603f8ff"
    "feffe603faffffffe503faffffffe703faffffffe503f8ffffffe603f7ffffffe603f8fffeffe603f9fffeff"
    "e703f9ff0000e603f9ffffffe603f7fffeffe503f9ffffffe503f9ffffffe503faff0000e603f9fffeffe603"
    "f8ffffffe603f8ffffffe503f9ffffffe603f9ffffffe503faffffffe603f9ffffffe503f9ffffffe503f8ff"
    "feffe603f9ffffffe603f9ffffffe603f9ff0000e503f9fffeffe603f8fffeffe603f7fffeffe603"
)
# model/AccDataTest.kt "process acc compressed data type 0" (factor 2.44E-4, range 8)
ACC_COMPRESSED_TYPE0 = bytes.fromhex(
    "02009435770000000080"
    "7107f06a9e8d0a38be5cbeba2f96b3ee4be5adfb42b9ebbe4cfeba2f92bfee4be4b1fb12b9ecbd3c3ebb2f8f"
    "d3de4be3b5f7d2b8edbd307e7b2f8be3ce8be2baf7a2b8eebc20be7b2f88f3cecbe1bdef52f8efbc18fe3b2f"
    "8403bfcbe0c2ef32b8f0bb044ebc2e8113af0be0c6eff2f7f1b9fc7dbc2e7d279f4bdfcaebc2f7f2b8eccd7c"
    "2e7b378f4bdecee392f7f3b8e00dfd2d774b7fcbddd2df6237f5b7d44dbd2d745b6fcbdcd7d73237f6b5c88d"
    "7d2d716b4f4bdcdcd3f236f7b4bcddfd2c6f7b3f4bdbe0cfd236f8b2b02dbe2c6c8f1fcbdae3c7a276f9"
)
# model/AccDataTest.kt "process acc compressed data type 1"
ACC_COMPRESSED_TYPE1 = bytes.fromhex("02650000000000000081f1ff1400f00306017b0f08")
# model/AccDataTest.kt measurementFrameAccType0Short (content only; its 2nd block is cut)
ACC_TYPE0_SHORT_CONTENT = bytes.fromhex(
    "5dff9800fd0f062af2b013eca11b3ec3d0407fcd4071d8f34d00463f087b9fd73aaf3852a613ed3e130991dc"
    "faeeef3e5410e28f7785eef24c7e04879cfcd22f10fd4feffe21ffc28104035f1345d1084adfbfb551447b50"
    "f739a1102e6f18f79f1c364d1b0d030c1406d0fef7affffcbffff43f0117f000011000f8dfff00"
)
# model/GyrDataTest.kt "process gyro compressed data type 0"
GYR_COMPRESSED_TYPE0 = bytes.fromhex("05ffffffffffffff7f80eaff08000d000301df00")
# model/GyrDataTest.kt "process gyro compressed data type 1" (and "... with factor")
GYR_COMPRESSED_TYPE1 = bytes.fromhex(
    "050094357700000000810000803f000020410000a0411c010000a001000008cdccec0d"
)
# A real Verity Sense ACC frame (compressed type 0) from a device log quoted in
# github.com/polarofficial/polar-ble-sdk/issues/186 (2023-09-08).
VERITY_LOG_FRAME = bytes.fromhex(
    "02965b065deeab7f09808ef1b9fb34fb081d2a1a1d2beee5eddbf19902fba7f0d7eb0bd70419d70638e73412"
    "105b0c3624072f22e757def31bf21f07e405f4f4f4e7fc11fa0ffcf31a12042ffd1425e81b15173c01f432ba"
    "ff1306faf6dbfae4acf8c0aefebca0e1e00a0aebe3df3ef4edcb2080fdfa3300810732e4ffbe12da079148fc"
    "ee4762c00a3fc4af42fefea300080aec1d06e72afee720c3e322ffd00fe92bf4010d1701d00834e7fa53caba"
    "010a0dbd270041ebeabf6f77f7b45facfbe7e133df7c09ed5f3f0bfc1be462bf02472400021336d84f0110d7"
    "13f102ee3f88e03e"
)


def f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]


def test_sdk_acc_raw_type1() -> None:
    f = pmd.decode_frame(ACC_RAW_TYPE1)
    assert (f.measurement, f.compressed, f.frame_type) == (2, False, 1)
    assert f.timestamp_ns == 2_000_000_000 and f.count == 216 // 2 // 3
    assert f.raw[:2].tolist() == [[-9, -1, 999], [-8, -2, 997]]  # mG in the SDK
    np.testing.assert_allclose(pmd.to_units(f)[0], [-0.009, -0.001, 0.999])  # g


def test_sdk_acc_compressed_type0_with_factor() -> None:
    f = pmd.decode_frame(ACC_COMPRESSED_TYPE0)
    assert f.count == 1 + 56 and f.compressed and f.frame_type == 0
    assert f.raw[0].tolist() == [1905, 27376, -29282]
    assert f.raw[1].tolist() == [1905 + 190, 27376 - 105, -29282 - 85]
    g = pmd.to_units(f, factor=np.float32(2.44e-4))
    # the SDK asserts (factor * value * 1000).toInt() mG for the first two samples
    mg = [[int(np.float32(2.44e-4) * v * np.float32(1000)) for v in r] for r in f.raw[:2]]
    assert np.trunc(g[:2] * 1000).astype(int).tolist() == mg
    assert np.all(np.abs(g) <= 8)  # the SDK's "in range" check (±8 g)


def test_sdk_acc_compressed_type1() -> None:
    f = pmd.decode_frame(ACC_COMPRESSED_TYPE1)
    assert f.raw.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]  # mG, factor 1
    assert f.timestamp_ns == 0x65
    np.testing.assert_allclose(pmd.to_units(f, factor=1.0)[1], [-0.020, 0.017, 1.008])


def test_sdk_gyro_compressed_type0() -> None:
    f = pmd.decode_frame(GYR_COMPRESSED_TYPE0)
    assert f.measurement == 5 and f.timestamp_ns == 9223372036854775807
    assert pmd.to_units(f, factor=1.0).tolist() == [[-22, 8, 13], [-23, 11, 16]]


@pytest.mark.parametrize("factor", [1.0, 0.5])
def test_sdk_gyro_compressed_type1_floats(factor: float) -> None:
    f = pmd.decode_frame(GYR_COMPRESSED_TYPE1)
    want = [
        [f32(0x3F800000), f32(0x41200000), f32(0x41A00000)],
        [f32(0x3F800000 + 0x1A00000), f32(0x41200000 + 0x0800000), f32(0x41A00000 + 0xFDECCCCD)],
    ]
    assert pmd.to_units(f, factor=factor).tolist() == (np.array(want) * factor).tolist()
    assert want[1] == [10.0, 20.0, pytest.approx(1.1)]


def test_sdk_short_frame_is_malformed() -> None:
    frame = bytes.fromhex("02009435770000000080") + ACC_TYPE0_SHORT_CONTENT
    with pytest.raises(MalformedPacket, match="block of 20x12 bit needs 90 bytes"):
        pmd.decode_frame(frame)
    # its first block is whole: cut after it, the frame decodes
    head = pmd.decode_frame(frame[: 10 + 6 + 2 + (6 * 42 * 3 + 7) // 8])
    assert head.count == 43 and head.raw[0, 0] == -163  # the SDK's comment: -163


def test_a_real_verity_sense_frame_reads_one_g() -> None:
    f = pmd.decode_frame(VERITY_LOG_FRAME)
    assert (f.measurement, f.compressed, f.frame_type, f.count) == (2, True, 0, 63)
    years = f.timestamp_ns / 1e9 / (365.2425 * 86400)
    assert 21 < years < 24  # stamped in the 2020s on the 2000-01-01 epoch
    norm = np.linalg.norm(pmd.to_units(f, factor=2.44e-4), axis=1)  # the SDK test's factor
    assert norm.min() > 0.9 and norm.max() < 1.2 and abs(np.median(norm) - 1) < 0.05


def test_strict_lengths() -> None:
    with pytest.raises(MalformedPacket):  # the SDK frame minus its last padding byte
        pmd.decode_frame(GYR_COMPRESSED_TYPE0[:-1])
    with pytest.raises(MalformedPacket):
        pmd.decode_frame(ACC_COMPRESSED_TYPE1[:-1])
    with pytest.raises(MalformedPacket, match="not whole"):
        pmd.decode_frame(ACC_RAW_TYPE1[:-1])
    with pytest.raises(MalformedPacket, match="header"):
        pmd.decode_frame(ACC_RAW_TYPE1[:9])
    with pytest.raises(MalformedPacket, match="not supported"):
        pmd.decode_frame(bytes.fromhex("0100000000000000008000"))  # PPG
    with pytest.raises(MalformedPacket, match="not supported"):
        pmd.decode_frame(bytes.fromhex("050000000000000000") + b"\x01" + bytes(6))  # raw GYRO
    with pytest.raises(MalformedPacket, match="bit width 0"):
        pmd.decode_frame(ACC_COMPRESSED_TYPE1[:16] + b"\x00\x01")


def test_control_point_responses_from_the_sdk() -> None:
    # BlePmdClientControlPointResponseTest.kt: success with params, and a failure
    r = pmd.decode_cp(bytes.fromhex("f001020000ffffff"))
    assert r == pmd.Response(op=1, measurement=2, status=0, more=False, params=b"\xff\xff\xff")
    r = pmd.decode_cp(bytes.fromhex("f001060700"))
    assert isinstance(r, pmd.Response) and r.status == pmd.Status.INVALID_RESOLUTION
    assert r.params == b"" and not r.more
    assert pmd.decode_cp(bytes.fromhex("010205")) == pmd.DeviceStopped((2, 5))
    with pytest.raises(MalformedPacket):
        pmd.decode_cp(bytes.fromhex("f00102"))


def test_settings_from_the_sdk() -> None:
    # PmdSettingTest.kt testPmdSettingsWithRange and testPmdSettingWithRangeMilliUnit
    s = pmd.decode_settings(bytes.fromhex("00013400010110000204f500f401e803d007040103"))
    assert s == {0: (52,), 1: (16,), 2: (245, 500, 1000, 2000), 4: (3,)}
    s = pmd.decode_settings(bytes.fromhex("0302ffffffffff00000001010e00"))
    assert s == {3: (0xFFFFFFFF, 0xFF), 1: (14,)}  # the SDK's Int shows 0xFFFFFFFF as -1
    with pytest.raises(MalformedPacket):
        pmd.decode_settings(bytes.fromhex("000234000100"[:-2]))
    with pytest.raises(MalformedPacket, match="unknown setting"):
        pmd.decode_settings(bytes.fromhex("070100"))


@pytest.mark.parametrize("factor", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_factor_that_cannot_scale_samples_is_malformed(factor: float) -> None:
    # FACTOR multiplies every sample of the stream: NaN, inf, 0 or negative would poison it
    assert pmd.decode_settings(bytes([5, 1]) + struct.pack("<f", 0.5)) == {5: (0.5,)}
    with pytest.raises(MalformedPacket, match="FACTOR"):
        pmd.decode_settings(bytes([5, 1]) + struct.pack("<f", factor))
    with pytest.raises(MalformedPacket, match="FACTOR with no value"):
        pmd.decode_settings(bytes([5, 0]))


def test_start_request_matches_the_documented_bytes() -> None:
    # ACC start at 52 Hz, 16 bit, ±8 g, 3 channels, as written to a Verity Sense in
    # github.com/polarofficial/polar-ble-sdk/issues/331 and #443
    from firmware_bridge.devices.polar.driver import PolarDriver

    offer = pmd.decode_settings(bytes.fromhex("000134000101100002010800040103"))
    chosen = PolarDriver().choose(offer, rate_hz=50, range_=8)
    assert bytes(pmd.Request.start(pmd.Measurement.ACC, chosen)) == bytes.fromhex(
        "0202000134000101100002010800040103"
    )
    r = pmd.decode_cp(bytes.fromhex("f002020000"))  # the device's answer there: no factor
    assert isinstance(r, pmd.Response) and r.ok and r.settings() == {}


def test_features_read() -> None:
    # bit n of the little-endian mask after 0x0F = measurement type n (PmdMeasurementType.kt)
    assert pmd.decode_features(bytes.fromhex("0f2402")) == {2, 5, 9}
    assert pmd.encode_features({2, 5, 9}) == bytes.fromhex("0f2402")
    with pytest.raises(MalformedPacket):
        pmd.decode_features(b"\x0f")


int16 = st.integers(-32768, 32767)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(int16, int16, int16), min_size=1, max_size=300),
    ts=st.integers(0, 2**64 - 1),
    block=st.integers(1, 255),
    kind=st.sampled_from([(2, 0), (2, 1), (5, 0)]),
)
def test_delta_frames_round_trip(
    rows: list[tuple[int, int, int]], ts: int, block: int, kind: tuple[int, int]
) -> None:
    raw = np.array(rows, dtype=np.int64)
    data = pmd.encode_frame(kind[0], ts, raw, frame_type=kind[1], compressed=True, block=block)
    f = pmd.decode_frame(data)
    assert (f.measurement, f.frame_type, f.timestamp_ns) == (kind[0], kind[1], ts)
    assert f.raw.tolist() == raw.tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.floats(-4000, 4000, width=32)] * 3), min_size=1, max_size=80))
def test_gyro_float_frames_round_trip(rows: list[tuple[float, float, float]]) -> None:
    vals = np.array(rows, dtype=np.float32)
    bits = vals.view(np.int32).astype(np.int64)
    data = pmd.encode_frame(5, 1, bits, frame_type=1, compressed=True)
    np.testing.assert_array_equal(pmd.to_units(pmd.decode_frame(data)), vals)


def test_raw_frames_round_trip() -> None:
    raw = np.array([[-8388608, 0, 8388607], [1, -1, 2]])
    f = pmd.decode_frame(pmd.encode_frame(2, 7, raw, frame_type=2, compressed=False))
    assert f.raw.tolist() == raw.tolist()
