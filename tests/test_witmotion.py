"""WitMotion codec: frame and register-reply vectors, commands, round trips, fuzz."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.devices.witmotion import codec
from firmware_bridge.devices.witmotion.driver import WitMotionDriver
from firmware_bridge.profile.wire import MalformedPacket

# Hand-built from the datasheet layout (WT901BLECL v20-0707 §6.1.1), int16 LE, raw/32768 × FS:
# 55 61 | ax=0x0800 (2048 -> 1 g) ay=0 az=0xF800 (-2048 -> -1 g)
#       | wx=0x0010 (16 -> 0.977 °/s) wy=0xFFF0 (-16) wz=0 | roll=0x4000 (90°) pitch=0 yaw=0
FRAME = bytes.fromhex("55610008000000f81000f0ff0000004000000000")
# A public decoder's test frame (witmotion decoder in a BLE logger, wit-motion gitbook
# protocol): ay=0.5 g, az=1 g, wy=500 °/s, pitch=45°, yaw=90°
PUBLIC_FRAME = bytes.fromhex("5561000000040008000000200000000000200040")
# Datasheet §6.1.2 example: reply to FF AA 27 3A 00 (magnetic field) = 360, 105, 122
MAG_REPLY = bytes.fromhex("55713a00680169007a0000000000000000000000")


def test_frame_vectors() -> None:
    acc, gyr, ang = codec.decode_data(FRAME)
    np.testing.assert_allclose(acc, [[1.0, 0.0, -1.0]])
    np.testing.assert_allclose(gyr, [[16 / 32768 * 2000, -16 / 32768 * 2000, 0.0]])
    np.testing.assert_allclose(ang, [[90.0, 0.0, 0.0]])
    assert codec.encode_data(acc, gyr, ang) == FRAME
    acc, gyr, ang = codec.decode_data(PUBLIC_FRAME)
    np.testing.assert_allclose(acc, [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(gyr, [[0.0, 500.0, 0.0]])
    np.testing.assert_allclose(ang, [[0.0, 45.0, 90.0]])
    assert codec.decode_data(FRAME + PUBLIC_FRAME)[0].shape == (2, 3)


def test_commands_and_register_reply() -> None:
    cmd, code, rate = codec.set_rate(100)
    assert cmd == bytes.fromhex("ffaa030900") and (code, rate) == (0x09, 100)
    assert codec.set_rate(190)[1:] == (0x0B, 200)
    assert codec.set_rate(60)[1:] == (0x08, 50)
    assert codec.read_register(0x03) == bytes.fromhex("ffaa270300")
    assert bytes.fromhex("ffaa6988b5") == codec.UNLOCK
    assert codec.decode_register_reply(MAG_REPLY) == (0x3A, [360, 105, 122, 0, 0, 0, 0, 0])
    assert codec.encode_register_reply(0x3A, [360, 105, 122]) == MAG_REPLY
    assert codec.is_register_reply(MAG_REPLY) and not codec.is_register_reply(FRAME)


@pytest.mark.parametrize(
    "bad",
    [b"", FRAME[:19], FRAME + FRAME[:5], b"\x55\x62" + FRAME[2:], FRAME + b"\xaa" + FRAME[1:]],
)
def test_bad_frames(bad: bytes) -> None:
    with pytest.raises(MalformedPacket):
        codec.decode_data(bad)


def test_bad_register_replies() -> None:
    for bad in (b"", MAG_REPLY[:19], MAG_REPLY + b"\x00", FRAME):
        with pytest.raises(MalformedPacket):
            codec.decode_register_reply(bad)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=90))
def test_random_bytes_only_ever_raise_malformed(data: bytes) -> None:
    driver = WitMotionDriver()
    with contextlib.suppress(MalformedPacket):
        driver.decode(data)
    with contextlib.suppress(MalformedPacket):
        codec.decode_register_reply(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-32768, 32767), min_size=9, max_size=9))
def test_round_trip_within_one_lsb(raw: list[int]) -> None:
    r = np.array(raw, float) / 32768
    acc, gyr, ang = r[None, 0:3] * 16, r[None, 3:6] * 2000, r[None, 6:9] * 180
    frame = codec.encode_data(acc, gyr, ang)
    assert frame[:2] == b"\x55\x61" and len(frame) == 20
    a2, g2, e2 = codec.decode_data(frame)
    np.testing.assert_allclose(a2, acc, atol=1e-12)
    np.testing.assert_allclose(g2, gyr, atol=1e-9)
    np.testing.assert_allclose(e2, ang, atol=1e-9)


def test_driver_matches_by_name_or_full_uuid() -> None:
    assert WitMotionDriver.matches("WT901BLE67", [])
    assert WitMotionDriver.matches(None, ["0000FFE5-0000-1000-8000-00805F9A34FB"])
    # the Bluetooth-base spelling (…9b34fb) is a different UUID
    assert not WitMotionDriver.matches(None, ["0000ffe5-0000-1000-8000-00805f9b34fb"])
    assert not WitMotionDriver.matches("Movella DOT", [])
