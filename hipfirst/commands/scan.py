"""``hipfirst scan``: list supported sensors in range with RSSI and battery."""

from __future__ import annotations

import argparse
import asyncio

from firmware_bridge.manager.scan import FoundSensor, read_batteries, scan
from hipfirst.commands import COMMANDS
from hipfirst.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("scan", help=COMMANDS["scan"])
    p.add_argument("--timeout", type=float, default=5.0, help="scan time in seconds (5)")
    p.add_argument("--no-battery", action="store_true", help="do not connect to read battery")
    p.set_defaults(func=run)


def format_found(found: list[FoundSensor]) -> list[str]:
    if not found:
        return ["no supported sensors found; switch them on and bring them close"]
    lines = [f"{'address':<18} {'name':<26} {'type':<9} {'RSSI':>8} {'battery':>8}"]
    for f in found:
        rssi = "?" if f.rssi_dbm is None else f"{f.rssi_dbm} dBm"
        batt = "?" if f.battery_pct is None else f"{f.battery_pct} %"
        lines.append(f"{f.address:<18} {f.name or '?':<26} {f.driver.kind:<9} {rssi:>8} {batt:>8}")
    return lines


async def _scan(args: argparse.Namespace) -> list[FoundSensor]:
    found = await scan(timeout_s=args.timeout)
    if not args.no_battery:
        found = await read_batteries(found)
    return found


def run(args: argparse.Namespace) -> int:
    if not 0 < args.timeout <= 600:  # NaN too; -1 scanned for no time: "no sensors found"
        raise UserError(f"--timeout must be more than 0 and at most 600 s, got {args.timeout}")
    for line in format_found(asyncio.run(_scan(args))):
        print(line)
    return 0
