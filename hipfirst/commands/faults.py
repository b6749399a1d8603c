"""``--faults`` of ``demo`` and ``simulate``: which simulated reps carry which fault."""

from __future__ import annotations

from analysis.sim.config import fault_name
from hipfirst.errors import UserError


def parse_faults(text: str) -> dict[str, int]:
    """``"lumbar_first:2,rounding:1"`` -> ``{"lumbar_first": 2, "lumbar_flexion": 1}``."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition(":")
        try:
            out[fault_name(name)] = int(count or "1")
        except ValueError as exc:
            raise UserError(f"--faults: {part!r}: {exc}") from exc
    return out
