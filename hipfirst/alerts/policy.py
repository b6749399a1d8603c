"""Which alerts reach the lifter: one per rep per fault, a cooldown, muted faults."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AlertPolicy:
    cooldown_s: float = 2.0
    """After a cue, the same fault stays quiet this long (fast reps would chatter)."""
    muted: frozenset[str] = frozenset()
    _said: set[tuple[int, str]] = field(default_factory=set)
    _last: dict[str, float] = field(default_factory=dict)

    def decide(self, *, flag: str, rep: int, time_s: float) -> str | None:
        """None if the alert should be delivered, else why not."""
        if flag in self.muted:
            return "muted"
        if (rep, flag) in self._said:
            return "already said this rep"
        last = self._last.get(flag)
        if last is not None and time_s - last < self.cooldown_s:
            return "cooldown"
        self._said.add((rep, flag))
        self._last[flag] = time_s
        return None
