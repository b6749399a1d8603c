"""bleak client backend over the virtual link.

``bleak.BleakClient(device_or_address, backend=BumbleBleakClient, link=link)``
connects the link's Bumble central to a virtual peripheral and does the real ATT
exchanges: MTU exchange (247 by default), service discovery, reads, writes,
CCCD writes for notifications. A ``BLEDevice`` from :class:`BumbleBleakScanner`
carries the link, so ``link=`` may be left out then.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core
from bumble.device import Connection, Peer
from bumble.hci import Address

from firmware_bridge.virtual_link.bleak_scanner import VirtualDeviceDetails
from firmware_bridge.virtual_link.link import VirtualLink
from firmware_bridge.virtual_link.uuids import to_bleak

DEFAULT_ATT_MTU = 247


@contextlib.contextmanager
def _att_errors() -> Iterator[None]:
    """Bumble's ATT errors as bleak's protocol errors; a lost link as BleakError."""
    try:
        yield
    except att.ATT_Error as exc:
        raise BleakGATTProtocolError(exc.error_code) from exc
    except (core.TimeoutError, asyncio.CancelledError, ConnectionError) as exc:
        if isinstance(exc, asyncio.CancelledError) and _current_task_cancelling():
            raise
        raise BleakError(f"virtual link: {type(exc).__name__}: {exc}") from exc


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _property_names(flags: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if flags & bit]


class BumbleBleakClient(BaseBleakClient):
    """Client backend; keyword ``link`` (a :class:`VirtualLink`), optional ``att_mtu``."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        link: VirtualLink | None = None,
        services: set[str] | None = None,
        att_mtu: int = DEFAULT_ATT_MTU,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = getattr(address_or_ble_device, "details", None)
        if isinstance(details, VirtualDeviceDetails):
            link = link or details.link
            self._peer_address: Address = details.address
        else:
            self._peer_address = Address(self.address)  # random static, as virtual sensors use
        if link is None:
            raise BleakError("BumbleBleakClient needs link=VirtualLink(...) or a scanned BLEDevice")
        self._link = link
        self._device_name = getattr(address_or_ble_device, "name", None)
        self._service_filter = services
        self._att_mtu = att_mtu
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._disconnected = asyncio.Event()

    # -- connection -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        # Like a host stack given an address: wait (up to the timeout) to hear the device.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while self._link.find_advertiser(self.address) is None:
            if loop.time() >= deadline:
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found"
                )
            await asyncio.sleep(0.01)
        central = await self._link.central()
        try:
            async with self._link.connect_lock:
                connection = await central.connect(self._peer_address, timeout=self._timeout)
        except core.TimeoutError as exc:
            raise TimeoutError(f"connecting to {self.address} timed out") from exc
        except core.BaseBumbleError as exc:
            raise BleakError(f"connecting to {self.address} failed: {exc}") from exc
        self._connection = connection
        self._disconnected = asyncio.Event()
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            with _att_errors():
                await self._peer.request_mtu(self._att_mtu)
                self.services = await self._discover(self._peer)
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(core.BaseBumbleError, ConnectionError):
            await connection.disconnect()
        await asyncio.wait_for(self._disconnected.wait(), timeout=self._timeout)

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        self.services = None
        self._disconnected.set()
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not supported on the virtual link")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not supported on the virtual link")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    # -- discovery --------------------------------------------------------------

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for proxy in await peer.discover_services():
            uuid = to_bleak(proxy.uuid)
            if self._service_filter and uuid not in self._service_filter:
                continue
            service = BleakGATTService(proxy, proxy.handle, uuid)
            collection.add_service(service)
            for char_proxy in await proxy.discover_characteristics():
                await peer.discover_descriptors(char_proxy)
                char = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    to_bleak(char_proxy.uuid),
                    _property_names(int(char_proxy.properties)),
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(char)
                for desc_proxy in char_proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            desc_proxy, desc_proxy.handle, to_bleak(desc_proxy.type), char
                        )
                    )
        return collection

    # -- I/O ----------------------------------------------------------------------

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with _att_errors():
            return bytearray(await peer.read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with _att_errors():
            return bytearray(await peer.read_value(descriptor.obj))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        with _att_errors():
            await peer.write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        with _att_errors():
            await peer.write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        old = self._subscribers.pop(characteristic.handle, None)
        with _att_errors():
            if old is not None:
                await peer.unsubscribe(characteristic.obj, old)
            self._subscribers[characteristic.handle] = deliver
            await peer.gatt_client.subscribe(characteristic.obj, deliver, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        deliver = self._subscribers.pop(characteristic.handle, None)
        with _att_errors():
            await peer.gatt_client.unsubscribe(characteristic.obj, deliver, force=True)
