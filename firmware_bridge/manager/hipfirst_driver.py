"""Driver for sensors speaking hipfirst's own GATT profile (``firmware_bridge/PROFILE.md``)."""

from __future__ import annotations

import asyncio
import itertools
from typing import ClassVar

import numpy as np
from bleak import BleakClient

from firmware_bridge.errors import BridgeError
from firmware_bridge.manager.driver import Clock, Frame, OnData, Probe, SensorDriver, StreamInfo
from firmware_bridge.profile import (
    Ack,
    Haptic,
    ImuPacket,
    MalformedPacket,
    Result,
    SetRate,
    StartStream,
    StopStream,
    TimeSync,
    decode_status,
    parse_local_name,
    uuids,
)
from firmware_bridge.profile.control import Command
from firmware_bridge.profile.imu_packet import (
    BACKFILL,
    GAP_BEFORE,
    SEQ_MODULO,
    TIME_MODULO_US,
    acc_lsb_g,
    gyr_lsb_dps,
)
from firmware_bridge.profile.status import DeviceState

ACK_TIMEOUT_S = 3.0


class HipfirstDriver(SensorDriver):
    kind: ClassVar[str] = "hipfirst"
    seq_modulo: ClassVar[int | None] = SEQ_MODULO
    time_modulo_us: ClassVar[int | None] = TIME_MODULO_US
    supports_probe: ClassVar[bool] = True

    def __init__(self) -> None:
        self._pending: asyncio.Future[tuple[Ack, float]] | None = None
        self._pending_opcode = -1
        self._lock = asyncio.Lock()
        self._clock: Clock | None = None
        self._tokens = itertools.count(1)
        self.bad_status = 0

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        return uuids.SENSOR_SERVICE in [u.lower() for u in service_uuids] or (
            parse_local_name(name) is not None
        )

    @classmethod
    def advertised_placement(cls, name: str | None) -> str | None:
        parsed = parse_local_name(name)
        return parsed.placement if parsed else None

    # -- control with acks ----------------------------------------------------
    def _on_status(self, _char: object, data: bytearray) -> None:
        arrival = self._clock() if self._clock else 0.0
        try:
            msg = decode_status(data)
        except MalformedPacket:
            self.bad_status += 1
            return
        fut = self._pending
        if (
            isinstance(msg, Ack)
            and fut is not None
            and not fut.done()
            and msg.opcode == self._pending_opcode
        ):
            fut.set_result((msg, arrival))

    async def _command(self, client: BleakClient, command: Command) -> tuple[Ack, float, float]:
        """Write one command, wait for its ack: (ack, host clock before write, at ack)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._pending = loop.create_future()
            self._pending_opcode = command.OPCODE
            sent = self._clock() if self._clock else 0.0
            try:
                await client.write_gatt_char(uuids.CONTROL, bytes(command), response=True)
                async with asyncio.timeout(ACK_TIMEOUT_S):
                    ack, arrival = await self._pending
            except TimeoutError as exc:
                raise BridgeError(
                    f"{client.address}: no answer to {type(command).__name__} within "
                    f"{ACK_TIMEOUT_S:g} s; switch the sensor off and on"
                ) from exc
            finally:
                self._pending = None
            return ack, sent, arrival

    async def _expect_ok(self, client: BleakClient, command: Command) -> Ack:
        ack, _, _ = await self._command(client, command)
        if ack.result != Result.OK:
            raise BridgeError(
                f"{client.address}: sensor refused {type(command).__name__} "
                f"({ack.result.name}); check its firmware matches PROFILE.md version 1"
            )
        return ack

    # -- stream ---------------------------------------------------------------
    async def start(
        self, client: BleakClient, on_data: OnData, *, rate_hz: float, clock: Clock
    ) -> StreamInfo:
        self._clock = clock
        if client.mtu_size - 3 < 12 + 12:
            raise BridgeError(
                f"{client.address}: ATT MTU {client.mtu_size} is too small for six-axis "
                "samples (needs 27); update the adapter's firmware or the sensor's"
            )
        await client.start_notify(uuids.STATUS, self._on_status)
        state = DeviceState.from_bytes(await client.read_gatt_char(uuids.STATUS))
        ack = await self._expect_ok(client, SetRate(rate_hz=max(16, min(0xFFFF, round(rate_hz)))))
        await client.start_notify(uuids.IMU_DATA, lambda _c, data: on_data(bytes(data)))
        await self._expect_ok(client, StartStream())
        return StreamInfo(
            period_us=float(ack.value or state.period_us),
            accel_only=bool(state.capabilities & 0x01),
            device_time_us=state.device_time_us,
        )

    async def stop(self, client: BleakClient) -> None:
        if client.is_connected:
            await self._command(client, StopStream())

    async def haptic(
        self, client: BleakClient, *, intensity_pct: int, pattern_ms: tuple[int, ...]
    ) -> bool:
        """HAPTIC on the control characteristic (PROFILE.md); True once the sensor acked it.
        A sensor without a motor answers UNSUPPORTED, which is False, not an error."""
        ack, _, _ = await self._command(
            client, Haptic(intensity_pct=intensity_pct, pattern_ms=pattern_ms)
        )
        return ack.result == Result.OK

    async def probe(self, client: BleakClient, clock: Clock) -> Probe | None:
        token = next(self._tokens) & 0xFFFFFFFF
        ack, sent, arrival = await self._command(client, TimeSync(token=token))
        if ack.result != Result.OK or ack.value != token:
            return None
        return Probe(sent, ack.device_time_us, arrival)

    def decode(self, data: bytes) -> Frame:
        p = ImuPacket.from_bytes(data)
        acc = np.asarray(p.acc_raw, dtype=float) * acc_lsb_g(p.acc_range)
        gyr = None if p.gyr_raw is None else np.asarray(p.gyr_raw, float) * gyr_lsb_dps(p.gyr_range)
        return Frame(
            t0_us=p.t0_us,
            period_us=float(p.period_us),
            acc_g=acc,
            gyr_dps=gyr,
            seq=p.seq,
            gap_before=bool(p.flags & GAP_BEFORE),
            backfill=bool(p.flags & BACKFILL),
        )
