"""Driver for WitMotion BLE IMUs (see :mod:`.codec`).

The device sends no timestamps. Each sample is given the device time ``k × nominal
period`` (k counts samples since start); the connection manager's clock alignment then
fits offset and drift between that counter and the notification arrival times with its
lower envelope (``firmware_bridge/clock_sync.py``), which is the jitter smoothing: arrival
jitter only ever delays a notification, and the envelope follows the earliest ones. The
drift allowance is widened to 2 %, as the sensor's sample clock is an RC oscillator.
Lost notifications cannot be detected (no counter); BLE delivers notifications in order
on a live link, so losses happen only across a disconnect, which the manager records.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from bleak import BleakClient

from firmware_bridge.devices.witmotion import codec
from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, SensorDriver, StreamInfo

REPLY_TIMEOUT_S = 3.0


class WitMotionDriver(SensorDriver):
    kind: ClassVar[str] = "witmotion"
    clock_max_drift_ppm: ClassVar[float] = 20000.0

    def __init__(self) -> None:
        self.rate_hz = 100.0
        self._n = 0
        self._reply: asyncio.Future[bytes] | None = None

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        if codec.SERVICE in [u.lower() for u in service_uuids]:
            return True
        return bool(name and name.startswith("WT") and "BLE" in name)

    def _route(self, on_data: OnData, data: bytes) -> None:
        if codec.is_register_reply(data):
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(data)
            return
        on_data(data)

    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        self._n = 0
        await client.start_notify(codec.NOTIFY, lambda _c, d: self._route(on_data, bytes(d)))
        cmd, code, rate = codec.set_rate(rate_hz)
        await client.write_gatt_char(codec.WRITE, cmd, response=False)
        # read the rate register back: the device does not acknowledge writes
        self._reply = asyncio.get_running_loop().create_future()
        await client.write_gatt_char(codec.WRITE, codec.read_register(codec.REG_RATE),
                                     response=False)  # fmt: skip
        try:
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                reply = await self._reply
        except TimeoutError as exc:
            raise BridgeError(
                f"{client.address}: WitMotion sensor did not answer a register read; "
                "switch it off and on"
            ) from exc
        finally:
            self._reply = None
        reg, values = codec.decode_register_reply(reply)
        if reg != codec.REG_RATE or values[0] != code:
            raise BridgeError(
                f"{client.address}: WitMotion sensor kept output rate code {values[0]:#04x} "
                f"instead of {code:#04x} ({rate:g} Hz)"
            )
        self.rate_hz = rate
        return StreamInfo(period_us=1e6 / rate, accel_only=False, model="WitMotion BLE")

    async def stop(self, client: BleakClient) -> None:
        if client.is_connected:
            await client.stop_notify(codec.NOTIFY)

    def decode(self, data: bytes) -> Frame | None:
        acc, gyr, _angles = codec.decode_data(data)
        period_us = 1e6 / self.rate_hz
        frame = Frame(t0_us=round(self._n * period_us), period_us=period_us, acc_g=acc,
                      gyr_dps=gyr)  # fmt: skip
        self._n += len(acc)
        return frame
