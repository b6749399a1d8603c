"""What the connection manager needs from a sensor type: a driver.

A driver knows one device family's GATT layout, how to start and stop its stream and how
to decode one notification into a :class:`Frame`. It never owns the connection: the manager
connects, reconnects and keeps time; the driver only talks over the client it is handed.
hipfirst's own profile (:mod:`firmware_bridge.manager.hipfirst_driver`) is the first driver;
drivers for other devices (``firmware_bridge.devices``) subclass :class:`SensorDriver`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from bleak import BleakClient

from firmware_bridge.profile import uuids

OnData = Callable[[bytes], None]
"""Called from the notification callback with the raw bytes; must only enqueue."""
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded notification: consecutive samples of one sensor."""

    t0_us: int
    """Device time of the first sample in µs, wrapping at the driver's ``time_modulo_us``."""
    period_us: float
    acc_g: np.ndarray
    """(n, 3) in g, gravity included, sensor axes."""
    gyr_dps: np.ndarray | None
    """(n, 3) in °/s, or ``None`` for accelerometer-only devices."""
    seq: int | None = None
    """Packet counter wrapping at ``seq_modulo``, or ``None`` if the device has none."""
    gap_before: bool = False
    """The device says it lost samples before this frame."""
    backfill: bool = False
    """A re-sent frame (not live)."""

    @property
    def count(self) -> int:
        return len(self.acc_g)

    @property
    def last_offset_us(self) -> float:
        """Device time of the last sample relative to ``t0_us``; the frame cannot have been
        sent before then, so it is the reference for clock alignment."""
        return (self.count - 1) * self.period_us


@dataclass(frozen=True, slots=True)
class StreamInfo:
    period_us: float
    accel_only: bool
    device_time_us: int | None = None
    """Full device clock at start (high bits for unwrapping), if the device tells it."""
    firmware: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Probe:
    """A time probe: host clock before the write, device stamp (µs, wrapping), host at the ack."""

    host_sent_s: float
    device_us: int
    host_received_s: float


class SensorDriver(ABC):
    kind: ClassVar[str]
    seq_modulo: ClassVar[int | None] = None
    time_modulo_us: ClassVar[int | None] = None
    supports_probe: ClassVar[bool] = False
    clock_max_drift_ppm: ClassVar[float] = 1000.0
    """How far the device's sample clock may run from the host's. Crystal clocks are within
    100 ppm; devices that number their samples without a clock (no timestamps) may be off by
    their RC oscillator's error, a few per mille."""

    @classmethod
    @abstractmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        """Does an advertisement belong to this device family?"""

    @classmethod
    def advertised_placement(cls, name: str | None) -> str | None:
        return None

    @property
    def malformed_events(self) -> int:
        """Device reports other than samples (status, button events) that were malformed
        and dropped; shown in ``SensorStatus.malformed_events`` and the sidecar."""
        return 0

    @abstractmethod
    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        """Subscribe and start streaming; BridgeError (with advice) if the device refuses."""

    @abstractmethod
    async def stop(self, client: BleakClient) -> None:
        """Stop streaming (best effort; the link may already be gone)."""

    @abstractmethod
    def decode(self, data: bytes) -> Frame | None:
        """Decode one notification; raise ``MalformedPacket`` (a ValueError) for bad bytes.
        ``None``: nothing to hand over yet (a driver pairing separate streams holds it)."""

    async def probe(self, client: BleakClient, clock: Clock) -> Probe | None:
        """One time probe, for drivers whose device supports it."""
        return None

    async def haptic(
        self, client: BleakClient, *, intensity_pct: int, pattern_ms: tuple[int, ...]
    ) -> bool:
        """Buzz the device (on, off, on... in ms); False if it has no vibration motor."""
        return False

    async def read_battery(self, client: BleakClient) -> int | None:
        """Battery percent from the standard Battery Service, if present."""
        for service in client.services:
            char = service.get_characteristic(uuids.BATTERY_LEVEL)
            if char is not None:
                raw = await client.read_gatt_char(char)
                return int(raw[0]) if len(raw) == 1 and raw[0] <= 100 else None
        return None
