"""Per-fault buzz patterns, written to a sensor's control characteristic.

The write goes through :meth:`firmware_bridge.manager.SensorManager.haptic` (any object with
that method will do): it finds the :class:`SensorLink` for the placement, and its driver
encodes the profile's HAPTIC command (``firmware_bridge.profile.control.Haptic``: opcode,
intensity %, up to 8 on/off durations in ms) and writes it to the control characteristic
through the link's bleak client, then waits for the sensor's ack. A sensor that is not
connected, not streaming or has no motor gives False, never an exception.

Buzzes are written one at a time; one that could not start within ``stale_after_s`` of its
decision (the link was busy) is skipped, not felt late on the next rep.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

PATTERNS: dict[str, tuple[int, tuple[int, ...]]] = {
    "lumbar_first": (90, (120, 80, 120)),
    "lumbar_flexion": (80, (400,)),
    "lumbar_extension": (80, (150, 100, 150, 100, 150)),
    "knee_dominant": (70, (250, 150, 250)),
    "torso_drift": (60, (600,)),
}
"""flag -> (intensity %, on/off durations in ms, starting with on). Each fault has its own
rhythm: two short = back first, one long = rounding, three short = arching, two long =
knees, one very long and soft = torso drift."""


class Buzzer(Protocol):
    async def haptic(
        self, placement: str, *, intensity_pct: int, pattern_ms: tuple[int, ...]
    ) -> bool: ...


@dataclass(frozen=True)
class HapticDone:
    flag: str
    decided_s: float
    """``time.perf_counter()`` at the alert decision."""
    done_s: float
    """...when the write was acknowledged by the sensor (or given up)."""
    ok: bool
    why_not: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.done_s - self.decided_s) * 1000.0


class HapticOut:
    """Buzzes the sensor at ``placement``: the lumbar one by default, so the cue is felt
    where the fault is."""

    def __init__(
        self, buzzer: Buzzer, *, placement: str = "lumbar", stale_after_s: float = 1.0
    ) -> None:
        self.buzzer = buzzer
        self.placement = placement
        self.stale_after_s = stale_after_s
        self.done: list[HapticDone] = []
        self._lock = asyncio.Lock()

    async def buzz(self, flag: str, decided_s: float) -> bool:
        intensity, pattern = PATTERNS[flag]
        async with self._lock:
            if time.perf_counter() - decided_s > self.stale_after_s:
                return self._note(flag, decided_s, False, "stale: the link was busy")
            try:
                ok = await self.buzzer.haptic(
                    self.placement, intensity_pct=intensity, pattern_ms=pattern
                )
            except Exception as exc:  # a buzz must never take the live set down
                log.warning("alerts: buzz on %s failed: %s", self.placement, exc)
                return self._note(flag, decided_s, False, f"failed: {exc}")
        why = None if ok else f"the {self.placement} sensor did not buzz (absent or no motor)"
        return self._note(flag, decided_s, ok, why)

    def _note(self, flag: str, decided_s: float, ok: bool, why: str | None) -> bool:
        self.done.append(HapticDone(flag, decided_s, time.perf_counter(), ok, why))
        if why:
            log.info("alerts: no buzz for %s: %s", flag, why)
        return ok
