"""bleak scanner backend over the virtual link.

``bleak.BleakScanner(..., backend=BumbleBleakScanner, link=link)`` scans with the
link's central; the advertisement data bleak hands out is decoded from the
advertiser's real advertising and scan response bytes.
"""

from __future__ import annotations

from typing import Any, Literal

from bleak.backends.scanner import (
    AdvertisementData,
    AdvertisementDataCallback,
    BaseBleakScanner,
)
from bleak.exc import BleakError
from bumble.core import UUID as BumbleUUID
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Device

from firmware_bridge.virtual_link.link import VirtualLink
from firmware_bridge.virtual_link.uuids import to_bleak

_T = AdvertisingData.Type
_UUID_LISTS: tuple[tuple[int, int], ...] = (
    (_T.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
    (_T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, 2),
    (_T.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS, 4),
    (_T.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS, 4),
    (_T.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
    (_T.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, 16),
)
_SERVICE_DATA: tuple[tuple[int, int], ...] = (
    (_T.SERVICE_DATA_16_BIT_UUID, 2),
    (_T.SERVICE_DATA_32_BIT_UUID, 4),
    (_T.SERVICE_DATA_128_BIT_UUID, 16),
)


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    """bleak's view of one (merged) Bumble advertisement; malformed fields are skipped."""
    data = adv.data
    name: str | None = None
    for kind in (_T.COMPLETE_LOCAL_NAME, _T.SHORTENED_LOCAL_NAME):
        raw = data.get(kind, raw=True)
        if raw is not None:
            name = bytes(raw).decode("utf-8", errors="replace")
            break
    service_uuids: list[str] = []
    for kind, size in _UUID_LISTS:
        for raw in data.get_all(kind, raw=True):
            chunks = [raw[i : i + size] for i in range(0, len(raw) - size + 1, size)]
            service_uuids += [to_bleak(BumbleUUID.from_bytes(bytes(c))) for c in chunks]
    service_data: dict[str, bytes] = {}
    for kind, size in _SERVICE_DATA:
        for raw in data.get_all(kind, raw=True):
            if len(raw) >= size:
                service_data[to_bleak(BumbleUUID.from_bytes(bytes(raw[:size])))] = bytes(raw[size:])
    manufacturer_data: dict[int, bytes] = {}
    for raw in data.get_all(_T.MANUFACTURER_SPECIFIC_DATA, raw=True):
        if len(raw) >= 2:
            manufacturer_data[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
    tx_power = None
    raw_tx = data.get(_T.TX_POWER_LEVEL, raw=True)
    if raw_tx is not None and len(raw_tx) == 1:
        tx_power = int.from_bytes(raw_tx, "little", signed=True)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=adv.rssi,
        platform_data=(adv,),
    )


class BumbleBleakScanner(BaseBleakScanner):
    """Scanner backend; pass ``link=`` (a :class:`VirtualLink`) through ``BleakScanner``."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        link: VirtualLink | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if link is None:
            raise BleakError("BumbleBleakScanner needs link=VirtualLink(...)")
        self._link = link
        self._active = scanning_mode == "active"
        self._central: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._central = await self._link.central()
        self._central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._link.start_scanning(active=self._active)

    async def stop(self) -> None:
        if self._central is None:
            return
        self._central.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._central = None
        await self._link.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        ad = advertisement_data(adv)
        if not self.is_allowed_uuid(ad.service_uuids):
            return
        address = adv.address.to_string(with_type_qualifier=False)
        details = VirtualDeviceDetails(address=adv.address, link=self._link)
        device = self.create_or_update_device(address, address, ad.local_name, details, ad)
        self.call_detection_callbacks(device, ad)


class VirtualDeviceDetails:
    """``BLEDevice.details`` for virtual devices: the typed address and the link."""

    __slots__ = ("address", "link")

    def __init__(self, *, address: Any, link: VirtualLink) -> None:
        self.address = address
        self.link = link

    def __repr__(self) -> str:
        return f"VirtualDeviceDetails({self.address!r})"
