"""The GATT table and advertising bytes of a virtual hipfirst sensor (Bumble objects)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService

from firmware_bridge.profile import uuids

_P = gatt.Characteristic.Properties

MANUFACTURER = "hipfirst project"
MODEL = "hipfirst virtual IMU"


@dataclass(frozen=True)
class SensorGatt:
    """Handles to the characteristics the sensor notifies on."""

    services: list[gatt.Service]
    imu: gatt.Characteristic
    status: gatt.Characteristic
    battery: gatt.Characteristic


def build_gatt(
    *,
    read_status: Callable[[Connection], bytes],
    on_control: Callable[[Connection, bytes], Awaitable[None]],
    read_battery_pct: Callable[[Connection], int],
    firmware_revision: str,
) -> SensorGatt:
    """The hipfirst sensor service, Battery Service and Device Information Service."""
    imu = gatt.Characteristic(uuids.IMU_DATA, _P.NOTIFY, gatt.Characteristic.READABLE, b"")
    control = gatt.Characteristic(
        uuids.CONTROL,
        _P.WRITE,
        gatt.Characteristic.WRITEABLE,
        gatt.CharacteristicValue(write=on_control),
    )
    status = gatt.Characteristic(
        uuids.STATUS,
        _P.READ | _P.NOTIFY,
        gatt.Characteristic.READABLE,
        gatt.CharacteristicValue(read=read_status),
    )
    sensor = gatt.Service(uuids.SENSOR_SERVICE, [imu, control, status])
    battery = BatteryService(read_battery_pct)
    info = DeviceInformationService(
        manufacturer_name=MANUFACTURER, model_number=MODEL, firmware_revision=firmware_revision
    )
    return SensorGatt(
        services=[sensor, battery, info],
        imu=imu,
        status=status,
        battery=battery.battery_level_characteristic,
    )


def advertising_data() -> bytes:
    """Flags (LE General Discoverable, no BR/EDR) + the sensor service's 128-bit UUID."""
    data = AdvertisingData(
        [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (
                AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                UUID(uuids.SENSOR_SERVICE).to_bytes(),
            ),
        ]
    )
    raw = bytes(data)
    assert len(raw) <= 31, len(raw)
    return raw


def scan_response_data(local_name: str) -> bytes:
    """Complete Local Name, e.g. ``hipfirst-1A2B-lumbar``."""
    raw = bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, local_name.encode())]))
    if len(raw) > 31:
        raise ValueError(f"local name {local_name!r} does not fit a scan response")
    return raw
