"""Per-fault buzz patterns, written to a sensor's control characteristic."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

PATTERNS: dict[str, tuple[int, tuple[int, ...]]] = {
    "lumbar_first": (90, (120, 80, 120)),
    "lumbar_flexion": (80, (400,)),
    "lumbar_extension": (80, (150, 100, 150, 100, 150)),
    "knee_dominant": (70, (250, 150, 250)),
    "torso_drift": (60, (600,)),
}
"""flag -> (intensity %, on/off durations in ms)."""


class Buzzer(Protocol):
    async def haptic(
        self, placement: str, *, intensity_pct: int, pattern_ms: tuple[int, ...]
    ) -> bool: ...


@dataclass(frozen=True)
class HapticDone:
    flag: str
    decided_s: float
    done_s: float
    ok: bool


class HapticOut:
    """Buzzes the sensor at ``placement`` (the lumbar one by default: the cue is felt where
    the fault is) through the connection manager."""

    def __init__(self, buzzer: Buzzer, *, placement: str = "lumbar") -> None:
        self.buzzer = buzzer
        self.placement = placement
        self.done: list[HapticDone] = []

    async def buzz(self, flag: str, decided_s: float) -> bool:
        intensity, pattern = PATTERNS[flag]
        ok = await self.buzzer.haptic(self.placement, intensity_pct=intensity, pattern_ms=pattern)
        self.done.append(HapticDone(flag, decided_s, time.perf_counter(), ok))
        return ok
