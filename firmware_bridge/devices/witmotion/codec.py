"""WitMotion BLE codec (BWT901BLECL / WT901BLE, "Bluetooth 5.0 communication protocol").

Pure and bounds-checked: raises only :class:`MalformedPacket`. Facts, with sources (no
code copied):

- Service ``0000ffe5-0000-1000-8000-00805f9a34fb``, notify ``…ffe4…``, write ``…ffe9…``
  (WitMotion BLE 5.0 protocol, wit-motion.gitbook.io "bluetooth-5.0-communication-protocol").
  The base ends in ``9a34fb``, not the Bluetooth base ``9b34fb``: full 128-bit UUIDs only.
- Data frame, 20 bytes (WT901BLECL datasheet v20-0707 §6.1.1): ``55 61`` then int16 LE
  acc x,y,z, gyro x,y,z, angle roll,pitch,yaw; value = raw / 32768 × full scale with
  ±16 g, ±2000 °/s, ±180°. No timestamp, no sequence number, no checksum.
- Register read (datasheet §6.1.2): write ``FF AA 27 <reg> 00``; the sensor notifies
  ``55 71 <reg lo> <reg hi>`` and eight int16 LE registers starting at ``reg`` (20 bytes).
- Register write: ``FF AA <reg> <lo> <hi>``; newer firmware first wants the unlock
  ``FF AA 69 88 B5`` (valid 10 s) — WIT standard protocol, e.g. the WTVB01-BT50 manual §5.3.
  Output rate register 0x03 (RRATE), WIT standard codes: 0x01..0x07 = 0.2..20 Hz, 0x08 =
  50 Hz, 0x09 = 100 Hz, 0x0B = 200 Hz. Some BLE models number differently, which is why the
  driver reads the register back.
"""

from __future__ import annotations

import struct

import numpy as np

from firmware_bridge.profile.wire import MalformedPacket

SERVICE = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE = "0000ffe9-0000-1000-8000-00805f9a34fb"

REG_RATE = 0x03
RATE_CODES: dict[int, float] = {0x01: 0.2, 0x02: 0.5, 0x03: 1, 0x04: 2, 0x05: 5, 0x06: 10,
                                0x07: 20, 0x08: 50, 0x09: 100, 0x0B: 200}  # fmt: skip
ACC_FS_G = 16.0
GYR_FS_DPS = 2000.0
ANGLE_FS_DEG = 180.0
FRAME = 20
_DATA = struct.Struct("<2x9h")


UNLOCK = bytes.fromhex("ffaa6988b5")


def write_register(reg: int, value: int) -> bytes:
    return bytes([0xFF, 0xAA, reg]) + int(value).to_bytes(2, "little")


def set_rate(rate_hz: float) -> tuple[bytes, int, float]:
    """Command for the supported rate nearest ``rate_hz`` (≥ 50 Hz): (bytes, code, rate)."""
    code, rate = min(((c, r) for c, r in RATE_CODES.items() if r >= 50),
                     key=lambda cr: abs(cr[1] - rate_hz))  # fmt: skip
    return write_register(REG_RATE, code), code, rate


def read_register(reg: int) -> bytes:
    return bytes([0xFF, 0xAA, 0x27, reg, 0x00])


def is_register_reply(data: bytes) -> bool:
    return len(data) >= 2 and data[0] == 0x55 and data[1] == 0x71


def decode_register_reply(data: bytes) -> tuple[int, list[int]]:
    if len(data) != FRAME or not is_register_reply(data):
        raise MalformedPacket(f"WitMotion register reply: {len(data)} bytes, {data[:2].hex()}")
    reg = int.from_bytes(data[2:4], "little")
    return reg, list(struct.unpack("<8h", data[4:20]))


def encode_register_reply(reg: int, values: list[int]) -> bytes:
    vals = (list(values) + [0] * 8)[:8]
    return bytes([0x55, 0x71]) + reg.to_bytes(2, "little") + struct.pack("<8h", *vals)


def decode_data(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One notification of k ≥ 1 data frames -> acc (k,3) g, gyro (k,3) °/s, angles (k,3) °."""
    if len(data) == 0 or len(data) % FRAME:
        raise MalformedPacket(f"WitMotion data: {len(data)} bytes is not whole 20-byte frames")
    rows = []
    for i in range(0, len(data), FRAME):
        if data[i] != 0x55 or data[i + 1] != 0x61:
            raise MalformedPacket(f"WitMotion data: frame header {data[i : i + 2].hex()}")
        rows.append(_DATA.unpack_from(data, i))
    raw = np.asarray(rows, dtype=float) / 32768.0
    return raw[:, 0:3] * ACC_FS_G, raw[:, 3:6] * GYR_FS_DPS, raw[:, 6:9] * ANGLE_FS_DEG


def encode_data(
    acc_g: np.ndarray, gyr_dps: np.ndarray, angles_deg: np.ndarray | None = None
) -> bytes:
    ang = np.zeros_like(acc_g) if angles_deg is None else angles_deg
    out = bytearray()
    for a, g, e in zip(acc_g, gyr_dps, ang, strict=True):
        vals = np.concatenate([a / ACC_FS_G, g / GYR_FS_DPS, e / ANGLE_FS_DEG]) * 32768.0
        out += b"\x55\x61" + struct.pack("<9h", *np.clip(np.rint(vals), -32768, 32767).astype(int))
    return bytes(out)
