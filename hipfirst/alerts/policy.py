"""Which alerts reach the lifter: one per rep per fault, a cooldown per fault, muted faults.

``decide`` returns None when the alert should be delivered, else the reason it is held back
("muted", "already said this rep", "cooldown"); the dispatcher records both.
"""

from __future__ import annotations

from collections.abc import Iterable

from analysis.results import FLAGS


class AlertPolicy:
    def __init__(self, *, cooldown_s: float = 2.0, muted: Iterable[str] = ()) -> None:
        if not cooldown_s >= 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        self.cooldown_s = cooldown_s
        """After a cue, the same fault stays quiet this long (fast reps would chatter)."""
        self.muted: set[str] = set()
        for flag in muted:
            self.mute(flag)
        self._said: set[tuple[int, str]] = set()
        self._last_s: dict[str, float] = {}

    def mute(self, flag: str) -> None:
        if flag not in FLAGS:
            raise ValueError(f"unknown fault {flag!r}; known: {', '.join(FLAGS)}")
        self.muted.add(flag)

    def unmute(self, flag: str) -> None:
        self.muted.discard(flag)

    def forget_rep(self, rep: int) -> None:
        """Rep ``rep`` was discarded: the next rep takes its number, and its cues are its own
        (a back-first cue on a rounding with no rep after it silenced the next rep's)."""
        self._said = {(r, f) for r, f in self._said if r != rep}

    def decide(self, *, flag: str, rep: int, time_s: float) -> str | None:
        """None if the alert at session time ``time_s`` should be delivered, else why not."""
        if flag in self.muted:
            return "muted"
        if (rep, flag) in self._said:
            return "already said this rep"
        last = self._last_s.get(flag)
        if last is not None and time_s - last < self.cooldown_s:
            return "cooldown"
        self._said = {(r, f) for r, f in self._said if r >= rep - 1}  # keep it small
        self._said.add((rep, flag))
        self._last_s[flag] = time_s
        return None
