"""Connection manager: drivers, per-sensor links (connect, stream, align, reconnect), scan."""

from firmware_bridge.manager.driver import Frame, Probe, SensorDriver, StreamInfo
from firmware_bridge.manager.events import Event, GapEvent, LinkEvent, SampleBlock, SensorStatus
from firmware_bridge.manager.hipfirst_driver import HipfirstDriver
from firmware_bridge.manager.link import LinkSettings, SensorLink
from firmware_bridge.manager.manager import SensorManager, Target

__all__ = [
    "Event",
    "Frame",
    "GapEvent",
    "HipfirstDriver",
    "LinkEvent",
    "LinkSettings",
    "Probe",
    "SampleBlock",
    "SensorDriver",
    "SensorLink",
    "SensorManager",
    "SensorStatus",
    "StreamInfo",
    "Target",
]
