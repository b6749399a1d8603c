# hipfirst sensor firmware (MicroPython + aioble, ESP32). Hardware glue only: the
# behaviour lives in ../lib (hfcore.SensorCore), which is tested on a host under the
# MicroPython unix port. Copy lib/*.py and device/*.py to the board (README.md).
import asyncio
import struct
import time

import aioble
import bluetooth
import config
import hfproto
from board import BOARDS
from hfclock import DeviceClock
from hfcore import SensorCore
from imu import make_imu
from machine import I2C, SPI, Pin, unique_id
from outputs import Battery, Button, Haptic
from screen import Screen

_BATTERY_SVC = bluetooth.UUID(0x180F)
_BATTERY_LEVEL = bluetooth.UUID(0x2A19)
_DIS_SVC = bluetooth.UUID(0x180A)


def _dis(svc, uuid16, text):
    c = aioble.Characteristic(svc, bluetooth.UUID(uuid16), read=True)
    c.write(text.encode())
    return c


class Sensor:
    def __init__(self):
        self.board = BOARDS[config.BOARD]
        b = self.board
        if b["hold_pin"] is not None:
            Pin(b["hold_pin"], Pin.OUT, value=1)  # keep the M5StickC powered on battery
        i2c_id, scl, sda = b["i2c"]
        self.imu = make_imu(config.IMU or b["imu"], I2C(i2c_id, scl=Pin(scl), sda=Pin(sda), freq=400000), b["imu_addr"])
        self.haptic = Haptic(b["motor_pin"], b["buzzer_pin"])
        self.battery = Battery(b["battery_adc_pin"], b["battery_divider"])
        self.clock = DeviceClock(time.ticks_us, time.ticks_diff)
        self.button = Button(b["button_pin"])
        self.screen = Screen()
        if b["screen"]:
            sp = b["screen"]
            spi = SPI(1, baudrate=40000000, sck=Pin(sp["sck"]), mosi=Pin(sp["mosi"]))
            self.screen = Screen(spi, cs=Pin(sp["cs"], Pin.OUT), dc=Pin(sp["dc"], Pin.OUT),
                                 reset=Pin(sp["reset"], Pin.OUT), backlight=Pin(sp["backlight"], Pin.OUT))
        self.core = SensorCore(
            supported_rates=config.SUPPORTED_RATES,
            rate_hz=config.RATE_HZ,
            has_haptic=self.haptic.present,
            backfill_packets=config.BACKFILL_PACKETS,
            att_mtu=23,
        )
        self.imu.configure(self.core.rate_hz)
        svc = aioble.Service(bluetooth.UUID(hfproto.SERVICE_UUID))
        self.imu_char = aioble.Characteristic(svc, bluetooth.UUID(hfproto.IMU_UUID), notify=True)
        self.ctrl_char = aioble.Characteristic(svc, bluetooth.UUID(hfproto.CONTROL_UUID), write=True, capture=True)
        self.status_char = aioble.Characteristic(svc, bluetooth.UUID(hfproto.STATUS_UUID), read=True, notify=True)
        batt = aioble.Service(_BATTERY_SVC)
        self.batt_char = aioble.Characteristic(batt, _BATTERY_LEVEL, read=True, notify=True)
        dis = aioble.Service(_DIS_SVC)
        _dis(dis, 0x2A29, "hipfirst DIY")
        _dis(dis, 0x2A24, config.BOARD)
        _dis(dis, 0x2A26, config.FIRMWARE_VERSION)
        aioble.register_services(svc, batt, dis)
        self.addr_tail = unique_id()[-2:]
        self.conn = None

    def now_us(self):
        return self.clock.now()  # µs since boot, not wrapping (hfclock: ticks wrap at 2**30)

    def _notify(self, char, data):
        if self.conn is not None:
            try:
                char.notify(self.conn, data)
            except Exception:  # link dropped mid-notify: the host sees the gap by seq
                pass

    async def control_loop(self):
        while True:
            _conn, data = await self.ctrl_char.written()
            ack, action, packets = self.core.handle(data, self.now_us())
            for p in packets:
                self._notify(self.imu_char, p)
            self._notify(self.status_char, ack)
            if action is None:
                continue
            if action[0] == "haptic":
                self.haptic.play(action[1], action[2])
            elif action[0] in ("rate", "ranges"):
                self.imu.configure(self.core.rate_hz)
            self.status_char.write(self.core.state(self.now_us()))

    async def imu_loop(self):
        while True:
            await asyncio.sleep_ms(10)
            samples = self.imu.read()
            if self.imu.overflowed:
                self.imu.overflowed = False
                self.core.mark_gap()
            now = self.now_us()
            period = self.core.period_us
            t = self.core.burst_t0(now, len(samples))  # running sample clock (hfcore)
            for s in samples:
                p = self.core.on_sample(t & 0xFFFFFFFF, s)
                if p is not None:
                    self._notify(self.imu_char, p)
                t += period
            p = self.core.poll(now & 0xFFFFFFFF)
            if p is not None:
                self._notify(self.imu_char, p)

    async def housekeeping_loop(self):
        while True:
            pct = self.battery.percent()
            self.batt_char.write(struct.pack("<B", pct))
            name = hfproto.advert_name(self.addr_tail, self.core.placement)
            self.screen.show(name, self.core.placement, pct, self.core.streaming, self.button.presses)
            await asyncio.sleep_ms(200)

    async def button_loop(self):
        # One status event per press, stamped at the press (PROFILE.md, Event 0x01); the
        # host groups presses into single/double clicks. Unconnected presses still count.
        while True:
            await asyncio.sleep_ms(20)
            while self.button.stamps:
                count, ticks = self.button.stamps.pop(0)
                t_us = self.clock.at(ticks)
                self._notify(self.status_char, hfproto.pack_event(hfproto.EVENT_BUTTON, count, t_us))

    async def advertise_loop(self):
        while True:
            name = hfproto.advert_name(self.addr_tail, self.core.placement)
            self.conn = await aioble.advertise(100000, name=name, services=[bluetooth.UUID(hfproto.SERVICE_UUID)])
            try:
                mtu = await self.conn.exchange_mtu(247)
            except Exception:
                mtu = 23
            self.core.set_mtu(mtu)
            await self.conn.disconnected(timeout_ms=None)
            self.conn = None
            self.core.link_lost()  # stop on link loss; the host restarts after reconnect


async def main():
    s = Sensor()
    await asyncio.gather(
        s.advertise_loop(), s.control_loop(), s.imu_loop(), s.housekeeping_loop(), s.button_loop()
    )


asyncio.run(main())
