"""Shared plumbing for virtual twins of third-party sensors on the virtual BLE link.

A twin is a Bumble GATT peripheral with the vendor's services; subclasses add the GATT
table and the protocol, this base advertises, tracks the one connection, paces samples
from a :class:`~firmware_bridge.virtual_sensor_source.SampleSource` in real time (or
``speed`` times faster) and sends notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device

from firmware_bridge.virtual_link import VirtualLink
from firmware_bridge.virtual_sensor_source import SampleSource


class TwinBase:
    def __init__(
        self,
        link: VirtualLink,
        source: SampleSource,
        *,
        name: str,
        service_uuid: str,
        services: list[gatt.Service],
        speed: float = 1.0,
        rssi_dbm: int = -55,
    ) -> None:
        self.link = link
        self.source = source
        self.name = name
        self.speed = speed
        self._service_uuid = service_uuid
        self.address = link.allocate_address()
        self.device: Device = link.add_device(name=name, address=self.address, rssi_dbm=rssi_dbm)
        self.device.add_services(services)
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.connection: Connection | None = None
        self.samples_sent = 0
        self._task: asyncio.Task[None] | None = None
        link.on_close(self.close)

    async def start(self) -> None:
        await self.device.power_on()
        await self._advertise()

    async def _advertise(self) -> None:
        adv = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        UUID(self._service_uuid).to_bytes(),
                    ),
                ]
            )
        )
        scan = bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())]))
        await self.device.start_advertising(
            advertising_data=adv,
            scan_response_data=scan,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self.connection = None
        self.stop_stream()
        if not self.link.closing:
            asyncio.get_running_loop().create_task(self._advertise())

    @property
    def streaming(self) -> bool:
        return self._task is not None and not self._task.done()

    def start_stream(self, send: Callable[[int, int], Awaitable[None]], *, per_packet: int) -> None:
        """Call ``send(i, j)`` for source samples ``i:j`` once sample ``j - 1`` has been
        taken (paced on the loop clock, from sample 0 at this call)."""
        self.stop_stream()
        self._task = asyncio.get_running_loop().create_task(self._pace(send, per_packet))

    async def _pace(self, send: Callable[[int, int], Awaitable[None]], per_packet: int) -> None:
        loop = asyncio.get_running_loop()
        t = self.source.time_s
        origin = loop.time()
        i = 0
        while i < len(t):
            j = min(len(t), i + per_packet)
            due = origin + (t[j - 1] - t[0]) / self.speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            if self.connection is None:
                return
            await send(i, j)
            self.samples_sent += j - i
            i = j

    def stop_stream(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def notify(self, characteristic: gatt.Characteristic, value: bytes) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # the link went away mid-send
                await self.device.notify_subscriber(self.connection, characteristic, value)

    async def indicate(self, characteristic: gatt.Characteristic, value: bytes) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.device.indicate_subscriber(self.connection, characteristic, value)

    async def close(self) -> None:
        self.stop_stream()
