"""Movella DOT codec.

Facts, with sources (no code copied):

- UUIDs ``1517xxxx-4947-11e9-8646-d663bd873d93``: configuration service 1000 (information
  1001, device control 1002, device report 1004), measurement service 2000 (control 2001,
  medium payload 2003), battery 3001 — Movella DOT BLE Services Specification; the same
  table is in ``njanssen/node-movella-dot`` ``constants.js`` and ``xsens/xsens_dot_server``.
- Measurement control message: ``[0x01 (measurement), 0x01 start / 0x00 stop, payload
  mode]`` (``xsens_dot_server`` ``bleHandler.js``).
- Payload mode "rate quantities" = 21 (with magnetometer: 20, as used in
  ``xsens_dot_server``): ``u32 timestamp µs`` (wraps at 2³²), acceleration float32 × 3 in
  m/s² (gravity included, calibrated), angular velocity float32 × 3 in °/s: 28 bytes on
  the medium-payload characteristic.
- Device control value: 32 bytes; the output rate is a u16 at byte 24 (read layout in
  ``node-movella-dot`` ``MovellaDot.js``). Writing it: byte 0 is the "visit index" bit
  mask choosing what to change; 0x10 selects the output rate (spec table; **checked only
  against the twin here — verify on a device**). Real-time rates: 1, 4, 10, 12, 15, 20,
  30, 60 Hz.
"""

from __future__ import annotations

import struct

import numpy as np

from firmware_bridge.profile.wire import MalformedPacket


def uuid(short: int) -> str:
    return f"1517{short:04x}-4947-11e9-8646-d663bd873d93"


CONFIG_SERVICE = uuid(0x1000)
INFORMATION = uuid(0x1001)
DEVICE_CONTROL = uuid(0x1002)
DEVICE_REPORT = uuid(0x1004)
MEASUREMENT_SERVICE = uuid(0x2000)
MEASUREMENT_CONTROL = uuid(0x2001)
MEDIUM_PAYLOAD = uuid(0x2003)
BATTERY = uuid(0x3001)

RATE_QUANTITIES = 21
RATES_HZ = (1, 4, 10, 12, 15, 20, 30, 60)
VISIT_OUTPUT_RATE = 0x10
CONTROL_LEN = 32
G_MS2 = 9.80665
TIME_MODULO_US = 1 << 32
_PAYLOAD = struct.Struct("<I6f")


def measurement(start: bool, mode: int = RATE_QUANTITIES) -> bytes:
    return bytes([0x01, 0x01 if start else 0x00, mode])


def parse_measurement(data: bytes) -> tuple[bool, int]:
    if len(data) != 3 or data[0] != 0x01 or data[1] not in (0, 1):
        raise MalformedPacket(f"DOT measurement control: {data.hex()}")
    return data[1] == 1, data[2]


def nearest_rate(rate_hz: float) -> int:
    return min(RATES_HZ, key=lambda r: abs(r - rate_hz))


def output_rate(control: bytes) -> int:
    if len(control) < 26:
        raise MalformedPacket(f"DOT device control: {len(control)} bytes, need 26")
    return int.from_bytes(control[24:26], "little")


def set_output_rate(control: bytes, rate_hz: int) -> bytes:
    """The device control value with the output rate changed (visit index 0x10)."""
    if len(control) < CONTROL_LEN:
        raise MalformedPacket(f"DOT device control: {len(control)} bytes, need {CONTROL_LEN}")
    out = bytearray(control[:CONTROL_LEN])
    out[0] = VISIT_OUTPUT_RATE
    out[24:26] = int(rate_hz).to_bytes(2, "little")
    return bytes(out)


def decode_rate_quantities(data: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    """(timestamp µs, acc (3,) in g, gyro (3,) in °/s) from one 28-byte payload."""
    if len(data) != _PAYLOAD.size:
        raise MalformedPacket(f"DOT rate quantities: {len(data)} bytes, expected 28")
    ts, *v = _PAYLOAD.unpack(data)
    vals = np.asarray(v, dtype=float)
    if not np.all(np.isfinite(vals)):
        raise MalformedPacket("DOT rate quantities: non-finite value")
    return ts, vals[:3] / G_MS2, vals[3:]


def encode_rate_quantities(ts_us: int, acc_g: np.ndarray, gyr_dps: np.ndarray) -> bytes:
    return _PAYLOAD.pack(int(ts_us) % TIME_MODULO_US, *(np.asarray(acc_g) * G_MS2), *gyr_dps)
