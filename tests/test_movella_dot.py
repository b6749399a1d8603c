"""Movella DOT codec: byte vectors built by hand from the BLE Service Specification
(XD0506P rev. C) tables, round trips, fuzz, and the µs timestamp wrap.

The spec gives no captured bytes, so each vector below spells out its layout; wire
constants are literals here, not imported from the codec."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.profile.unwrap import Unwrapper
from firmware_bridge.profile.wire import MalformedPacket

# Table 15/17 "rate quantities": u32 timestamp µs | acc x,y,z float32 m/s² | gyr x,y,z
# float32 °/s, little-endian, zero-padded to the 40-byte medium payload.
#   ts = 0xFFFFFED8 (4294967000) | acc = (0.0, 0.0, 9.80665) | gyr = (1.5, -2.0, 0.25)
RATE_QUANTITIES_40 = bytes.fromhex(
    "d8feffff00000000000000000ae81c410000c03f000000c00000803e" + "00" * 12
)


def test_rate_quantities_vector() -> None:
    assert len(RATE_QUANTITIES_40) == 40
    assert struct.unpack_from("<f", RATE_QUANTITIES_40, 12)[0] == pytest.approx(9.80665, 1e-7)
    ts, acc, gyr = codec.decode_rate_quantities(RATE_QUANTITIES_40)
    assert ts == 4_294_967_000
    np.testing.assert_allclose(acc, [0.0, 0.0, 1.0], atol=1e-7)  # 9.80665 m/s² is 1 g
    np.testing.assert_array_equal(gyr, [1.5, -2.0, 0.25])
    assert codec.encode_rate_quantities(ts, acc, gyr) == RATE_QUANTITIES_40
    # without the padding (a stack that trims it) it still decodes
    assert codec.decode_rate_quantities(RATE_QUANTITIES_40[:28])[0] == ts


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        RATE_QUANTITIES_40[:27],  # one byte short of the timestamp + 6 floats
        RATE_QUANTITIES_40 + b"\x00",  # longer than the characteristic
        struct.pack("<I6f", 1, float("nan"), 0, 0, 0, 0, 0),
        struct.pack("<I6f", 1, 0, 0, 0, float("inf"), 0, 0),
    ],
)
def test_rate_quantities_rejects(bad: bytes) -> None:
    with pytest.raises(MalformedPacket):
        codec.decode_rate_quantities(bad)


def test_measurement_control() -> None:
    # Table 13: type 1 (measurement) | action 1 start / 0 stop | payload mode 21
    assert codec.measurement(True) == bytes.fromhex("010115")
    assert codec.measurement(False) == bytes.fromhex("010015")
    assert codec.parse_measurement(bytes.fromhex("010115")) == (True, 21)
    for bad in (b"", bytes.fromhex("020115"), bytes.fromhex("010215"), bytes.fromhex("0101")):
        with pytest.raises(MalformedPacket):
            codec.parse_measurement(bad)


# Table 7 device control, 32 bytes: visit 00 | identify 00 | power 00 | timeouts 0a 00 1e 00
# | tag length 0b | "Movella DOT" padded to 16 | rate u16 0x0014 (20 Hz) | filter 01 | 5 x 00
CONTROL_20HZ = (
    bytes.fromhex("000000" "0a001e00" "0b") + b"Movella DOT".ljust(16, b"\x00")
    + bytes.fromhex("1400" "01" "0000000000")
)  # fmt: skip


def test_device_control_layout_and_rate_write() -> None:
    assert len(CONTROL_20HZ) == 32
    ctl = codec.DeviceControl.from_bytes(CONTROL_20HZ)
    assert (ctl.tag, ctl.output_rate_hz, ctl.filter_index) == ("Movella DOT", 20, 1)
    assert ctl.timeouts == bytes([10, 0, 30, 0])
    assert bytes(ctl) == CONTROL_20HZ
    write = codec.set_output_rate(CONTROL_20HZ, 60)
    # visit index b4 (0x10) selects the output rate; 60 Hz = 3c 00 at byte 24
    assert write[0] == 0x10 and write[24:26] == bytes.fromhex("3c00")
    assert write[1:24] == CONTROL_20HZ[1:24] and write[26:] == CONTROL_20HZ[26:]
    assert codec.output_rate(write) == 60
    with pytest.raises(ValueError, match="one of"):
        codec.set_output_rate(CONTROL_20HZ, 120)  # recording only
    assert [codec.nearest_rate(r) for r in (100, 11, 0.2, 25)] == [60, 10, 1, 20]
    with pytest.raises(MalformedPacket):
        codec.DeviceControl.from_bytes(CONTROL_20HZ[:31])
    with pytest.raises(MalformedPacket, match="tag length"):
        codec.DeviceControl.from_bytes(CONTROL_20HZ[:7] + b"\x11" + CONTROL_20HZ[8:])


def test_device_report() -> None:
    # Table 11: type 7 (triple click) | length 4 | timestamp ms u32 = 123456 | 30 unused
    triple = bytes.fromhex("070440e20100") + bytes(30)
    assert codec.decode_report(triple) == codec.Report("button", 3, 123_456)
    assert codec.encode_button_report(3, 123_456) == triple
    assert codec.decode_report(bytes([5, 4, 1, 0, 0, 0]) + bytes(30)).clicks == 1
    assert codec.decode_report(bytes([1]) + bytes(35)).kind == "power_off"  # Table 9
    assert codec.decode_report(bytes([4]) + bytes(35)).kind == "power_saving"  # Table 10
    for bad in (b"", bytes([9]) + bytes(35), bytes([5, 4, 1]), bytes([6, 2, 1, 0, 0, 0]),
                bytes([5]) + bytes(36)):  # fmt: skip
        with pytest.raises(MalformedPacket):
            codec.decode_report(bad)


def test_battery() -> None:
    # Table 21: level % | charging 0/1
    assert codec.decode_battery(bytes([76, 0])) == (76, False)
    assert codec.decode_battery(bytes([100, 1])) == (100, True)
    for bad in (b"", bytes([76]), bytes([101, 0]), bytes([50, 2]), bytes([1, 0, 0])):
        with pytest.raises(MalformedPacket):
            codec.decode_battery(bad)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=48))
def test_random_bytes_only_ever_raise_malformed(data: bytes) -> None:
    driver = MovellaDotDriver()
    for decode in (driver.decode, codec.parse_measurement, codec.DeviceControl.from_bytes,
                   codec.decode_report, codec.decode_battery):  # fmt: skip
        with contextlib.suppress(MalformedPacket):
            decode(data)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, (1 << 32) - 1),
    st.lists(st.floats(-1e4, 1e4, width=32), min_size=6, max_size=6),
)
def test_round_trip(ts: int, vals: list[float]) -> None:
    acc_ms2, gyr = np.array(vals[:3]), np.array(vals[3:])
    raw = codec.encode_rate_quantities(ts, acc_ms2 / 9.80665, gyr)
    got_ts, acc, got_gyr = codec.decode_rate_quantities(raw)
    assert got_ts == ts
    np.testing.assert_allclose(acc * 9.80665, acc_ms2, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got_gyr, gyr)


def test_timestamps_unwrap_across_2_to_the_32() -> None:
    """60 Hz frames from 0.5 s before the wrap to 0.5 s after: the decoded t0 wraps, the
    manager's unwrapper (modulo the driver's ``time_modulo_us``) makes it monotonic."""
    driver = MovellaDotDriver()
    start = (1 << 32) - 500_000
    true_us = start + np.arange(60) * 16_667
    unwrap = Unwrapper(driver.time_modulo_us or 0)
    got = []
    for t in true_us:
        frame = driver.decode(codec.encode_rate_quantities(int(t), np.zeros(3), np.zeros(3)))
        assert frame.t0_us == t % (1 << 32)
        got.append(unwrap(frame.t0_us))
    np.testing.assert_array_equal(got, true_us)
    assert got[-1] > 1 << 32
