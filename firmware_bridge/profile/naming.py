"""Advertised local name: ``hipfirst-XXXX`` plus ``-placement`` once one is assigned.

``XXXX`` is four upper-case hex digits, the last two bytes of the device address,
so a user can tell sensors apart before placements are set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from firmware_bridge.profile.control import PLACEMENT_MAX_BYTES

PREFIX = "hipfirst-"
_NAME_RE = re.compile(rf"hipfirst-([0-9A-F]{{4}})(?:-([a-z0-9_]{{1,{PLACEMENT_MAX_BYTES}}}))?")


@dataclass(frozen=True, slots=True)
class SensorName:
    device_id: str
    placement: str | None = None

    def __str__(self) -> str:
        return f"{PREFIX}{self.device_id}" + (f"-{self.placement}" if self.placement else "")


def local_name(*, address_tail: int, placement: str | None = None) -> str:
    """Name for a device whose address ends in ``address_tail`` (16 bits)."""
    return str(SensorName(f"{address_tail & 0xFFFF:04X}", placement or None))


def parse_local_name(name: str | None) -> SensorName | None:
    """The parts of a hipfirst name, or ``None`` for any other advertiser."""
    if not name:
        return None
    m = _NAME_RE.fullmatch(name)
    if m is None:
        return None
    return SensorName(m.group(1), m.group(2))
