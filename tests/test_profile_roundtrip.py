"""Round trips of the profile codecs, quantisation to int16, unwrapping, and a decode fuzz."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from firmware_bridge.profile import (
    Ack,
    Backfill,
    DeviceState,
    Haptic,
    ImuPacket,
    MalformedPacket,
    Result,
    SetPlacement,
    SetRanges,
    SetRate,
    StartStream,
    TimeSync,
    Unwrapper,
    decode_command,
    decode_status,
    max_samples,
    pack_samples,
)


def test_max_samples_per_packet() -> None:
    # 244-byte payload: (244 - 12 header) // 12 bytes per six-axis sample = 19.
    assert max_samples(att_mtu=247) == 19
    assert max_samples(att_mtu=247, accel_only=True) == 38
    # Default MTU 23: 20 bytes, no room for a 12-byte sample after the 12-byte header.
    assert max_samples(att_mtu=23) == 0
    assert max_samples(att_mtu=23, accel_only=True) == 1
    assert max_samples(att_mtu=27) == 1


@pytest.mark.parametrize(("acc_range", "gyr_range"), [(0, 0), (1, 3), (3, 4)])
def test_physical_round_trip_within_half_an_lsb(acc_range: int, gyr_range: int) -> None:
    rng = np.random.default_rng(7)
    acc_fs = (2, 4, 8, 16)[acc_range]
    gyr_fs = (125, 250, 500, 1000, 2000)[gyr_range]
    acc = rng.uniform(-acc_fs * 0.99, acc_fs * 0.99, (19, 3))
    gyr = rng.uniform(-gyr_fs * 0.99, gyr_fs * 0.99, (19, 3))
    p = pack_samples(
        seq=70_000,
        t0_us=(1 << 32) + 5,
        period_us=5000,
        acc_range=acc_range,
        gyr_range=gyr_range,
        acc_g=acc,
        gyr_dps=gyr,
    )
    assert (p.seq, p.t0_us) == (70_000 - 65_536, 5)  # both wrap
    raw = bytes(p)
    assert len(raw) == 240  # 12 + 19 * 12, fits the 244-byte payload at MTU 247
    q = ImuPacket.from_bytes(raw)
    assert q == p
    np.testing.assert_allclose(q.acc_g(), acc, rtol=0, atol=acc_fs / 32768 / 2 + 1e-12)
    np.testing.assert_allclose(q.gyr_dps(), gyr, rtol=0, atol=gyr_fs / 32768 / 2 + 1e-12)


def test_quantisation_saturates_out_of_range_values() -> None:
    p = pack_samples(
        seq=0,
        t0_us=0,
        period_us=5000,
        acc_range=0,
        gyr_range=0,
        acc_g=np.array([[5.0, -5.0, 0.0]]),
        gyr_dps=None,
    )
    assert p.accel_only and p.acc_raw == ((32767, -32768, 0),)


def test_producer_errors_raise() -> None:
    with pytest.raises(ValueError):
        ImuPacket(seq=0, t0_us=0, period_us=5000, acc_range=0, gyr_range=0, acc_raw=(), gyr_raw=())
    with pytest.raises(ValueError):
        bytes(
            ImuPacket(
                seq=0,
                t0_us=0,
                period_us=5000,
                acc_range=0,
                gyr_range=0,
                acc_raw=((40000, 0, 0),),
                gyr_raw=((0, 0, 0),),
            )
        )
    with pytest.raises(ValueError):
        Haptic(intensity_pct=50, pattern_ms=())


def test_command_and_status_round_trips() -> None:
    items: list[object] = [
        StartStream(),
        SetRate(rate_hz=16),
        SetRate(rate_hz=65535),
        SetRanges(acc_range=3, gyr_range=0),
        Haptic(intensity_pct=100, pattern_ms=(10_000,) * 8),
        TimeSync(token=0),
        SetPlacement(name="upper_back_2"),
        Backfill(from_seq=0, count=255),
    ]
    for c in items:
        raw = bytes(c)  # type: ignore[call-overload]
        assert len(raw) <= 20, c  # fits a write at the default MTU
        assert decode_command(raw) == c
    for s in (
        Ack(opcode=3, result=Result.WRONG_STATE, value=5000, device_time_us=(1 << 64) - 1),
        DeviceState(
            streaming=False,
            period_us=2500,
            acc_range=3,
            gyr_range=4,
            capabilities=1,
            next_seq=65535,
            device_time_us=0,
            placement="a" * 15,
        ),
    ):
        assert decode_status(bytes(s)) == s


def test_unwrapper_follows_wraps_both_ways() -> None:
    u = Unwrapper(1 << 16)
    assert [u(v) for v in (65534, 65535, 0, 1, 65535, 3)] == [
        65534,
        65535,
        65536,
        65537,
        65535,
        65539,
    ]
    t = Unwrapper(1 << 32)
    assert t(4_294_967_000) == 4_294_967_000
    assert t(704) == 4_294_968_000  # wrapped: 2**32 + 704


def _valid_samples() -> list[bytes]:
    rng = np.random.default_rng(1)
    out = []
    for n, accel_only in ((1, False), (19, False), (38, True), (3, True)):
        p = pack_samples(
            seq=int(rng.integers(0, 1 << 16)),
            t0_us=int(rng.integers(0, 1 << 32)),
            period_us=5000,
            acc_range=2,
            gyr_range=2,
            acc_g=rng.normal(0, 2, (n, 3)),
            gyr_dps=None if accel_only else rng.normal(0, 200, (n, 3)),
        )
        out.append(bytes(p))
    out += [bytes(Haptic(intensity_pct=30, pattern_ms=(100, 50, 100))), bytes(TimeSync(token=9))]
    out += [
        bytes(Ack(opcode=1, result=Result.OK)),
        bytes(
            DeviceState(
                streaming=True,
                period_us=5000,
                acc_range=0,
                gyr_range=0,
                capabilities=7,
                next_seq=3,
                device_time_us=99,
                placement="sacrum",
            )
        ),
    ]
    return out


def test_fuzz_decoders_only_raise_malformed_packet() -> None:
    seed = int(os.environ.get("HIPFIRST_FUZZ_SEED", random.SystemRandom().randrange(1 << 32)))
    print(f"fuzz seed {seed} (replay with HIPFIRST_FUZZ_SEED={seed})")
    rnd = random.Random(seed)
    bases = _valid_samples()
    decoders = (ImuPacket.from_bytes, decode_command, decode_status)
    cases: list[bytes] = []
    for _ in range(1500):
        cases.append(rnd.randbytes(rnd.randrange(0, 260)))
    for base in bases:
        cases += [base[:i] for i in range(len(base))]  # every truncation
        for _ in range(150):
            b = bytearray(base)
            for _ in range(rnd.randrange(1, 4)):
                b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
            cases.append(bytes(b))
        cases.append(base + rnd.randbytes(rnd.randrange(1, 8)))
    decoded = 0
    for raw in cases:
        for decode in decoders:
            try:
                obj = decode(raw)
            except MalformedPacket:
                continue
            decoded += 1
            # Whatever decodes must re-encode to exactly the bytes received.
            assert bytes(obj) == raw, (seed, raw.hex())  # type: ignore[call-overload]
    assert decoded > 100  # the bit flips leave many packets valid: the fuzz reached the decoders
