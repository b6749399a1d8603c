"""Quiet mode for scripts: one plain line per rep, alert, prompt, gap and link change.

No escape codes, no redraws: every line is final, starts with the session time and is
flushed at once, so ``hipfirst monitor --quiet | grep ALERT`` works live. Formats::

    "   6.00 s  rep 1: hip 70°, lumbar peak 8°: lumbar_first (started from the lower back)"
    "   4.00 s  rep 1: ALERT lumbar_first: hips back"
    "   2.09 s  say: Neutral captured."
    "   9.10 s  thigh: gap of 12 samples (packet loss)"
    "   0.40 s  sacrum: streaming"
"""

from __future__ import annotations

import sys
from typing import TextIO

from analysis.results import LiveEvent
from analysis.stream import LatestAngles
from firmware_bridge.manager import GapEvent, LinkEvent
from hipfirst.live.session import LiveHooks
from hipfirst.report.words import rep_unchecked, verdict

LINK_KINDS = ("streaming", "disconnected", "retrying", "failed")


def _deg(v: float | None) -> str:
    return "?" if v is None else f"{v:.0f}°"


class QuietLines(LiveHooks):
    def __init__(self, *, out: TextIO | None = None) -> None:
        self.out = out
        self.time_s = 0.0
        """Newest session time seen (stamps prompts, which carry no time of their own)."""

    def _line(self, time_s: float, text: str) -> None:
        out = self.out or sys.stdout
        out.write(f"{time_s:8.2f} s  {text}\n")
        out.flush()

    def say(self, text: str) -> None:
        """Prompts from ``SetFlow`` / ``HoldCoach``."""
        self._line(self.time_s, f"say: {text}")

    def on_angles(self, latest: LatestAngles) -> None:
        self.time_s = latest.time_s

    def on_event(self, event: LiveEvent) -> None:
        self.time_s = max(self.time_s, event.time_s)
        if event.kind == "alert":
            self._line(event.time_s, f"rep {event.rep_index}: ALERT {event.flag}: {event.message}")
        elif event.kind == "rep_end" and event.rep is not None:
            r = event.rep
            missing = rep_unchecked(r)  # an angle lost mid-rep, or a sensor not worn
            flags = ", ".join(r.flags) or ("ok" if not missing else "")
            words = f" ({verdict(r)})" if r.flags else ""
            if not r.flags and missing:
                words = verdict(r, not_checked=missing)
            self._line(
                event.time_s,
                f"rep {r.index}: hip {_deg(r.hip_rom_deg)}, lumbar peak "
                f"{_deg(r.lumbar_peak_deg)}: {flags}{words}",
            )

    def on_link(self, event: LinkEvent) -> None:
        if event.kind in LINK_KINDS:
            extra = f" ({event.message})" if event.message else ""
            self._line(event.time_s, f"{event.sensor}: {event.kind}{extra}")

    def on_gap(self, gap: GapEvent) -> None:
        self._line(gap.start_s, f"{gap.sensor}: gap of {gap.samples_lost} samples ({gap.cause})")
