"""A virtual BLE radio (Bumble ``LocalLink``) and a bleak backend that drives it.

Unmodified bleak code runs against virtual peripherals::

    async with VirtualLink() as link:
        sensor = VirtualSensor(link, source, speed=10.0)   # firmware_bridge.virtual_sensor
        await sensor.start()
        device = await BleakScanner.find_device_by_name(
            sensor.local_name, backend=BumbleBleakScanner, link=link)
        async with BleakClient(device, backend=BumbleBleakClient) as client:
            ...
"""

from firmware_bridge.virtual_link.bleak_client import BumbleBleakClient
from firmware_bridge.virtual_link.bleak_scanner import BumbleBleakScanner, VirtualDeviceDetails
from firmware_bridge.virtual_link.link import VirtualLink
from firmware_bridge.virtual_link.radio import VirtualController
from firmware_bridge.virtual_link.settings import virtual_link_settings

__all__ = [
    "BumbleBleakClient",
    "BumbleBleakScanner",
    "VirtualController",
    "VirtualDeviceDetails",
    "VirtualLink",
    "virtual_link_settings",
]
