"""Sensor button clicks into the live session.

A driver that reports button clicks exposes an ``on_button`` callback attribute: the
Movella DOT driver (single/double/triple clicks from its device report, host clock at the
report's arrival, ~0.8 s after the last click) and the hipfirst driver (the sensor sends one
event per press; the driver groups presses 0.5 s apart on the device clock into a click and
hands it on 0.7 s after the last press, stamped with the first press's arrival).
:func:`wire_buttons` chains the live session's handler onto every such driver (keeping a
callback already set), turning each click into a :class:`ButtonEvent` on the session clock.
The handler runs from the event loop soon after the notification, never inside bleak's
callback.

What a click does is the set flow's (:mod:`hipfirst.setflow`): single click = end the set /
start the next, double click = calibrate again. The marks it makes go through
``LiveSession.add_marker`` to ``SessionRecorder.add_marker`` with ``source="button"`` and
``sensor`` = :attr:`ButtonEvent.sensor`, so they are in the sidecar within a flush interval
and survive a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from firmware_bridge.manager import SensorManager


@dataclass(frozen=True)
class ButtonEvent:
    sensor: str
    """Placement of the sensor whose button was clicked."""
    time_s: float
    """Session clock when the report arrived (a DOT sends it up to ~0.8 s after the
    last click, once it knows whether more clicks follow; a hipfirst sensor: when its
    first press arrived)."""
    clicks: int
    """1, 2 or 3."""
    device_ms: int | None = None
    """The sensor's own clock at the first press, if it says."""

    def to_json(self) -> dict[str, object]:
        return {
            "sensor": self.sensor,
            "time_s": round(self.time_s, 4),
            "clicks": self.clicks,
            "device_ms": self.device_ms,
        }


def wire_buttons(manager: SensorManager, handler: Callable[[ButtonEvent], None]) -> list[str]:
    """Hand every button click of the manager's sensors to ``handler``; returns the
    placements whose driver reports clicks."""
    wired = []
    for placement, link in manager.links.items():
        driver = link.driver
        if not hasattr(driver, "on_button"):
            continue
        wired.append(placement)
        driver.on_button = _chained(placement, manager, driver.on_button, handler)
    return wired


def _chained(
    placement: str,
    manager: SensorManager,
    before: Callable[[Any], None] | None,
    handler: Callable[[ButtonEvent], None],
) -> Callable[[Any], None]:
    def on_button(press: Any) -> None:
        if before is not None:
            before(press)
        clicks = int(getattr(press, "clicks", 1))
        host_s = getattr(press, "host_s", None)
        t = manager.now_s() if host_s is None else float(host_s) - manager.t0_s
        ev = ButtonEvent(placement, t, clicks, getattr(press, "device_ms", None))
        asyncio.get_running_loop().call_soon(handler, ev)

    return on_button
