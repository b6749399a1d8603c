"""Movella DOT codec: pure, bounds-checked; raises only :class:`MalformedPacket`.

Facts, with sources (no code copied):

- *Movella DOT BLE Service Specification*, document XD0506P rev. C (July 2023), "the spec"
  below. UUIDs ``1517xxxx-4947-11e9-8646-d663bd873d93`` (§1.1, Table 2): configuration
  service 0x1000 (device info 0x1001, device control 0x1002, device report 0x1004),
  measurement service 0x2000 (control 0x2001, medium payload 0x2003), battery service
  0x3000 (battery 0x3001). Advertised name "Movella DOT" (firmware 2.x; "Xsens DOT" before,
  Table 4). All fields little-endian (§1.3). The same UUID table is in
  ``njanssen/node-movella-dot`` ``constants.js``.
- Measurement control (Table 13), 3 bytes: type 1 = measurement, action 1 start / 0 stop,
  payload mode; "rate quantities" = 21 (20 = with magnetometer).
- Medium payload (§3.3, Table 15): a 40-byte characteristic; "rate quantities" fills 28
  bytes (timestamp u32 µs, acceleration float32 × 3 in m/s² calibrated in sensor axes,
  angular velocity float32 × 3 in °/s, Table 17), trailing bytes are 0x00. The timestamp is
  the sensor's local µs clock and wraps at 2³² (user manual XD0502P, "SampleTimeFine").
- Device control (Table 7), 32 bytes: visit index bitmask (b0 identify, b1 power off, b2
  power saving timeout, b3 tag name, b4 output rate, b5 filter profile), identify, power
  options, four power-saving timeout bytes, tag length, tag (16), output rate u16 at byte
  24, filter profile index at 26, 5 reserved. Real-time rates 1, 4, 10, 12, 15, 20, 30,
  60 Hz (120 Hz is for recording only). ``node-movella-dot`` ``MovellaDot.js`` reads tag,
  rate and filter at the same offsets (8, 24, 26).
- Device report (§2.3, Table 9-11), 36 bytes: type 1 power off, 4 power saving, 5/6/7
  single/double/triple button click followed by length 4 and a u32 timestamp in **ms** of
  the sensor's local clock (at button down of the first click).
- Battery (Table 21): level % (u8), charging (u8, 0/1).
- The spec states no value of g; calibrated acceleration is physical, so g is standard
  gravity, 9.80665 m/s².
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

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
BATTERY_SERVICE = uuid(0x3000)
BATTERY = uuid(0x3001)

MEASUREMENT = 0x01
RATE_QUANTITIES = 21
RATES_HZ = (1, 4, 10, 12, 15, 20, 30, 60)
VISIT_IDENTIFY = 0x01
VISIT_TAG = 0x08
VISIT_OUTPUT_RATE = 0x10
VISIT_FILTER = 0x20
CONTROL_LEN = 32
MEDIUM_LEN = 40
REPORT_LEN = 36
G_MS2 = 9.80665
TIME_MODULO_US = 1 << 32

REPORT_POWER_OFF = 1
REPORT_POWER_SAVING = 4
REPORT_CLICKS = {5: 1, 6: 2, 7: 3}  # report type -> clicks

_RATE_QUANTITIES = struct.Struct("<I6f")  # 28 bytes
_CONTROL = struct.Struct("<BBBBBBBB16sHB5x")  # 32 bytes


# -- measurement control (0x2001) ------------------------------------------------
def measurement(start: bool, mode: int = RATE_QUANTITIES) -> bytes:
    return bytes([MEASUREMENT, 0x01 if start else 0x00, mode])


def parse_measurement(data: bytes) -> tuple[bool, int]:
    """(started, payload mode) from a 3-byte control value."""
    if len(data) != 3 or data[0] != MEASUREMENT or data[1] not in (0, 1):
        raise MalformedPacket(f"DOT measurement control: {bytes(data).hex() or 'empty'}")
    return data[1] == 1, data[2]


# -- device control (0x1002) -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeviceControl:
    """The 32-byte device control value (Table 7)."""

    visit_index: int = 0
    identify: int = 0
    power: int = 0
    timeouts: bytes = bytes([10, 0, 30, 0])
    """Power saving timeouts: advertising min, s; connected min, s."""
    tag: str = "Movella DOT"
    output_rate_hz: int = 60
    filter_index: int = 0

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceControl:
        if len(data) != CONTROL_LEN:
            raise MalformedPacket(f"DOT device control: {len(data)} bytes, need {CONTROL_LEN}")
        visit, ident, power, t0, t1, t2, t3, tag_len, tag, rate, filt = _CONTROL.unpack(data)
        if tag_len > 16:
            raise MalformedPacket(f"DOT device control: tag length {tag_len} > 16")
        return cls(
            visit_index=visit,
            identify=ident,
            power=power,
            timeouts=bytes([t0, t1, t2, t3]),
            tag=tag[:tag_len].decode("utf-8", errors="replace"),
            output_rate_hz=rate,
            filter_index=filt,
        )

    def __bytes__(self) -> bytes:
        tag = self.tag.encode()[:16]
        return _CONTROL.pack(self.visit_index, self.identify, self.power, *self.timeouts,
                             len(tag), tag, self.output_rate_hz, self.filter_index)  # fmt: skip


def set_output_rate(current: bytes, rate_hz: int) -> bytes:
    """The device control write that changes only the output rate (visit index b4)."""
    if rate_hz not in RATES_HZ:
        raise ValueError(f"DOT real-time output rate must be one of {RATES_HZ}, not {rate_hz}")
    ctl = DeviceControl.from_bytes(current)
    return bytes(
        DeviceControl(visit_index=VISIT_OUTPUT_RATE, identify=0, power=0,
                      timeouts=ctl.timeouts, tag=ctl.tag, output_rate_hz=rate_hz,
                      filter_index=ctl.filter_index)
    )  # fmt: skip


def output_rate(control: bytes) -> int:
    return DeviceControl.from_bytes(control).output_rate_hz


def nearest_rate(rate_hz: float) -> int:
    return min(RATES_HZ, key=lambda r: abs(r - rate_hz))


# -- medium payload (0x2003), "rate quantities" ----------------------------------
def decode_rate_quantities(data: bytes) -> tuple[int, np.ndarray, np.ndarray]:
    """(timestamp µs (wrapping), acc (3,) in g, gyro (3,) in °/s) from one notification.

    28 to 40 bytes: the device pads to the characteristic's 40; the padding is ignored."""
    if not _RATE_QUANTITIES.size <= len(data) <= MEDIUM_LEN:
        raise MalformedPacket(
            f"DOT rate quantities: {len(data)} bytes, expected 28 (padded up to 40)"
        )
    ts, *v = _RATE_QUANTITIES.unpack_from(data, 0)
    vals = np.asarray(v, dtype=float)
    if not np.all(np.isfinite(vals)):
        raise MalformedPacket("DOT rate quantities: non-finite value")
    return ts, vals[:3] / G_MS2, vals[3:]


def encode_rate_quantities(
    ts_us: int, acc_g: np.ndarray, gyr_dps: np.ndarray, *, padded: bool = True
) -> bytes:
    """One notification as the device sends it (zero-padded to 40 bytes)."""
    acc_ms2 = np.asarray(acc_g, float) * G_MS2
    out = _RATE_QUANTITIES.pack(int(ts_us) % TIME_MODULO_US, *acc_ms2, *np.asarray(gyr_dps, float))
    return out.ljust(MEDIUM_LEN, b"\x00") if padded else out


# -- device report (0x1004) -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Report:
    kind: str
    """``"power_off"``, ``"power_saving"`` or ``"button"``."""
    clicks: int = 0
    device_ms: int | None = None
    """Button reports: the sensor's local clock (ms, wraps at 2³²) at the first press."""


def decode_report(data: bytes) -> Report:
    if not 1 <= len(data) <= REPORT_LEN:
        raise MalformedPacket(f"DOT device report: {len(data)} bytes")
    kind = data[0]
    if kind == REPORT_POWER_OFF:
        return Report("power_off")
    if kind == REPORT_POWER_SAVING:
        return Report("power_saving")
    if kind in REPORT_CLICKS:
        if len(data) < 6 or data[1] != 4:
            raise MalformedPacket(f"DOT button report: {bytes(data[:6]).hex()}")
        return Report("button", REPORT_CLICKS[kind], int.from_bytes(data[2:6], "little"))
    raise MalformedPacket(f"DOT device report: unknown type {kind}")


def encode_button_report(clicks: int, device_ms: int) -> bytes:
    kind = {v: k for k, v in REPORT_CLICKS.items()}[clicks]
    body = bytes([kind, 4]) + (int(device_ms) % (1 << 32)).to_bytes(4, "little")
    return body.ljust(REPORT_LEN, b"\x00")


# -- battery (0x3001) --------------------------------------------------------------
def decode_battery(data: bytes) -> tuple[int, bool]:
    """(level %, charging)."""
    if len(data) != 2 or data[0] > 100 or data[1] > 1:
        raise MalformedPacket(f"DOT battery: {bytes(data).hex() or 'empty'}")
    return data[0], data[1] == 1
