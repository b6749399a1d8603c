"""Per-sensor packet bookkeeping: lost packets and samples, duplicates, malformed bytes.

Works on device time (unwrapped µs) and the packet counter; never raises on odd input, it
counts it. A gap is found two ways: the counter skipped (packets lost on the air) or the
device time jumped past the next expected sample (the device dropped samples itself, or the
link was down). Both give the number of samples lost from the device time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_bridge.profile.unwrap import Unwrapper


@dataclass(frozen=True, slots=True)
class Gap:
    """Samples that never arrived. Times are device µs (unwrapped); the manager adds host time."""

    start_device_us: int
    """Device time of the first missing sample."""
    duration_us: int
    samples_lost: int
    packets_lost: int | None
    """From the packet counter; ``None`` when the device has none or it restarted."""
    cause: str
    """``"lost_packets"``, ``"device_overflow"`` or ``"disconnect"``."""


@dataclass
class LinkStats:
    """Counters of one sensor's stream since the session started."""

    packets: int = 0
    samples: int = 0
    packets_lost: int = 0
    samples_lost: int = 0
    duplicates: int = 0
    malformed: int = 0
    backfill_dropped: int = 0
    gaps: list[Gap] = field(default_factory=list)

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.samples_lost
        return self.samples_lost / total if total else 0.0


JITTER_EARLY = 1.5
JITTER_LATE = 2.5
"""The packet right after the last one by its counter, with no gap flag, whose first sample
is at most this many periods early or late, is on time: its stamp jitters or drifts (a
firmware re-aligning its sample clock moves it by up to two periods), nothing was lost."""


@dataclass(frozen=True, slots=True)
class Verdict:
    accept: bool
    """False for duplicates and packets from before what was already delivered."""
    gap: Gap | None = None
    restarted: bool = False
    """The device clock went back: it rebooted; clock alignment must start over."""


class GapTracker:
    """Checks each packet against the previous one; keeps :class:`LinkStats`."""

    def __init__(self, *, seq_modulo: int | None = 1 << 16) -> None:
        self.stats = LinkStats()
        self._seq = Unwrapper(seq_modulo) if seq_modulo else None
        self._last_seq: int | None = None
        self._next_us: float | None = None  # expected device time of the next sample
        self._period_us: float | None = None
        self._after_disconnect = False

    def malformed(self) -> None:
        self.stats.malformed += 1

    def restarted(self) -> None:
        """The device clock restarted (the caller saw it): forget where the stream was, keep
        the counters. Without this, a sensor that rebooted within 10 s of device time had
        every packet taken for a duplicate until its new clock passed the old one."""
        self._next_us = None
        self._period_us = None
        self._last_seq = None
        if self._seq is not None:
            self._seq.reset()

    def next_by_counter(self, seq: int | None) -> bool:
        """``seq`` (raw) is the one right after the last accepted packet's."""
        if self._seq is None or seq is None or self._last_seq is None:
            return False
        return (self._last_seq + 1 - seq) % self._seq.modulo == 0

    def disconnected(self) -> None:
        """The link dropped: the next gap (if any) is blamed on it."""
        self._after_disconnect = True

    def check(
        self,
        *,
        t0_us: int,
        period_us: float,
        count: int,
        seq: int | None = None,
        gap_before: bool = False,
    ) -> Verdict:
        """One decoded packet: first-sample device time (unwrapped µs), period, count, counter."""
        useq = self._seq(seq) if (self._seq is not None and seq is not None) else None
        restarted = False
        gap: Gap | None = None
        if self._next_us is not None and self._period_us is not None:
            late_us = t0_us - self._next_us
            p = min(period_us, self._period_us)
            half = 0.5 * p
            on_time = -JITTER_EARLY * p < late_us < JITTER_LATE * p
            if on_time and not gap_before and self.next_by_counter(seq):
                # the very next packet, nothing lost by the device's own account: its time
                # stamp jitters (a firmware stamping FIFO bursts back from "now"), and an early
                # one is not a duplicate (the link moves it after the last sample handed out)
                late_us = 0.0
            if late_us < -half:
                if late_us < -max(10e6, 100 * period_us):  # far back in time: the device rebooted
                    restarted = True
                else:
                    self.stats.duplicates += 1
                    return Verdict(accept=False)
            elif late_us > half:
                lost = round(late_us / self._period_us)
                packets = None
                if useq is not None and self._last_seq is not None and not restarted:
                    packets = max(0, useq - self._last_seq - 1)
                cause = (
                    "disconnect"
                    if self._after_disconnect
                    else "device_overflow"
                    if gap_before or not packets
                    else "lost_packets"
                )
                gap = Gap(
                    start_device_us=round(self._next_us),
                    duration_us=round(late_us),
                    samples_lost=lost,
                    packets_lost=packets,
                    cause=cause,
                )
                self.stats.samples_lost += lost
                self.stats.packets_lost += packets or 0
                self.stats.gaps.append(gap)
        if restarted and self._seq is not None:
            self._seq.reset()
            useq = self._seq(seq) if seq is not None else None
        self._after_disconnect = False
        self._last_seq = useq
        self._period_us = period_us
        self._next_us = t0_us + count * period_us
        self.stats.packets += 1
        self.stats.samples += count
        return Verdict(accept=True, gap=gap, restarted=restarted)
