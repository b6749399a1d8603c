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
            n = int(count or "1")
            if n < 0:
                raise ValueError(f"a count of reps must be 0 or more, got {n}")
            out[fault_name(name)] = n
        except ValueError as exc:
            raise UserError(f"--faults: {part!r}: {exc}") from exc
    return out
