"""Driver for the Movella DOT (see :mod:`.codec`): set the output rate (read it back),
start "rate quantities" on the medium-payload characteristic, one sample per notification,
device timestamps in µs (wrapping at 2³²; the manager unwraps them)."""

from __future__ import annotations

from typing import ClassVar

from bleak import BleakClient

from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, SensorDriver, StreamInfo


class MovellaDotDriver(SensorDriver):
    kind: ClassVar[str] = "movella_dot"
    time_modulo_us: ClassVar[int | None] = codec.TIME_MODULO_US

    def __init__(self) -> None:
        self.rate_hz = 60

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        uuids = [u.lower() for u in service_uuids]
        if codec.CONFIG_SERVICE in uuids or codec.MEASUREMENT_SERVICE in uuids:
            return True
        return bool(name and name.startswith(("Movella DOT", "Xsens DOT")))

    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        rate = codec.nearest_rate(rate_hz)
        current = bytes(await client.read_gatt_char(codec.DEVICE_CONTROL))
        await client.write_gatt_char(
            codec.DEVICE_CONTROL, codec.set_output_rate(current, rate), response=True
        )
        got = codec.output_rate(bytes(await client.read_gatt_char(codec.DEVICE_CONTROL)))
        if got != rate:
            raise BridgeError(
                f"{client.address}: Movella DOT kept output rate {got} Hz instead of {rate} Hz"
            )
        self.rate_hz = rate
        await client.start_notify(codec.MEDIUM_PAYLOAD, lambda _c, d: on_data(bytes(d)))
        await client.write_gatt_char(
            codec.MEASUREMENT_CONTROL, codec.measurement(True), response=True
        )
        return StreamInfo(period_us=1e6 / rate, accel_only=False, model="Movella DOT")

    async def stop(self, client: BleakClient) -> None:
        if client.is_connected:
            await client.write_gatt_char(
                codec.MEASUREMENT_CONTROL, codec.measurement(False), response=True
            )

    async def read_battery(self, client: BleakClient) -> int | None:
        raw = await client.read_gatt_char(codec.BATTERY)
        return int(raw[0]) if len(raw) >= 1 and raw[0] <= 100 else None

    def decode(self, data: bytes) -> Frame | None:
        ts, acc, gyr = codec.decode_rate_quantities(data)
        return Frame(t0_us=ts, period_us=1e6 / self.rate_hz, acc_g=acc[None, :],
                     gyr_dps=gyr[None, :])  # fmt: skip
