"""Polar Measurement Data (PMD) codec: control point messages, settings, data frames.

Pure bytes in, values out; no I/O. The layouts below are facts read from Polar's open SDK
(github.com/polarofficial/polar-ble-sdk, Android ``api/ble/model/gatt/client/pmd/``:
``BlePMDClient.kt``, ``PmdSetting.kt``, ``PmdControlPointResponse.kt``,
``PmdControlPointCommand.kt``, ``PmdMeasurementType.kt``, ``PmdDataFrame.kt``,
``model/AccData.kt``, ``model/GyrData.kt``) and its ``technical_documentation/
online_measurement.pdf``; no code was copied.

- Service ``FB005C80-…``; control point ``…5C81`` (read = features; write requests, answers
  by indication); data ``…5C82`` (notify).
- Request ``[op][measurement][params…]``: 1 get settings, 2 start, 3 stop; start/stop
  of measurement 9 switches SDK mode on/off. Measurement byte bit 7 = offline recording.
- Response ``F0 [op][measurement][status][more][params…]``; status 0 = success; ``more``
  means the params continue in the next indication. ``01 [types…]``: the device stopped
  those streams by itself.
- Settings: ``[type][count][count × value]`` little-endian: 0 sample rate u16,
  1 resolution u16, 2 range u16, 3 range (milli-units) u32, 4 channels u8, 5 factor
  float32, 6 security 16 bytes.
- Data frame ``[measurement][u64 timestamp][frame type][content]``: the timestamp is ns
  since 2000-01-01 of the LAST sample; frame type bit 7 = delta-compressed.
- Delta compression: a reference sample (``channels × ceil(resolution/8)`` bytes), then
  blocks ``[bit width][sample count][count × channels × width bits]``, read LSB first;
  each value is a two's-complement delta added to the previous sample.

Units (``AccData.kt`` / ``GyrData.kt``), applied by :func:`to_units`:

| measurement | frame | content | unit after × factor |
|---|---|---|---|
| ACC | raw 0/1/2 | int8 / int16 / int24 triples | mG (factor not applied) |
| ACC | compressed 0 | int16 reference + deltas | g |
| ACC | compressed 1 | int16 reference + deltas | mG (no factor given = 1) |
| GYRO | compressed 0 | int16 reference + deltas | °/s |
| GYRO | compressed 1 | float32 bit patterns + integer deltas | °/s |

Every length is checked: anything else raises :class:`MalformedPacket`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from firmware_bridge.profile.wire import MalformedPacket

SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

FEATURES_CODE = 0x0F
RESPONSE_CODE = 0xF0
DEVICE_STOPPED_CODE = 0x01
OFFLINE_BIT = 0x80
MEASUREMENT_MASK = 0x3F
COMPRESSED_BIT = 0x80


class Measurement(IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6
    SKIN_TEMP = 7
    SDK_MODE = 9


class Op(IntEnum):
    GET_SETTINGS = 1
    START = 2
    STOP = 3
    GET_SDK_MODE_SETTINGS = 4
    GET_STATUS = 5
    GET_SDK_MODE_STATUS = 6


class Setting(IntEnum):
    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


class Status(IntEnum):
    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


FIELD_BYTES = {Setting.SAMPLE_RATE: 2, Setting.RESOLUTION: 2, Setting.RANGE: 2,
               Setting.RANGE_MILLIUNIT: 4, Setting.CHANNELS: 1, Setting.FACTOR: 4,
               Setting.SECURITY: 16}  # fmt: skip

Settings = dict[Setting, tuple[float, ...]]
"""Setting type -> values (one value each in a start request; the choices in an offer)."""


def status_name(code: int) -> str:
    try:
        return Status(code).name
    except ValueError:
        return f"status {code}"


# -- settings ---------------------------------------------------------------
def encode_settings(settings: Settings) -> bytes:
    out = bytearray()
    for kind, values in settings.items():
        size = FIELD_BYTES[Setting(kind)]
        if len(values) > 255:
            raise ValueError(f"PMD setting {kind.name}: {len(values)} values, at most 255")
        out += bytes([kind, len(values)])
        for v in values:
            if kind == Setting.FACTOR:
                out += struct.pack("<f", v)
            else:
                if v != int(v) or not 0 <= v < 1 << (8 * size):
                    raise ValueError(f"PMD setting {kind.name}: {v} does not fit {size} bytes")
                out += int(v).to_bytes(size, "little")
    return bytes(out)


def decode_settings(data: bytes) -> Settings:
    out: Settings = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise MalformedPacket(f"PMD settings: truncated setting header at byte {i}")
        try:
            kind = Setting(data[i])
        except ValueError:
            raise MalformedPacket(f"PMD settings: unknown setting type {data[i]}") from None
        count = data[i + 1]
        size = FIELD_BYTES[kind]
        i += 2
        if i + count * size > len(data):
            raise MalformedPacket(
                f"PMD settings: {kind.name} needs {count * size} bytes, {len(data) - i} left"
            )
        values: list[float] = []
        for _ in range(count):
            raw = data[i : i + size]
            if kind == Setting.FACTOR:
                factor = struct.unpack("<f", raw)[0]
                if not (math.isfinite(factor) and factor > 0):  # it scales every sample
                    raise MalformedPacket(f"PMD settings: FACTOR {factor}")
                values.append(factor)
            else:
                values.append(int.from_bytes(raw, "little"))
            i += size
        if kind == Setting.FACTOR and not values:
            raise MalformedPacket("PMD settings: FACTOR with no value")
        out[kind] = tuple(values)
    return out


# -- control point ----------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """A control point write: ``[op][measurement][params]``."""

    op: int
    measurement: int | None
    params: bytes = b""

    @classmethod
    def start(cls, measurement: int, settings: Settings) -> Request:
        return cls(Op.START, measurement, encode_settings(settings))

    def __bytes__(self) -> bytes:
        meas = b"" if self.measurement is None else bytes([self.measurement])
        return bytes([self.op]) + meas + self.params

    @classmethod
    def from_bytes(cls, data: bytes) -> Request:
        if len(data) < 1:
            raise MalformedPacket("PMD request: empty")
        if len(data) < 2:  # ops without a measurement (e.g. GET_STATUS)
            return cls(data[0], None)
        return cls(data[0], data[1], bytes(data[2:]))


@dataclass(frozen=True)
class Response:
    """``F0 [op][measurement][status][more][params]``."""

    op: int
    measurement: int
    status: int
    more: bool = False
    params: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == Status.SUCCESS

    def settings(self) -> Settings:
        return decode_settings(self.params)

    def __bytes__(self) -> bytes:
        head = bytes([RESPONSE_CODE, self.op, self.measurement, self.status])
        return head + bytes([int(self.more)]) + self.params

    @classmethod
    def from_bytes(cls, data: bytes) -> Response:
        if len(data) < 4 or data[0] != RESPONSE_CODE:
            raise MalformedPacket(f"PMD response: not a response ({bytes(data[:5]).hex()})")
        status = data[3]
        ok = status == Status.SUCCESS
        more = ok and len(data) > 4 and data[4] != 0
        params = bytes(data[5:]) if ok else b""
        return cls(data[1], data[2], status, more, params)


@dataclass(frozen=True)
class DeviceStopped:
    """``01 [types…]``: the device ended these online streams itself (charger, mode change)."""

    measurements: tuple[int, ...] = field(default=())

    def __bytes__(self) -> bytes:
        return bytes([DEVICE_STOPPED_CODE, *self.measurements])


def decode_cp(data: bytes) -> Response | DeviceStopped:
    """An indication on the control point."""
    if len(data) >= 1 and data[0] == DEVICE_STOPPED_CODE:
        return DeviceStopped(tuple(b & MEASUREMENT_MASK for b in data[1:]))
    return Response.from_bytes(data)


def decode_features(data: bytes) -> set[int]:
    """Measurement types offered, from the control point's read value (bit n = type n)."""
    if len(data) < 2 or data[0] != FEATURES_CODE:
        raise MalformedPacket(f"PMD features: unexpected value {bytes(data[:4]).hex()}")
    mask = int.from_bytes(data[1:], "little")
    return {b for b in range(8 * (len(data) - 1)) if mask >> b & 1}


def encode_features(types: set[int]) -> bytes:
    return bytes([FEATURES_CODE]) + sum(1 << t for t in types).to_bytes(2, "little")


# -- data frames ------------------------------------------------------------
HEADER = struct.Struct("<BQB")
_INT32 = 1 << 31


@dataclass(frozen=True)
class DataFrame:
    measurement: int
    timestamp_ns: int
    """Of the LAST sample, ns since 2000-01-01 on the device clock."""
    frame_type: int
    """Without the compression bit."""
    compressed: bool
    raw: np.ndarray
    """(n, 3) int64 as on the wire, deltas resolved (float32 bit patterns for GYRO
    compressed type 1); :func:`to_units` gives g or °/s."""

    @property
    def count(self) -> int:
        return len(self.raw)


# (measurement, compressed, frame type) -> (reference bytes or raw bytes per value, unit)
_FORMATS: dict[tuple[int, bool, int], tuple[int, str]] = {
    (Measurement.ACC, False, 0): (1, "mG"),
    (Measurement.ACC, False, 1): (2, "mG"),
    (Measurement.ACC, False, 2): (3, "mG"),
    (Measurement.ACC, True, 0): (2, "g*factor"),
    (Measurement.ACC, True, 1): (2, "mG*factor"),
    (Measurement.GYRO, True, 0): (2, "dps*factor"),
    (Measurement.GYRO, True, 1): (4, "float*factor"),
}
CHANNELS = 3


def decode_frame(data: bytes) -> DataFrame:
    """ACC or GYRO frame -> raw values; MalformedPacket for anything else."""
    if len(data) < HEADER.size:
        raise MalformedPacket(f"PMD frame: {len(data)} bytes, the header alone is {HEADER.size}")
    meas, ts, ftype = HEADER.unpack_from(data)
    meas &= MEASUREMENT_MASK
    compressed = bool(ftype & COMPRESSED_BIT)
    kind = ftype & 0x7F
    fmt = _FORMATS.get((meas, compressed, kind))
    if fmt is None:
        what = "compressed" if compressed else "raw"
        raise MalformedPacket(f"PMD frame: measurement {meas} {what} type {kind} not supported")
    body = bytes(data[HEADER.size :])
    size = fmt[0]
    if compressed:
        raw = decode_delta(body, channels=CHANNELS, ref_bytes=size, wrap32=size == 4)
    else:
        if len(body) == 0 or len(body) % (CHANNELS * size):
            raise MalformedPacket(
                f"PMD frame: {len(body)} content bytes, not whole {CHANNELS}x{size}-byte samples"
            )
        raw = _ints(body, size).reshape(-1, CHANNELS)
    return DataFrame(meas, ts, kind, compressed, raw)


def _ints(body: bytes, size: int) -> np.ndarray:
    b = np.frombuffer(body, dtype=np.uint8).reshape(-1, size).astype(np.int64)
    vals = np.zeros(len(b), dtype=np.int64)
    for k in range(size):
        vals |= b[:, k] << (8 * k)
    sign = 1 << (8 * size - 1)
    return (vals ^ sign) - sign


def decode_delta(body: bytes, *, channels: int, ref_bytes: int, wrap32: bool = False) -> np.ndarray:
    """Reference sample then ``[width][count]`` blocks of LSB-first signed deltas."""
    ref_len = channels * ref_bytes
    if len(body) < ref_len:
        raise MalformedPacket(f"PMD delta frame: {len(body)} bytes, reference needs {ref_len}")
    rows = [_ints(body[:ref_len], ref_bytes).tolist()]
    i = ref_len
    while i < len(body):
        if i + 2 > len(body):
            raise MalformedPacket(f"PMD delta frame: block header cut at byte {i}")
        width, count = body[i], body[i + 1]
        i += 2
        if not 1 <= width <= 32:
            raise MalformedPacket(f"PMD delta frame: bit width {width} at byte {i - 2}")
        nbytes = (width * count * channels + 7) // 8
        if i + nbytes > len(body):
            raise MalformedPacket(
                f"PMD delta frame: block of {count}x{width} bit needs {nbytes} bytes, "
                f"{len(body) - i} left"
            )
        bits = int.from_bytes(body[i : i + nbytes], "little")
        i += nbytes
        mask, sign = (1 << width) - 1, 1 << (width - 1)
        prev = rows[-1]
        for s in range(count):
            row = []
            for c in range(channels):
                d = (bits >> ((s * channels + c) * width)) & mask
                row.append(prev[c] + ((d ^ sign) - sign))
            rows.append(row)
            prev = row
    out = np.asarray(rows, dtype=np.int64)
    if wrap32:  # float bit patterns: sums wrap like 32-bit integers
        out = ((out + _INT32) % (1 << 32)) - _INT32
    elif np.any(np.abs(out) >= _INT32):
        raise MalformedPacket("PMD delta frame: values run beyond 32 bits")
    return out


def to_units(frame: DataFrame, *, factor: float = 1.0) -> np.ndarray:
    """(n, 3) float: g for ACC, °/s for GYRO (see the table in the module docstring)."""
    unit = _FORMATS[(frame.measurement, frame.compressed, frame.frame_type)][1]
    raw = frame.raw
    if unit == "mG":
        return raw * 1e-3
    if unit == "g*factor":
        return raw * float(factor)
    if unit == "mG*factor":
        return raw * (float(factor) * 1e-3)
    if unit == "dps*factor":
        return raw * float(factor)
    vals = (raw & 0xFFFFFFFF).astype(np.uint32).view(np.float32).astype(float) * float(factor)
    if not np.all(np.isfinite(vals)):
        raise MalformedPacket("PMD frame: GYRO float sample is not finite")
    return vals


# -- encoders (the twin and tests) -----------------------------------------
def delta_width(deltas: np.ndarray) -> int:
    """Smallest two's-complement width holding every delta (at least 1 bit)."""
    if deltas.size == 0:
        return 1
    lo, hi = int(deltas.min()), int(deltas.max())
    return max(1, (max(hi, -lo - 1)).bit_length() + 1)


def encode_delta(samples: np.ndarray, *, ref_bytes: int = 2, block: int = 255) -> bytes:
    """Inverse of :func:`decode_delta`: blocks of at most ``block`` deltas, each with the
    narrowest width that holds them."""
    s = np.asarray(samples, dtype=np.int64)
    if s.ndim != 2 or len(s) == 0:
        raise ValueError("encode_delta needs (n>=1, channels) samples")
    if not 1 <= block <= 255:
        raise ValueError("block must be 1..255 samples")
    out = bytearray()
    for v in s[0].tolist():
        out += (v % (1 << (8 * ref_bytes))).to_bytes(ref_bytes, "little")
    deltas = np.diff(s, axis=0)
    if ref_bytes == 4:  # float bit patterns: deltas wrap like the decoder's sums
        deltas = ((deltas + _INT32) % (1 << 32)) - _INT32
    for a in range(0, len(deltas), block):
        d = deltas[a : a + block]
        width = delta_width(d)
        if width > 32:
            raise ValueError("a delta needs more than 32 bits")
        bits = 0
        for k, v in enumerate(d.reshape(-1).tolist()):
            bits |= (v & ((1 << width) - 1)) << (k * width)
        out += bytes([width, len(d)]) + bits.to_bytes((width * d.size + 7) // 8, "little")
    return bytes(out)


def encode_frame(
    measurement: int,
    timestamp_ns: int,
    raw: np.ndarray,
    *,
    frame_type: int,
    compressed: bool,
    block: int = 255,
) -> bytes:
    """A data frame as a device sends it (``raw`` as :attr:`DataFrame.raw`)."""
    size, _ = _FORMATS[(measurement, compressed, frame_type)]
    head = HEADER.pack(measurement, timestamp_ns, frame_type | (COMPRESSED_BIT * compressed))
    if compressed:
        return head + encode_delta(raw, ref_bytes=size, block=block)
    r = np.asarray(raw, dtype=np.int64).reshape(-1)
    return head + b"".join((int(v) % (1 << 8 * size)).to_bytes(size, "little") for v in r)


def compressed_frame_bytes(n_samples: int, width: int, *, ref_bytes: int = 2) -> int:
    """Size of a one-block compressed frame of ``n_samples`` (reference included)."""
    deltas = n_samples - 1
    blocks = 2 + (width * deltas * CHANNELS + 7) // 8 if deltas else 0
    return HEADER.size + CHANNELS * ref_bytes + blocks
