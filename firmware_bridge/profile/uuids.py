"""UUIDs of the hipfirst open sensor profile and the standard services it reuses.

All UUIDs are lower-case strings in the 8-4-4-4-12 form bleak uses. hipfirst's own
UUIDs share one random 128-bit base, ``6869xxxx-0aac-446a-8884-59668ae0fff1``
("hi" in the first two bytes), with a 16-bit number in the ``xxxx`` slot.
"""

from __future__ import annotations

BASE_UUID = "6869{:04x}-0aac-446a-8884-59668ae0fff1"


def hipfirst_uuid(short: int) -> str:
    """The full 128-bit UUID for a 16-bit number inside the hipfirst base."""
    if not 0 <= short <= 0xFFFF:
        raise ValueError(f"short UUID {short} outside 0..0xFFFF")
    return BASE_UUID.format(short)


SENSOR_SERVICE = hipfirst_uuid(0x0001)
"""Primary service of a hipfirst sensor; also advertised."""
IMU_DATA = hipfirst_uuid(0x0002)
"""Notify: batched IMU samples (:class:`~firmware_bridge.profile.imu_packet.ImuPacket`)."""
CONTROL = hipfirst_uuid(0x0003)
"""Write with response: one command per write (:mod:`firmware_bridge.profile.control`)."""
STATUS = hipfirst_uuid(0x0004)
"""Read + notify: device state on read, one ack per control write as notification."""


def sig_uuid(short: int) -> str:
    """A Bluetooth SIG 16-bit UUID expanded over the SIG base."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


BATTERY_SERVICE = sig_uuid(0x180F)
BATTERY_LEVEL = sig_uuid(0x2A19)
"""Read + notify, one byte, percent 0..100."""
DEVICE_INFORMATION_SERVICE = sig_uuid(0x180A)
MANUFACTURER_NAME = sig_uuid(0x2A29)
MODEL_NUMBER = sig_uuid(0x2A24)
FIRMWARE_REVISION = sig_uuid(0x2A26)
