"""Scan, assign placements and build manager targets (shared by monitor and demo)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from firmware_bridge.assignments import (
    DEFAULT_PLACEMENTS,
    Candidate,
    assign,
    load_pinned,
    parse_assign,
    pins_from,
    save_pinned,
)
from firmware_bridge.manager import Target
from firmware_bridge.manager.scan import FoundSensor, scan


def console_prompt(placement: str, free: Sequence[Candidate]) -> Candidate | None:
    """Ask on the terminal which sensor is worn at ``placement``."""
    print(f"Which sensor is on the {placement}?")
    for i, c in enumerate(free, 1):
        rssi = "" if c.rssi_dbm is None else f"  {c.rssi_dbm} dBm"
        print(f"  {i}) {c.name or '?'}  {c.address}{rssi}")
    answer = input("number (empty = none): ").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(free):
        return free[int(answer) - 1]
    return None


async def find_targets(
    *,
    assign_text: str | None,
    placements: Sequence[str] = DEFAULT_PLACEMENTS,
    scan_timeout_s: float = 5.0,
    scanner_kwargs: dict[str, Any] | None = None,
    interactive: bool | None = None,
    remember: bool = True,
) -> tuple[list[Target], list[FoundSensor]]:
    found = await scan(timeout_s=scan_timeout_s, scanner_kwargs=scanner_kwargs)
    interactive = sys.stdin.isatty() if interactive is None else interactive
    pinned = load_pinned()
    chosen = assign(
        [f.candidate() for f in found],
        placements=placements,
        explicit=parse_assign(assign_text) if assign_text else None,
        pinned=pinned,
        prompt=console_prompt if interactive else None,
    )
    if remember:
        save_pinned({**pinned, **pins_from(chosen)})
    by_addr = {f.address: f for f in found}
    targets = [
        Target(p, c.address, by_addr[c.address].driver(), device=by_addr[c.address].device)
        for p, c in chosen.items()
    ]
    return targets, found
