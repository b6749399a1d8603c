"""Polar Measurement Data (PMD) codec: control point messages, settings, data frames.

Facts from Polar's open SDK (github.com/polarofficial/polar-ble-sdk, Android
``pmd/PmdControlPointCommand.kt``, ``PmdControlPointResponse.kt``, ``PmdSetting.kt``,
``PmdMeasurementType.kt``, ``model/AccData.kt``, ``model/GyrData.kt`` and their unit tests;
nothing copied but the byte layouts):

- Service ``FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8``; control point ``…5C81`` (read = features,
  write + indicate = requests/responses); data ``…5C82`` (notify).
- Request: ``[op][measurement type][settings…]``; op 1 = get settings, 2 = start, 3 = stop.
- Response: ``F0 [op][type][status][more][settings…]``; status 0 = success.
- Settings: ``[setting type][count][count × value]``, little-endian; type 0 sample rate
  (u16), 1 resolution (u16), 2 range (u16), 3 range in milli-units (u32), 4 channels (u8),
  5 factor (float32), 6 security (16 bytes).
- Data frame: ``[measurement type][timestamp u64 ns since 2000-01-01, of the LAST sample]
  [frame type]``; frame type bit 7 = delta-compressed, low bits = the format.
- Delta compression: a reference sample (int16 per channel), then blocks
  ``[bit width][sample count]`` followed by ``count × channels × width`` bits read LSB
  first, each a signed delta added to the previous sample. Compressed values times the
  FACTOR from the start response are in the unit (g for ACC, °/s for GYRO).
- Uncompressed ACC frame type 1: int16 triples in mG.

Every length is checked: a malformed frame raises :class:`MalformedPacket`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from firmware_bridge.profile.wire import MalformedPacket

SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

ACC = 2
GYRO = 5
OP_GET_SETTINGS = 1
OP_START = 2
OP_STOP = 3
RESPONSE = 0xF0
FEATURES = 0x0F

SAMPLE_RATE, RESOLUTION, RANGE, RANGE_MILLIUNIT, CHANNELS, FACTOR, SECURITY = range(7)
_FIELD = {SAMPLE_RATE: 2, RESOLUTION: 2, RANGE: 2, RANGE_MILLIUNIT: 4, CHANNELS: 1, FACTOR: 4,
          SECURITY: 16}  # fmt: skip
EPOCH_2000_UNIX_S = 946684800


# -- settings ---------------------------------------------------------------
def encode_settings(settings: dict[int, list[float]]) -> bytes:
    out = bytearray()
    for kind, values in settings.items():
        out += bytes([kind, len(values)])
        for v in values:
            if kind == FACTOR:
                out += struct.pack("<f", v)
            else:
                out += int(v).to_bytes(_FIELD[kind], "little")
    return bytes(out)


def decode_settings(data: bytes) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise MalformedPacket("PMD settings: truncated setting header")
        kind, count = data[i], data[i + 1]
        i += 2
        if kind not in _FIELD:
            raise MalformedPacket(f"PMD settings: unknown setting type {kind}")
        size = _FIELD[kind]
        if i + count * size > len(data):
            raise MalformedPacket(f"PMD settings: type {kind} needs {count * size} bytes")
        vals: list[float] = []
        for _ in range(count):
            raw = data[i : i + size]
            vals.append(struct.unpack("<f", raw)[0] if kind == FACTOR
                        else float(int.from_bytes(raw, "little")))  # fmt: skip
            i += size
        out[kind] = vals
    return out


@dataclass(frozen=True)
class Response:
    op: int
    measurement: int
    status: int
    more: bool
    settings: dict[int, list[float]]

    @classmethod
    def from_bytes(cls, data: bytes) -> Response:
        if len(data) < 4 or data[0] != RESPONSE:
            raise MalformedPacket(f"PMD response: not a response ({data[:4].hex()})")
        op, meas, status = data[1], data[2], data[3]
        more = len(data) > 4 and data[4] != 0
        settings = decode_settings(bytes(data[5:])) if status == 0 and len(data) > 5 else {}
        return cls(op, meas, status, more, settings)

    def __bytes__(self) -> bytes:
        return bytes([RESPONSE, self.op, self.measurement, self.status, int(self.more)]) + (
            encode_settings(self.settings)
        )


def request(op: int, measurement: int, settings: dict[int, list[float]] | None = None) -> bytes:
    return bytes([op, measurement]) + encode_settings(settings or {})


def features(data: bytes) -> set[int]:
    """Measurement types a device offers, from the control point's read value."""
    if len(data) < 2 or data[0] != FEATURES:
        raise MalformedPacket(f"PMD features: unexpected value {data[:4].hex()}")
    mask = int.from_bytes(data[1:], "little")
    return {b for b in range(8 * (len(data) - 1)) if mask >> b & 1}


def encode_features(types: set[int]) -> bytes:
    mask = sum(1 << t for t in types)
    return bytes([FEATURES]) + mask.to_bytes(2, "little")


# -- data frames ------------------------------------------------------------
@dataclass(frozen=True)
class DataFrame:
    measurement: int
    timestamp_ns: int
    """Of the last sample, ns since 2000-01-01."""
    frame_type: int
    compressed: bool
    samples: np.ndarray
    """(n, 3) raw integers (deltas resolved); multiply by the factor (compressed) or read
    as mG (uncompressed ACC type 1)."""


HEADER = struct.Struct("<BQB")


def decode_frame(data: bytes) -> DataFrame:
    if len(data) < HEADER.size + 1:
        raise MalformedPacket(f"PMD frame: {len(data)} bytes, header alone is {HEADER.size}")
    meas, ts, ftype = HEADER.unpack_from(data)
    meas &= 0x3F
    compressed = bool(ftype & 0x80)
    kind = ftype & 0x7F
    body = bytes(data[HEADER.size :])
    if meas not in (ACC, GYRO):
        raise MalformedPacket(f"PMD frame: measurement type {meas} is not ACC or GYRO")
    if compressed:
        if kind not in (0, 1) or (meas == GYRO and kind == 1):  # GYRO type 1: float reference
            raise MalformedPacket(f"PMD frame: compressed frame type {kind} not supported")
        samples = decode_delta(body, channels=3, ref_bytes=2)
    else:
        if meas != ACC or kind not in (0, 1, 2):
            raise MalformedPacket(f"PMD frame: raw frame type {kind} not supported")
        width = {0: 1, 1: 2, 2: 3}[kind]
        whole = len(body) // (3 * width) * 3 * width  # a torn last sample is ignored (SDK)
        raw = np.frombuffer(body[:whole], dtype=np.uint8).reshape(-1, width)
        vals = np.zeros(len(raw), dtype=np.int64)
        for b in range(width):
            vals |= raw[:, b].astype(np.int64) << (8 * b)
        sign = 1 << (8 * width - 1)
        samples = ((vals ^ sign) - sign).reshape(-1, 3)
    if len(samples) == 0:
        raise MalformedPacket("PMD frame: no samples")
    return DataFrame(meas, ts, ftype, compressed, samples)


def decode_delta(body: bytes, *, channels: int, ref_bytes: int) -> np.ndarray:
    ref_len = channels * ref_bytes
    if len(body) < ref_len:
        raise MalformedPacket("PMD delta frame: shorter than its reference sample")
    ref = [int.from_bytes(body[i * ref_bytes : (i + 1) * ref_bytes], "little", signed=True)
           for i in range(channels)]  # fmt: skip
    out = [ref]
    i = ref_len
    while i < len(body):
        if i + 2 > len(body):
            raise MalformedPacket("PMD delta frame: truncated block header")
        width, count = body[i], body[i + 1]
        i += 2
        if not 1 <= width <= 32:
            raise MalformedPacket(f"PMD delta frame: bit width {width}")
        nbits = width * count * channels
        nbytes = (nbits + 7) // 8
        short = i + nbytes - len(body)
        # The last block may lack its final byte: Polar's SDK reads the missing bits as 0
        # and its own test frames (AccDataTest/GyrDataTest, compressed type 0) are like
        # that. One byte, at the very end, and no more.
        if short > 1:
            raise MalformedPacket(f"PMD delta frame: block needs {nbytes} bytes")
        bits = int.from_bytes(body[i : i + nbytes], "little")
        i += nbytes
        mask, sign = (1 << width) - 1, 1 << (width - 1)
        prev = out[-1]
        for s in range(count):
            row = []
            for c in range(channels):
                v = (bits >> ((s * channels + c) * width)) & mask
                row.append(prev[c] + ((v ^ sign) - sign))
            out.append(row)
            prev = row
    return np.asarray(out, dtype=np.int64)


def encode_delta(samples: np.ndarray, *, block: int = 255) -> bytes:
    """Inverse of :func:`decode_delta` (int16 reference; widths chosen per block)."""
    s = np.asarray(samples, dtype=np.int64)
    out = bytearray(b"".join(int(v).to_bytes(2, "little", signed=True) for v in s[0]))
    deltas = np.diff(s, axis=0)
    for a in range(0, len(deltas), block):
        d = deltas[a : a + block]
        m = int(np.max(np.abs(d))) if len(d) else 0
        width = max(1, (2 * m).bit_length() if m else 1)
        while not (-(1 << (width - 1)) <= d.min() and d.max() < (1 << (width - 1))):
            width += 1
        bits = 0
        for k, v in enumerate(d.reshape(-1).tolist()):
            bits |= (v & ((1 << width) - 1)) << (k * width)
        nbytes = (width * d.size + 7) // 8
        out += bytes([width, len(d)]) + bits.to_bytes(nbytes, "little")
    return bytes(out)


def encode_frame(measurement: int, timestamp_ns: int, samples: np.ndarray) -> bytes:
    """A delta-compressed frame (type 0) as a Verity Sense sends it."""
    return HEADER.pack(measurement, timestamp_ns, 0x80) + encode_delta(samples)
