"""hipfirst's open GATT profile for DIY sensors: UUIDs and byte codecs (no I/O).

See ``firmware_bridge/PROFILE.md`` for the specification. Every codec is a frozen
dataclass with ``from_bytes`` and ``__bytes__``, shared by the virtual sensor and
the host; decoding untrusted bytes raises only :class:`MalformedPacket`.
"""

from firmware_bridge.profile.control import (
    Backfill,
    Command,
    Haptic,
    SetPlacement,
    SetRanges,
    SetRate,
    StartStream,
    StopStream,
    TimeSync,
    decode_command,
)
from firmware_bridge.profile.imu_packet import ImuPacket, max_samples, pack_samples
from firmware_bridge.profile.naming import SensorName, local_name, parse_local_name
from firmware_bridge.profile.status import Ack, DeviceEvent, DeviceState, Result, decode_status
from firmware_bridge.profile.unwrap import Unwrapper
from firmware_bridge.profile.wire import MalformedPacket

__all__ = [
    "Ack",
    "Backfill",
    "Command",
    "DeviceEvent",
    "DeviceState",
    "Haptic",
    "ImuPacket",
    "MalformedPacket",
    "Result",
    "SensorName",
    "SetPlacement",
    "SetRanges",
    "SetRate",
    "StartStream",
    "StopStream",
    "TimeSync",
    "Unwrapper",
    "decode_command",
    "decode_status",
    "local_name",
    "max_samples",
    "pack_samples",
    "parse_local_name",
]
