"""IMU data notification: a 12-byte header and a batch of int16 samples.

Layout (all little-endian; see ``firmware_bridge/PROFILE.md``)::

    off size field
    0   1    version      = 1
    1   1    flags        bit0 ACCEL_ONLY, bit1 BACKFILL, bit2 GAP_BEFORE, bits 3-7 reserved (0)
    2   2    seq          u16 packet counter, +1 per packet, wraps 65535 -> 0
    4   4    t0_us        u32 device time of the first sample in µs, wraps every 2**32 µs
    8   2    period_us    u16 sample period in µs (5000 = 200 Hz)
    10  1    count        u8 number of samples, 1..255
    11  1    ranges       bits 0-3 accel range code, bits 4-7 gyro range code
    12  12*n samples      int16 ax ay az gx gy gz per sample (6*n, ax ay az, if ACCEL_ONLY)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from firmware_bridge.profile.wire import MalformedPacket, Reader

VERSION = 1

ACCEL_ONLY = 0x01
"""No gyroscope values in this packet (accelerometer-only device or mode)."""
BACKFILL = 0x02
"""Re-sent on a BACKFILL request; ``seq`` is the packet's original number."""
GAP_BEFORE = 0x04
"""The device lost samples (FIFO overflow) before this packet; ``t0_us`` says how many."""

ACC_RANGE_G: dict[int, int] = {0: 2, 1: 4, 2: 8, 3: 16}
"""Accel range code -> full scale in g; one LSB is full scale / 32768."""
GYR_RANGE_DPS: dict[int, int] = {0: 125, 1: 250, 2: 500, 3: 1000, 4: 2000}
"""Gyro range code -> full scale in °/s; one LSB is full scale / 32768."""

HEADER = struct.Struct("<BBHIHBB")
HEADER_BYTES = HEADER.size  # 12
SAMPLE_6 = struct.Struct("<6h")
SAMPLE_3 = struct.Struct("<3h")
SEQ_MODULO = 1 << 16
TIME_MODULO_US = 1 << 32
MAX_COUNT = 255

Triple = tuple[int, int, int]


def sample_bytes(*, accel_only: bool) -> int:
    """Bytes per sample on the wire."""
    return SAMPLE_3.size if accel_only else SAMPLE_6.size


def max_samples(*, att_mtu: int, accel_only: bool = False) -> int:
    """Most samples one notification carries at ``att_mtu`` (payload = MTU - 3)."""
    payload = att_mtu - 3
    return max(0, min(MAX_COUNT, (payload - HEADER_BYTES) // sample_bytes(accel_only=accel_only)))


def acc_lsb_g(code: int) -> float:
    """g per LSB for an accel range code."""
    return ACC_RANGE_G[code] / 32768.0


def gyr_lsb_dps(code: int) -> float:
    """°/s per LSB for a gyro range code."""
    return GYR_RANGE_DPS[code] / 32768.0


@dataclass(frozen=True, slots=True)
class ImuPacket:
    """One IMU data notification. Raw int16 counts; convert with :meth:`acc_g` / :meth:`gyr_dps`.

    ``gyr_raw`` is ``None`` exactly when ``flags`` has :data:`ACCEL_ONLY`.
    """

    seq: int
    t0_us: int
    period_us: int
    acc_range: int
    gyr_range: int
    acc_raw: tuple[Triple, ...]
    gyr_raw: tuple[Triple, ...] | None
    flags: int = 0
    version: int = VERSION

    def __post_init__(self) -> None:
        # MalformedPacket is a ValueError: the same checks guard producers and decoders.
        if self.version != VERSION:
            raise MalformedPacket(f"IMU packet: unknown version {self.version}")
        if not 0 <= self.flags <= 0xFF:
            raise MalformedPacket(f"IMU packet: flags {self.flags} outside one byte")
        if not 0 <= self.seq < SEQ_MODULO:
            raise MalformedPacket(f"IMU packet: seq {self.seq} outside u16")
        if not 0 <= self.t0_us < TIME_MODULO_US:
            raise MalformedPacket(f"IMU packet: t0_us {self.t0_us} outside u32")
        if not 1 <= self.period_us <= 0xFFFF:
            raise MalformedPacket(f"IMU packet: period_us {self.period_us} outside 1..65535")
        if not 1 <= len(self.acc_raw) <= MAX_COUNT:
            raise MalformedPacket(f"IMU packet: {len(self.acc_raw)} samples, need 1..{MAX_COUNT}")
        if self.acc_range not in ACC_RANGE_G:
            raise MalformedPacket(f"IMU packet: unknown accel range code {self.acc_range}")
        if not 0 <= self.gyr_range <= 0xF:
            raise MalformedPacket(f"IMU packet: gyro range code {self.gyr_range} outside a nibble")
        if self.accel_only != (self.gyr_raw is None):
            raise MalformedPacket("IMU packet: ACCEL_ONLY flag disagrees with gyro data")
        if self.gyr_raw is not None:
            if self.gyr_range not in GYR_RANGE_DPS:
                raise MalformedPacket(f"IMU packet: unknown gyro range code {self.gyr_range}")
            if len(self.gyr_raw) != len(self.acc_raw):
                raise MalformedPacket("IMU packet: gyro and accel sample counts differ")

    @property
    def accel_only(self) -> bool:
        return bool(self.flags & ACCEL_ONLY)

    @property
    def count(self) -> int:
        return len(self.acc_raw)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> ImuPacket:
        r = Reader(data, "IMU packet")
        version, flags, seq, t0_us, period_us, count, ranges = r.take(HEADER)
        if version != VERSION:
            raise r.error(f"unknown version {version}")
        if count == 0:
            raise r.error("sample count 0")
        accel_only = bool(flags & ACCEL_ONLY)
        fmt = SAMPLE_3 if accel_only else SAMPLE_6
        if r.remaining != count * fmt.size:
            raise r.error(f"count {count} needs {count * fmt.size} sample bytes, has {r.remaining}")
        rows = list(fmt.iter_unpack(r.rest()))
        if accel_only:
            acc: tuple[Triple, ...] = tuple(rows)  # type: ignore[arg-type]
            gyr: tuple[Triple, ...] | None = None
        else:
            acc = tuple((s[0], s[1], s[2]) for s in rows)
            gyr = tuple((s[3], s[4], s[5]) for s in rows)
        return cls(
            seq=seq,
            t0_us=t0_us,
            period_us=period_us,
            acc_range=ranges & 0x0F,
            gyr_range=ranges >> 4,
            acc_raw=acc,
            gyr_raw=gyr,
            flags=flags,
            version=version,
        )

    def __bytes__(self) -> bytes:
        for triple in (*self.acc_raw, *(self.gyr_raw or ())):
            if len(triple) != 3 or not all(-32768 <= v <= 32767 for v in triple):
                raise MalformedPacket(f"IMU packet: sample {triple} is not three int16")
        head = HEADER.pack(
            self.version,
            self.flags,
            self.seq,
            self.t0_us,
            self.period_us,
            self.count,
            self.acc_range | (self.gyr_range << 4),
        )
        if self.gyr_raw is None:
            body = b"".join(SAMPLE_3.pack(*a) for a in self.acc_raw)
        else:
            body = b"".join(
                SAMPLE_6.pack(*a, *g) for a, g in zip(self.acc_raw, self.gyr_raw, strict=True)
            )
        return head + body

    def acc_g(self) -> np.ndarray:
        """Accelerometer in g, shape ``(count, 3)``."""
        return np.asarray(self.acc_raw, dtype=float) * acc_lsb_g(self.acc_range)

    def gyr_dps(self) -> np.ndarray | None:
        """Gyroscope in °/s, shape ``(count, 3)``; ``None`` for accel-only packets."""
        if self.gyr_raw is None:
            return None
        return np.asarray(self.gyr_raw, dtype=float) * gyr_lsb_dps(self.gyr_range)

    def sample_times_us(self) -> list[int]:
        """Device time of each sample in µs, wrapped to u32 like ``t0_us``."""
        return [(self.t0_us + i * self.period_us) % TIME_MODULO_US for i in range(self.count)]


def quantize(values: np.ndarray, lsb: float) -> np.ndarray:
    """Physical values -> int16 counts (round to nearest, saturate at the range ends)."""
    counts = np.rint(np.asarray(values, dtype=float) / lsb)
    return np.clip(counts, -32768, 32767).astype(np.int16)


def pack_samples(
    *,
    seq: int,
    t0_us: int,
    period_us: int,
    acc_range: int,
    gyr_range: int,
    acc_g: np.ndarray,
    gyr_dps: np.ndarray | None,
    flags: int = 0,
) -> ImuPacket:
    """Build a packet from physical values (quantised to the given ranges)."""
    acc = quantize(acc_g, acc_lsb_g(acc_range))
    gyr = None if gyr_dps is None else quantize(gyr_dps, gyr_lsb_dps(gyr_range))
    flags = (flags | ACCEL_ONLY) if gyr is None else (flags & ~ACCEL_ONLY)
    return ImuPacket(
        seq=seq % SEQ_MODULO,
        t0_us=t0_us % TIME_MODULO_US,
        period_us=period_us,
        acc_range=acc_range,
        gyr_range=gyr_range,
        acc_raw=tuple((int(a[0]), int(a[1]), int(a[2])) for a in acc),
        gyr_raw=None if gyr is None else tuple((int(g[0]), int(g[1]), int(g[2])) for g in gyr),
        flags=flags,
    )
