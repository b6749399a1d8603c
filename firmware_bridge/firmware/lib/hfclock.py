# The device clock of PROFILE.md (pure logic): microseconds since boot, 64-bit in acks,
# status and events; its low 32 bits stamp the IMU packets.
#
# MicroPython's ticks_us() wraps at TICKS_PERIOD, a power of two that depends on the port
# (MicroPython docs, time.ticks_ms: "TICKS_PERIOD is guaranteed to be a power of two, but
# otherwise may differ from port to port"; print(time.ticks_add(0, -1)) shows TICKS_MAX).
# On 32-bit ports such as the ESP32 it is 2**30: the low 32 bits of ticks_us() would jump
# back every 17.9 minutes, not wrap at 2**32 after 71.6 as the packets' clock should, and
# the host would take every jump in the 64-bit clock for a reboot. DeviceClock adds up
# ticks_diff steps instead; it must be read at least every TICKS_PERIOD / 2 (the sample
# loop reads it every 10 ms).


class DeviceClock:
    """``now()``: microseconds since construction (an int that keeps growing; mask with
    0xFFFFFFFF for packets). ``ticks``/``diff`` are ``time.ticks_us`` and
    ``time.ticks_diff`` on a device (injectable for tests)."""

    def __init__(self, ticks, diff):
        self._ticks = ticks
        self._diff = diff
        self._last = ticks()
        self._now = 0

    def now(self):
        t = self._ticks()
        self._now += self._diff(t, self._last)
        self._last = t
        return self._now

    def at(self, raw):
        """The clock at a ticks value read recently, before or after the last ``now()``
        (e.g. a button press stamped in an interrupt)."""
        return self._now + self._diff(raw, self._last)
