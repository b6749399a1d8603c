"""Polar driver decoding without a link: frame timestamps -> sample times, ACC+GYRO
pairing (frames of different lengths, lost frames, a stalled GYRO), recognition, and
fuzzed frames that may only ever raise MalformedPacket."""

from __future__ import annotations

import contextlib
import itertools
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.devices.polar import pmd_codec as pmd
from firmware_bridge.devices.polar.driver import PolarDriver
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Frame
from firmware_bridge.profile.wire import MalformedPacket

RATE = 52.0
PERIOD_NS = 1e9 / RATE
T0_NS = 800_000_000 * 10**9  # some time in 2025 on the 2000 epoch
ACC_F = 1e-3  # type 1 frames: mG
GYR_F = 2000 / 32768


def signals(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Device sample times and int16 counts of a made-up motion (ACC mG, GYRO counts)."""
    k = np.arange(n)
    t = T0_NS + np.rint(k * PERIOD_NS).astype(np.int64)
    acc = np.column_stack([500 * np.sin(k / 9), 300 * np.cos(k / 7), 1000 + 0 * k]).round()
    gyr = np.column_stack([3000 * np.sin(k / 5), -2000 * np.cos(k / 11), 40 * k % 700]).round()
    return t, acc.astype(np.int64), gyr.astype(np.int64)


def frames(meas: int, t: np.ndarray, raw: np.ndarray, cuts: list[int]) -> list[bytes]:
    ftype = 1 if meas == 2 else 0
    edges = [0, *cuts, len(t)]
    return [
        pmd.encode_frame(meas, int(t[b - 1]), raw[a:b], frame_type=ftype, compressed=True)
        for a, b in itertools.pairwise(edges)
    ]


def driver(gyro: bool = True) -> PolarDriver:
    d = PolarDriver()
    d.configure(rate_hz=RATE, gyro=gyro, factor={2: 1.0, 5: GYR_F})
    return d


def run(d: PolarDriver, packets: list[bytes]) -> list[Frame]:
    return [f for p in packets if (f := d.decode(p)) is not None]


def times_us(out: list[Frame]) -> np.ndarray:
    return np.concatenate([f.t0_us + np.arange(f.count) * f.period_us for f in out])


def test_pairs_acc_and_gyro_frames_of_different_lengths() -> None:
    t, acc, gyr = signals(400)
    acc_frames = frames(2, t, acc, [70, 141, 200, 290, 355])  # first frame: nominal step
    gyr_frames = frames(5, t, gyr, [33, 120, 180, 260, 333])
    order = sorted(
        [(int(t[[70, 141, 200, 290, 355, 400][i] - 1]), 0, p) for i, p in enumerate(acc_frames)]
        + [(int(t[[33, 120, 180, 260, 333, 400][i] - 1]), 1, p) for i, p in enumerate(gyr_frames)]
    )
    d = driver()
    out = run(d, [p for _, _, p in order])
    got_acc = np.concatenate([f.acc_g for f in out])
    got_gyr = np.concatenate([f.gyr_dps for f in out])  # type: ignore[misc]
    assert len(got_acc) == 400 and d.unpaired_acc == 0
    np.testing.assert_allclose(got_acc, acc * ACC_F, atol=1e-12)
    # GYRO interpolated at the ACC times, which are the same samples here: exact to < 1 µs
    np.testing.assert_allclose(got_gyr, gyr * GYR_F, atol=1e-3 * GYR_F)
    np.testing.assert_allclose(times_us(out), t / 1e3, atol=1.0)


def test_gyro_that_starts_later_drops_only_the_unpairable_acc() -> None:
    t, acc, gyr = signals(200)
    d = driver()
    assert d.decode(frames(2, t[:100], acc[:100], [])[0]) is None  # held: no GYRO yet
    out = run(d, frames(5, t[40:200], gyr[40:200], [60]) + frames(2, t[100:], acc[100:], []))
    assert d.unpaired_acc == 40
    np.testing.assert_allclose(times_us(out), t[40:] / 1e3, atol=1.0)


def test_a_lost_frame_leaves_a_gap_not_a_smear() -> None:
    t, acc, gyr = signals(300)
    acc_f = frames(2, t, acc, [60, 120, 180, 240])
    gyr_f = frames(5, t, gyr, [60, 120, 180, 240])
    packets = [p for pair in zip(acc_f, gyr_f, strict=True) for p in pair]
    del packets[4:6]  # ACC and GYRO of samples 120..179 lost
    out = run(driver(), packets)
    got = times_us(out)
    want = np.concatenate([t[:120], t[180:]]) / 1e3
    np.testing.assert_allclose(got[: len(want)], want, atol=1.0)
    # every handed-out frame is evenly spaced: none spans the hole
    for f in out:
        assert f.period_us == pytest.approx(PERIOD_NS / 1e3, rel=1e-3)


def test_stalled_gyro_bounds_the_held_acc() -> None:
    t, acc, gyr = signals(52 * 30)
    d = driver()
    run(d, frames(5, t[:100], gyr[:100], []))
    run(d, frames(2, t, acc, list(range(100, 52 * 30, 100))))
    assert d._pairer is not None
    held = len(d._pairer._acc_t)
    assert held <= 10 * RATE + 100  # max_hold_s = 10 s (+ one frame)
    assert d.unpaired_acc >= 52 * 30 - 100 - held


def test_accel_only_devices() -> None:
    t, acc, _ = signals(100)
    d = driver(gyro=False)
    out = run(d, frames(2, t, acc, [50]))
    assert [f.count for f in out] == [50, 50] and out[0].gyr_dps is None
    with pytest.raises(MalformedPacket, match="not started"):
        d.decode(frames(5, t, acc, [])[0])


def test_first_frame_step_from_rate_then_from_stamps() -> None:
    # device clock 1 % fast: the second frame's times follow the stamps, not the nominal
    k = np.arange(100)
    t = T0_NS + np.rint(k * PERIOD_NS * 1.01).astype(np.int64)
    d = driver(gyro=False)
    acc = np.zeros((100, 3), dtype=np.int64)
    out = run(d, frames(2, t, acc, [50]))
    assert out[0].period_us == pytest.approx(PERIOD_NS / 1e3, rel=1e-6)
    assert out[1].period_us == pytest.approx(PERIOD_NS * 1.01 / 1e3, rel=1e-4)
    assert out[1].t0_us == pytest.approx(t[50] / 1e3, abs=1)


def test_frames_before_start_and_unknown_types_are_malformed() -> None:
    t, acc, _ = signals(10)
    with pytest.raises(MalformedPacket, match="not started"):
        PolarDriver().decode(frames(2, t, acc, [])[0])


def test_recognition() -> None:
    assert PolarDriver.matches("Polar Sense 0A1B2C3D", [])
    assert PolarDriver.matches("Polar H10 12345678", [])
    assert PolarDriver.matches("Polar OH1 1A2B3C4D", [])
    assert PolarDriver.matches(None, ["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"])
    assert not PolarDriver.matches(
        "Polar Vantage V2 1234", ["0000180d-0000-1000-8000-00805f9b34fb"]
    )
    assert not PolarDriver.matches("hipfirst-3F2A", [])


def test_choose_echoes_one_offered_value_each() -> None:
    offer = {pmd.Setting.SAMPLE_RATE: (26, 52, 104, 208, 416), pmd.Setting.RESOLUTION: (16,),
             pmd.Setting.RANGE: (250, 500, 1000, 2000), pmd.Setting.CHANNELS: (3,)}  # fmt: skip
    got = PolarDriver().choose(offer, rate_hz=200, range_=2000)
    assert got == {0: (208,), 1: (16,), 2: (2000,), 4: (3,)}
    assert PolarDriver().choose(offer, rate_hz=50, range_=300)[pmd.Setting.RANGE] == (250,)
    # a 0 Hz rate from the air is no rate (it would divide every sample time by zero)
    assert PolarDriver().choose({**offer, 0: (0, 52)}, rate_hz=200, range_=2000)[0] == (52,)
    with pytest.raises(BridgeError, match="no sample rate"):
        PolarDriver().choose({**offer, 0: (0,)}, rate_hz=200, range_=2000)


# -- fuzz: decode may only raise MalformedPacket ------------------------------------
def valid_packets() -> list[bytes]:
    t, acc, gyr = signals(120)
    return (
        frames(2, t, acc, [40, 80])
        + frames(5, t, gyr, [60])
        + [
            pmd.encode_frame(2, int(t[9]), acc[:10], frame_type=1, compressed=False),
            pmd.encode_frame(2, int(t[9]), acc[:10], frame_type=0, compressed=True),
        ]
    )


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=260))
def test_random_bytes_only_raise_malformed(data: bytes) -> None:
    d = driver()
    with contextlib.suppress(MalformedPacket):
        d.decode(data)
    for fn in (pmd.decode_cp, pmd.decode_settings, pmd.decode_features, pmd.Request.from_bytes):
        with contextlib.suppress(MalformedPacket):
            fn(data)


def test_mutated_frames_only_raise_malformed() -> None:
    seed = int(os.environ.get("POLAR_FUZZ_SEED", "20250601"))
    print(f"fuzz seed {seed} (POLAR_FUZZ_SEED to replay)")
    rng = np.random.default_rng(seed)
    good = valid_packets()
    d = driver()
    outcomes = {"ok": 0, "malformed": 0}
    for _ in range(3000):
        p = bytearray(good[rng.integers(len(good))])
        op = rng.integers(4)
        if op == 0:
            p = p[: rng.integers(len(p))]
        elif op == 1:
            for _ in range(rng.integers(1, 4)):
                p[rng.integers(len(p))] = rng.integers(256)
        elif op == 2:
            p[10 + rng.integers(len(p) - 10)] ^= 1 << int(rng.integers(8))
        else:
            p[rng.integers(len(p)) :] = rng.bytes(int(rng.integers(1, 40)))
        try:
            out = d.decode(bytes(p))
            outcomes["ok"] += 1
            if out is not None:
                assert np.all(np.isfinite(out.acc_g)) and out.count > 0
        except MalformedPacket:
            outcomes["malformed"] += 1
    assert outcomes["malformed"] > 500 and outcomes["ok"] > 100  # both paths exercised
