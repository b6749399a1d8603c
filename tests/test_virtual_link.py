"""Unmodified bleak over the virtual link: scan, connect, MTU, discovery, I/O, disconnects.

The peripherals are real Bumble GATT servers on an in-process LocalLink; the client
side is bleak's own BleakScanner/BleakClient with the backend from
firmware_bridge.virtual_link.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak_retry_connector import establish_connection
from bumble import att, gatt
from bumble.core import AdvertisingData
from bumble.device import Connection, Device

from analysis.session import SensorStream
from firmware_bridge.virtual_link import BumbleBleakClient, BumbleBleakScanner, VirtualLink
from firmware_bridge.virtual_sensor import VirtualSensor
from firmware_bridge.virtual_sensor_source import SampleSource

SENSOR_SERVICE = "68690001-0aac-446a-8884-59668ae0fff1"  # PROFILE.md
IMU_DATA = "68690002-0aac-446a-8884-59668ae0fff1"
CONTROL = "68690003-0aac-446a-8884-59668ae0fff1"
STATUS = "68690004-0aac-446a-8884-59668ae0fff1"
BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
ECHO_SERVICE = "0000fff0-0000-1000-8000-00805f9b34fb"
ECHO_CHAR = "0000fff1-0000-1000-8000-00805f9b34fb"
WRITE_ONLY_CHAR = "0000fff2-0000-1000-8000-00805f9b34fb"


def still_source(seed: int, *, seconds: float = 30.0) -> SampleSource:
    rng = np.random.default_rng(seed)
    n = int(seconds * 200)
    t = np.arange(n) / 200.0
    acc = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.01, (n, 3))
    gyr = rng.normal(0, 1.0, (n, 3))
    return SampleSource.from_stream(SensorStream(f"s{seed}", t, acc, gyr))


async def echo_peripheral(link: VirtualLink) -> tuple[Device, list[bytes]]:
    """A plain Bumble peripheral: a characteristic that notifies back whatever is written."""
    written: list[bytes] = []
    props = gatt.Characteristic.Properties
    device = link.add_device(name="echo")
    echo: gatt.Characteristic = gatt.Characteristic(
        ECHO_CHAR,
        props.READ | props.WRITE | props.WRITE_WITHOUT_RESPONSE | props.NOTIFY,
        gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
        gatt.CharacteristicValue(read=lambda _c: b"echo", write=lambda c, v: on_write(c, v)),
    )

    def refuse_read(_connection: Connection) -> bytes:
        raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)

    write_only = gatt.Characteristic(
        WRITE_ONLY_CHAR,
        props.WRITE,
        gatt.Characteristic.WRITEABLE,
        gatt.CharacteristicValue(read=refuse_read, write=lambda _c, _v: None),
    )

    async def on_write(connection: Connection, value: bytes) -> None:
        written.append(value)
        await device.notify_subscriber(connection, echo, value[::-1])

    device.add_service(gatt.Service(ECHO_SERVICE, [echo, write_only]))
    await device.power_on()
    name = bytes(AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, b"echo")]))
    await device.start_advertising(advertising_data=name, advertising_interval_min=20)
    return device, written


async def test_scan_finds_three_sensors_with_names_rssi_and_service() -> None:
    async with VirtualLink() as link:
        sensors = [VirtualSensor(link, still_source(i), rssi_dbm=-40 - 10 * i) for i in range(3)]
        for s in sensors:
            await s.start()
        await echo_peripheral(link)
        found = await BleakScanner.discover(
            timeout=0.3,
            return_adv=True,
            service_uuids=[SENSOR_SERVICE],
            backend=BumbleBleakScanner,
            link=link,
        )
        assert set(found) == {s.address for s in sensors}  # the echo device is filtered out
        for s in sensors:
            device, adv = found[s.address]
            assert adv.local_name == f"hipfirst-{s.address.replace(':', '')[-4:]}"
            assert device.name == adv.local_name
            assert adv.service_uuids == [SENSOR_SERVICE]
        assert [found[s.address][1].rssi for s in sensors] == [-40, -50, -60]
        unfiltered = await BleakScanner.discover(timeout=0.2, backend=BumbleBleakScanner, link=link)
        assert "echo" in {d.name for d in unfiltered} and len(unfiltered) == 4
        for s in sensors:
            await s.close()


async def test_connect_mtu_discovery_reads_and_control() -> None:
    async with VirtualLink() as link:
        sensor = VirtualSensor(link, still_source(1), speed=4.0)
        await sensor.start()
        device = await BleakScanner.find_device_by_name(
            sensor.local_name, timeout=2.0, backend=BumbleBleakScanner, link=link
        )
        assert device is not None
        async with BleakClient(device, backend=BumbleBleakClient) as client:
            assert client.is_connected and client.mtu_size == 247
            uuids = {c.uuid for c in client.services.characteristics.values()}
            assert {IMU_DATA, CONTROL, STATUS, BATTERY_LEVEL} <= uuids
            assert client.services.get_characteristic(IMU_DATA).properties == ["notify"]
            assert client.services.get_characteristic(CONTROL).properties == ["write"]
            battery = await client.read_gatt_char(BATTERY_LEVEL)
            assert isinstance(battery, bytearray) and battery == bytearray([87])
            assert await client.read_gatt_char("2a29") == b"hipfirst project"
            assert await client.read_gatt_char("2a24") == b"hipfirst virtual IMU"
            assert await client.read_gatt_char("2a26") == b"1.0.0"
            acks: list[bytearray] = []
            packets: list[bytearray] = []
            await client.start_notify(STATUS, lambda _c, d: acks.append(d))
            await client.start_notify(IMU_DATA, lambda _c, d: packets.append(d))
            await client.write_gatt_char(CONTROL, b"\x01", response=True)  # START
            # The ack: kind 1, opcode 1, result 0 (OK), value 0, then 8 bytes of device time.
            assert len(acks) == 1 and acks[0][:7] == bytes.fromhex("01010000000000")
            await asyncio.sleep(0.3)
            assert packets and all(isinstance(p, bytearray) for p in packets)
            # 200 Hz, 50 ms batches: 12 header bytes + 10 samples x 12 bytes.
            assert {len(p) for p in packets} == {132}
            await client.stop_notify(IMU_DATA)
            await asyncio.sleep(0.05)
            seen = len(packets)
            await asyncio.sleep(0.2)
            assert len(packets) == seen  # nothing after stop_notify
        assert not client.is_connected
        await sensor.close()


async def test_generic_io_write_both_ways_errors_and_retry_connector() -> None:
    async with VirtualLink() as link:
        device, written = await echo_peripheral(link)
        address = device.random_address.to_string(with_type_qualifier=False)
        got: list[bytearray] = []
        client = await establish_connection(
            BleakClient, await _find(link, address), "echo", backend=BumbleBleakClient
        )
        try:
            await client.start_notify(ECHO_CHAR, lambda _c, d: got.append(d))
            assert await client.read_gatt_char(ECHO_CHAR) == b"echo"
            await client.write_gatt_char(ECHO_CHAR, b"abc", response=True)
            await client.write_gatt_char(ECHO_CHAR, b"xyz", response=False)
            for _ in range(50):
                if len(got) == 2:
                    break
                await asyncio.sleep(0.01)
            assert written == [b"abc", b"xyz"] and got == [b"cba", b"zyx"]
            with pytest.raises(BleakGATTProtocolError) as err:
                await client.read_gatt_char(WRITE_ONLY_CHAR)
            assert err.value.code == 0x02  # Read Not Permitted
        finally:
            await client.disconnect()


async def _find(link: VirtualLink, address: str) -> BLEDevice:
    device = await BleakScanner.find_device_by_address(
        address, timeout=2.0, backend=BumbleBleakScanner, link=link
    )
    assert device is not None
    return device


async def test_peripheral_drop_fires_disconnected_callback_and_reconnect_works() -> None:
    async with VirtualLink() as link:
        sensor = VirtualSensor(link, still_source(2))
        await sensor.start()
        dropped = asyncio.Event()
        client = BleakClient(
            sensor.address,
            disconnected_callback=lambda _c: dropped.set(),
            backend=BumbleBleakClient,
            link=link,
        )
        await client.connect()
        await sensor.drop_link(0.3)
        await asyncio.wait_for(dropped.wait(), timeout=1.0)
        assert not client.is_connected
        with pytest.raises(BleakError):
            await client.read_gatt_char(BATTERY_LEVEL)
        impatient = BleakClient(sensor.address, timeout=0.1, backend=BumbleBleakClient, link=link)
        with pytest.raises(BleakDeviceNotFoundError):  # silent while "out of range"
            await impatient.connect()
        await asyncio.sleep(0.4)
        await client.connect()
        assert client.is_connected and sensor.stats.connections == 2
        dropped.clear()
        await client.disconnect()
        await asyncio.sleep(0)
        assert dropped.is_set()  # bleak calls it for client-initiated disconnects too
        await sensor.close()
