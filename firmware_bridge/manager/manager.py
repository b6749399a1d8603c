"""Connect N sensors at once and hand their aligned samples to one consumer queue.

    async with SensorManager(targets, settings=LinkSettings(...)) as mgr:
        await mgr.wait_streaming(timeout_s=30)
        async for event in mgr.events():      # SampleBlock | GapEvent | LinkEvent
            ...

Every sensor runs in its own task (kept referenced here) and reconnects with backoff until
the manager stops. ``status`` holds a live :class:`SensorStatus` per placement.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType

from bleak.backends.device import BLEDevice

from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, SensorDriver
from firmware_bridge.manager.events import Event, GapEvent, SensorStatus
from firmware_bridge.manager.link import LinkSettings, SensorLink


@dataclass(frozen=True)
class Target:
    """A sensor to stream from: where it is worn, its address and driver."""

    placement: str
    address: str
    driver: SensorDriver
    device: BLEDevice | None = None
    """A device from a scan (skips the per-sensor scan on the first connection)."""


class SensorManager:
    def __init__(
        self,
        targets: Mapping[str, Target] | list[Target],
        *,
        settings: LinkSettings | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        items = list(targets.values()) if isinstance(targets, Mapping) else list(targets)
        if not items:
            raise BridgeError("no sensors to connect")
        self.settings = settings or LinkSettings()
        self.clock = clock
        self.t0_s = clock()
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.links = {
            t.placement: SensorLink(
                t.placement,
                t.address,
                t.driver,
                settings=self.settings,
                clock=clock,
                t0_s=self.t0_s,
                emit=self._queue.put_nowait,
                device=t.device,
            )
            for t in items
        }
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self.gaps: list[GapEvent] = []

    @property
    def status(self) -> dict[str, SensorStatus]:
        return {p: link.status for p, link in self.links.items()}

    def now_s(self) -> float:
        """Session clock: seconds since the manager was made."""
        return self.clock() - self.t0_s

    async def __aenter__(self) -> SensorManager:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start(self) -> None:
        for placement, link in self.links.items():
            if placement not in self._tasks:
                self._tasks[placement] = asyncio.create_task(link.run(), name=f"link-{placement}")

    async def wait_streaming(self, *, timeout_s: float) -> None:
        """Until every sensor streams; BridgeError naming the ones that did not."""
        waits = {p: asyncio.create_task(link.wait_streaming()) for p, link in self.links.items()}
        _done, pending = await asyncio.wait(waits.values(), timeout=timeout_s)
        for task in pending:
            task.cancel()
        missing = [p for p, t in waits.items() if t in pending]
        if missing:
            reasons = "; ".join(
                f"{p}: {self.links[p].status.last_error or 'no answer'}" for p in missing
            )
            raise BridgeError(
                f"sensors not streaming after {timeout_s:g} s: {reasons}"
            ) from self.links[missing[0]].first_error

    @property
    def backlog(self) -> int:
        """Events waiting in :meth:`events` (the consumer is behind when this stays > 0)."""
        return self._queue.qsize()

    async def events(self) -> AsyncIterator[Event]:
        """Everything the sensors produce, in arrival order; ends after :meth:`stop`."""
        while True:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, GapEvent):
                self.gaps.append(item)
            yield item

    async def haptic(
        self, placement: str, *, intensity_pct: int, pattern_ms: tuple[int, ...]
    ) -> bool:
        """Buzz the sensor at ``placement``; False if there is none or it cannot buzz."""
        link = self.links.get(placement)
        if link is None:
            return False
        return await link.haptic(intensity_pct=intensity_pct, pattern_ms=pattern_ms)

    async def stop(self) -> None:
        """Stop streaming, disconnect, drain: :meth:`events` ends after the last sample."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(link.stop() for link in self.links.values()))
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._queue.put_nowait(None)
