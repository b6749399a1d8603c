"""Which sensor is worn where: assign scan results to placements and remember them.

Order of precedence: ``--assign lumbar=ADDR,...`` > the saved config (pinned addresses) >
the placement a sensor advertises in its name (``hipfirst-3F2A-lumbar``) > an interactive
prompt. The config is a small JSON file, ``$XDG_CONFIG_HOME/hipfirst/sensors.json``
(``HIPFIRST_SENSORS_CONFIG`` overrides the path)::

    {"version": 1, "sensors": {"lumbar": {"address": "F4:1B:...", "name": "hipfirst-3F2A"}}}
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.errors import BridgeError

CONFIG_ENV = "HIPFIRST_SENSORS_CONFIG"
DEFAULT_PLACEMENTS: tuple[str, ...] = ("lumbar", "sacrum", "thigh")
_PLACEMENT_RE = re.compile(r"[a-z][a-z0-9_]{0,14}")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sensor seen in a scan, as far as assignment cares."""

    address: str
    name: str | None
    advertised_placement: str | None = None
    rssi_dbm: int | None = None


@dataclass(frozen=True, slots=True)
class Pinned:
    address: str
    name: str | None = None


def config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hipfirst" / "sensors.json"


def load_pinned(path: Path | None = None) -> dict[str, Pinned]:
    """Saved placements; an absent file is an empty config, a broken one a BridgeError."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise BridgeError(f"{path}: cannot read sensor config: {exc.strerror}") from exc
    try:
        data = json.loads(text)
        sensors = data["sensors"]
        out = {}
        for placement, entry in sensors.items():
            if not _PLACEMENT_RE.fullmatch(placement) or not isinstance(entry["address"], str):
                raise ValueError(f"bad entry {placement!r}")
            name = entry.get("name")
            out[placement] = Pinned(
                entry["address"].upper(), name if isinstance(name, str) else None
            )
        return out
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BridgeError(
            f"{path}: not a hipfirst sensor config ({exc}); fix it or delete it to assign again"
        ) from exc


def save_pinned(pinned: dict[str, Pinned], path: Path | None = None) -> Path:
    """Write the config atomically (temp file + rename)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": 1,
        "sensors": {
            p: {"address": v.address, **({"name": v.name} if v.name else {})}
            for p, v in sorted(pinned.items())
        },
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def parse_assign(text: str) -> dict[str, str]:
    """``"lumbar=AA:BB:..,thigh=..."`` -> {placement: ADDRESS}; BridgeError on bad syntax."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        placement, sep, address = part.partition("=")
        placement, address = placement.strip(), address.strip().upper()
        if not sep or not address:
            raise BridgeError(f"--assign: {part!r} is not PLACEMENT=ADDRESS")
        if not _PLACEMENT_RE.fullmatch(placement):
            raise BridgeError(f"--assign: {placement!r} is not a placement name ([a-z0-9_])")
        if placement in out:
            raise BridgeError(f"--assign: {placement} given twice")
        if address in out.values():
            raise BridgeError(f"--assign: {address} given for two placements")
        out[placement] = address
    return out


Prompt = Callable[[str, Sequence[Candidate]], Candidate | None]
"""Ask the user which candidate is worn at a placement (None = none of them)."""


def assign(
    found: Sequence[Candidate],
    *,
    placements: Sequence[str] = DEFAULT_PLACEMENTS,
    explicit: dict[str, str] | None = None,
    pinned: dict[str, Pinned] | None = None,
    prompt: Prompt | None = None,
) -> dict[str, Candidate]:
    """Map each placement to one found sensor; BridgeError naming what is missing."""
    by_addr = {c.address.upper(): c for c in found}
    out: dict[str, Candidate] = {}
    used: set[str] = set()

    def take(placement: str, address: str) -> bool:
        c = by_addr.get(address.upper())
        if c is None or c.address.upper() in used:
            return False
        out[placement] = c
        used.add(c.address.upper())
        return True

    for placement, address in (explicit or {}).items():
        if not take(placement, address):
            seen = ", ".join(sorted(by_addr)) or "none"
            raise BridgeError(
                f"--assign {placement}={address}: no such sensor in range (found: {seen})"
            )
    for placement, pin in (pinned or {}).items():
        if placement in placements and placement not in out:
            take(placement, pin.address)
    for c in found:
        p = c.advertised_placement
        if p and p in placements and p not in out and c.address.upper() not in used:
            take(p, c.address)
    for placement in placements:
        if placement in out or prompt is None:
            continue
        free = [c for c in found if c.address.upper() not in used]
        if not free:
            break
        choice = prompt(placement, free)
        if choice is not None:
            take(placement, choice.address)
    missing = [p for p in placements if p not in out]
    if missing:
        pins = pinned or {}
        hint = "; ".join(
            f"{p}: pinned {pins[p].address} not in range" for p in missing if p in pins
        )
        raise BridgeError(
            f"no sensor for {', '.join(missing)} ({len(found)} found)"
            + (f"; {hint}" if hint else "")
            + "; switch them on and bring them close, or use --assign PLACEMENT=ADDRESS"
        )
    return out


def pins_from(assigned: dict[str, Candidate]) -> dict[str, Pinned]:
    return {p: Pinned(c.address.upper(), c.name) for p, c in assigned.items()}
