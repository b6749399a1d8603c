"""Find supported sensors: scan, match a driver per advertisement, optionally read battery."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

from firmware_bridge.assignments import Candidate
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import SensorDriver
from firmware_bridge.manager.hipfirst_driver import HipfirstDriver


def default_drivers() -> list[type[SensorDriver]]:
    """hipfirst's profile first, then any drivers ``firmware_bridge.devices`` offers."""
    drivers: list[type[SensorDriver]] = [HipfirstDriver]
    with contextlib.suppress(ImportError):
        devices = importlib.import_module("firmware_bridge.devices")
        drivers += [d for d in getattr(devices, "DRIVERS", ()) if d not in drivers]
    return drivers


@dataclass(frozen=True)
class FoundSensor:
    device: BLEDevice
    name: str | None
    rssi_dbm: int | None
    driver: type[SensorDriver]
    advertised_placement: str | None
    battery_pct: int | None = None

    @property
    def address(self) -> str:
        return self.device.address.upper()

    def candidate(self) -> Candidate:
        return Candidate(self.address, self.name, self.advertised_placement, self.rssi_dbm)


def adapter_error(exc: BaseException) -> BridgeError | None:
    """A BridgeError if ``exc`` means there is no usable Bluetooth adapter, else None."""
    text = str(exc)
    no_adapter = (
        # no D-Bus socket at all, or bleak says so
        isinstance(
            exc, BleakBluetoothNotAvailableError | FileNotFoundError | ConnectionRefusedError
        )
        or (isinstance(exc, BleakDBusError) and "ServiceUnknown" in text)  # BlueZ not running
        or (isinstance(exc, BleakError) and "adapter" in text.lower())
    )
    if not no_adapter:
        return None
    detail = text or type(exc).__name__
    err = BridgeError(
        f"no Bluetooth adapter found: {detail}; switch Bluetooth on (Linux: BlueZ running), "
        "or try `hipfirst demo` for virtual sensors"
    )
    err.__cause__ = exc
    return err


async def scan(
    *,
    timeout_s: float = 5.0,
    drivers: list[type[SensorDriver]] | None = None,
    scanner_kwargs: dict[str, Any] | None = None,
) -> list[FoundSensor]:
    """Supported sensors in range, strongest first; BridgeError if there is no adapter."""
    drivers = drivers or default_drivers()
    try:
        seen: dict[str, tuple[BLEDevice, AdvertisementData]] = await BleakScanner.discover(
            timeout=timeout_s, return_adv=True, **(scanner_kwargs or {})
        )
    except (BleakError, OSError) as exc:
        raise adapter_error(exc) or BridgeError(f"Bluetooth scan failed: {exc}") from exc
    found = []
    for device, adv in seen.values():
        for drv in drivers:
            if drv.matches(adv.local_name, list(adv.service_uuids)):
                found.append(
                    FoundSensor(
                        device=device,
                        name=adv.local_name or device.name,
                        rssi_dbm=adv.rssi,
                        driver=drv,
                        advertised_placement=drv.advertised_placement(adv.local_name),
                    )
                )
                break
    found.sort(key=lambda f: -(f.rssi_dbm if f.rssi_dbm is not None else -999))
    return found


async def read_batteries(
    found: list[FoundSensor],
    *,
    client_kwargs: dict[str, Any] | None = None,
    timeout_s: float = 10.0,
) -> list[FoundSensor]:
    """Connect to each sensor briefly (all at once) to read its battery level."""

    async def one(f: FoundSensor) -> FoundSensor:
        try:
            async with asyncio.timeout(timeout_s):
                async with BleakClient(f.device, **(client_kwargs or {})) as client:
                    pct = await f.driver().read_battery(client)
        except (BleakError, TimeoutError, OSError):
            return f
        return FoundSensor(
            f.device, f.name, f.rssi_dbm, f.driver, f.advertised_placement, battery_pct=pct
        )

    return list(await asyncio.gather(*(one(f) for f in found)))
