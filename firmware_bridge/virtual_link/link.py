"""The virtual radio: Bumble controllers on one in-process :class:`~bumble.link.LocalLink`.

Peripherals (virtual sensors) and the central that the bleak backend drives all
attach here. Nothing leaves the process; timing is the event loop's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from firmware_bridge.virtual_link.radio import DEFAULT_RSSI_DBM, VirtualController

CENTRAL_ADDRESS = "C0:00:00:00:00:01"


class VirtualLink:
    """Owns the radio, the controllers and the one central; an async context manager.

    ``async with VirtualLink() as link:`` then attach peripherals with
    :meth:`add_device` and pass ``link=link`` to the bleak backends in
    :mod:`firmware_bridge.virtual_link`. Leaving the block disconnects everything
    and stops all advertising.
    """

    def __init__(self) -> None:
        self.radio = LocalLink()
        self._controllers: dict[Device, VirtualController] = {}
        self._central: Device | None = None
        self._central_lock = asyncio.Lock()
        self._scan_users = 0
        self._scan_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()
        """Held while the central creates a connection (one at a time, as on a real host)."""
        self._count = 0
        self.closing = False
        self._close_hooks: list[Callable[[], Awaitable[None]]] = []
        """Set by :meth:`close`; peripherals stop re-advertising once it is."""

    async def __aenter__(self) -> VirtualLink:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def allocate_address(self) -> str:
        """A fresh random static address; the last 16 bits differ visibly between devices."""
        self._count += 1
        tail = (0x1A2B * self._count) & 0xFFFF
        return f"F4:1B:00:{(self._count >> 8) & 0xFF:02X}:{tail >> 8:02X}:{tail & 0xFF:02X}"

    def add_device(
        self, *, name: str, address: str | None = None, rssi_dbm: int = DEFAULT_RSSI_DBM
    ) -> Device:
        """A new Bumble device (not yet powered on) with its own controller on the radio.

        Add GATT services, then ``await device.power_on()``.
        """
        address = address or self.allocate_address()
        controller = VirtualController(name, link=self.radio, public_address=address)
        controller.rssi_dbm = rssi_dbm
        device = Device(
            name=name,
            address=Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._controllers[device] = controller
        return device

    def on_close(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` first when the link closes (peripherals stop their tasks)."""
        self._close_hooks.append(hook)

    def controller(self, device: Device) -> VirtualController:
        return self._controllers[device]

    async def central(self) -> Device:
        """The host-side device the bleak backends use (created on first use)."""
        async with self._central_lock:
            if self._central is None:
                central = self.add_device(name="hipfirst-host", address=CENTRAL_ADDRESS)
                await central.power_on()
                self._central = central
            return self._central

    def find_advertiser(self, address: str) -> Device | None:
        """The powered peripheral currently advertising as ``address``, if any."""
        wanted = Address(address)
        for device, controller in self._controllers.items():
            if device is self._central or device.random_address != wanted:
                continue
            legacy = controller.le_legacy_advertiser
            if legacy.enabled or any(s.enabled for s in controller.advertising_sets.values()):
                return device
        return None

    async def start_scanning(self, *, active: bool) -> None:
        """Start the central's scan (shared by every scanner; counted)."""
        central = await self.central()
        async with self._scan_lock:
            self._scan_users += 1
            if self._scan_users == 1:
                await central.start_scanning(active=active, filter_duplicates=False)

    async def stop_scanning(self) -> None:
        central = await self.central()
        async with self._scan_lock:
            self._scan_users = max(0, self._scan_users - 1)
            if self._scan_users == 0 and central.is_scanning:
                await central.stop_scanning()

    async def close(self) -> None:
        """Disconnect all links, stop advertising and scanning, power everything off."""
        self.closing = True
        for hook in self._close_hooks:
            await hook()
        for device in list(self._controllers):
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):  # best effort while tearing down
                    await connection.disconnect()
        for device in list(self._controllers):
            if not device.powered_on:
                continue
            if device.is_advertising:
                await device.stop_advertising()
            if device.is_scanning:
                await device.stop_scanning()
            await device.power_off()
