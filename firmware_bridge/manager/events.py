"""What the manager hands to its consumers, and the per-sensor status it keeps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class SampleBlock:
    """Samples of one sensor on the session clock (seconds since the manager started)."""

    sensor: str
    time_s: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray | None
    device_time_s: np.ndarray
    """The sensor's own clock (unwrapped), for the recording's extra column."""
    arrival_s: float
    """Session-clock time the notification arrived (for latency figures)."""
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class GapEvent:
    sensor: str
    start_s: float
    duration_s: float
    samples_lost: int
    packets_lost: int | None
    cause: str

    def to_json(self) -> dict[str, object]:
        return {
            "sensor": self.sensor,
            "start_s": round(self.start_s, 4),
            "duration_s": round(self.duration_s, 4),
            "samples_lost": self.samples_lost,
            "packets_lost": self.packets_lost,
            "cause": self.cause,
        }


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """``kind``: connecting, connected, streaming, disconnected, retrying, failed, stopped."""

    sensor: str
    kind: str
    time_s: float
    message: str = ""


Event = SampleBlock | GapEvent | LinkEvent


@dataclass
class SensorStatus:
    """Live view of one sensor; the manager updates it in place (read, do not write)."""

    placement: str
    address: str
    name: str | None = None
    driver: str = ""
    state: str = "idle"
    connected: bool = False
    battery_pct: int | None = None
    rssi_dbm: int | None = None
    nominal_rate_hz: float | None = None
    rate_hz: float = 0.0
    """Samples per second received over the last few seconds (session clock)."""
    packets: int = 0
    samples: int = 0
    samples_lost: int = 0
    packets_lost: int = 0
    malformed: int = 0
    """IMU packets that were malformed and dropped."""
    malformed_events: int = 0
    """Other device reports (status, button events) that were malformed and dropped."""
    duplicates: int = 0
    connects: int = 0
    clock_drift_ppm: float | None = None
    clock_uncertainty_ms: float | None = None
    last_error: str | None = None
    _recent: list[tuple[float, int]] = field(default_factory=list, repr=False)

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.samples_lost
        return self.samples_lost / total if total else 0.0

    def note_samples(self, now_s: float, n: int, *, window_s: float = 2.0) -> None:
        self._recent.append((now_s, n))
        while self._recent and self._recent[0][0] < now_s - window_s:
            self._recent.pop(0)
        span = now_s - self._recent[0][0] if len(self._recent) > 1 else 0.0
        if span > 0:
            self.rate_hz = sum(k for _, k in self._recent[1:]) / span
