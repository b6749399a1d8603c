# Haptic (vibration motor or buzzer), battery level, button and screen.
import asyncio
import time

from machine import ADC, PWM, Pin


class Haptic:
    """Plays on/off patterns (ms) at an intensity (%) on a motor (PWM duty) or buzzer (tone)."""

    def __init__(self, motor_pin=None, buzzer_pin=None):
        self.pwm = None
        self.buzzer = buzzer_pin is not None
        pin = motor_pin if motor_pin is not None else buzzer_pin
        if pin is not None:
            self.pwm = PWM(Pin(pin), freq=2700 if self.buzzer else 200, duty_u16=0)
        self._task = None

    @property
    def present(self):
        return self.pwm is not None

    def play(self, intensity_pct, pattern_ms):
        if self._task is not None:
            self._task.cancel()  # a new pattern replaces one still playing
        self._task = asyncio.create_task(self._run(intensity_pct, pattern_ms))

    async def _run(self, intensity_pct, pattern_ms):
        duty = 65535 * intensity_pct // (200 if self.buzzer else 100)
        try:
            for i, ms in enumerate(pattern_ms):
                self.pwm.duty_u16(duty if i % 2 == 0 else 0)
                await asyncio.sleep_ms(ms)
        finally:
            self.pwm.duty_u16(0)


class Battery:
    """Percent from the cell voltage (linear 3.3 V -> 0 %, 4.15 V -> 100 %)."""

    def __init__(self, pin, divider):
        self.adc = ADC(Pin(pin))
        self.adc.atten(ADC.ATTN_11DB)
        self.divider = divider

    def percent(self):
        volts = self.adc.read_uv() / 1e6 * self.divider
        return max(0, min(100, int((volts - 3.3) / 0.85 * 100)))


class Button:
    """Counts debounced presses (active low) and stamps each with ticks_us in the
    interrupt; the main loop turns the stamp into the device clock (hfclock.DeviceClock, as
    packets and acks) and sends one status event per press (PROFILE.md, Event 0x01)."""

    DEBOUNCE_US = 50000

    def __init__(self, pin):
        self.pin = Pin(pin, Pin.IN, Pin.PULL_UP)
        self.presses = 0
        self.stamps = []  # (count, device time) not sent yet; the IRQ appends, the loop pops
        self._last = None
        self.pin.irq(self._irq, Pin.IRQ_FALLING)

    def _irq(self, _pin):
        now = time.ticks_us()
        if self._last is not None and time.ticks_diff(now, self._last) < self.DEBOUNCE_US:
            return  # contact bounce: the same press
        self._last = now
        self.presses += 1
        if len(self.stamps) < 8:
            self.stamps.append((self.presses, now))  # raw ticks: the loop converts
