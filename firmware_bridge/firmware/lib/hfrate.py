# Sample-rate control and batching for the hipfirst firmware (pure logic).

BATCH_WAIT_US = 50000
"""A packet goes out when full or when its first sample has waited 50 ms (PROFILE.md)."""


def nearest_rate(requested_hz: int, supported_hz) -> int:
    """The supported rate closest to the request (ties go to the higher rate)."""
    best = supported_hz[0]
    for r in supported_hz:
        if abs(r - requested_hz) < abs(best - requested_hz) or (
            abs(r - requested_hz) == abs(best - requested_hz) and r > best
        ):
            best = r
    return best


def period_us(rate_hz: int) -> int:
    return (1000000 + rate_hz // 2) // rate_hz


class Batcher:
    """Collects samples into packets: full at ``max_count`` or after BATCH_WAIT_US.

    ``add`` takes one sample (a tuple of 3 or 6 int16) with its device time in µs and
    returns a finished batch ``(t0_us, [samples])`` or None; ``due`` checks the timer.
    """

    def __init__(self, max_count: int):
        self.max_count = max_count
        self.samples = []
        self.t0_us = 0

    def add(self, t_us: int, sample):
        if not self.samples:
            self.t0_us = t_us
        self.samples.append(sample)
        if len(self.samples) >= self.max_count:
            return self.take()
        return None

    def due(self, now_us: int) -> bool:
        return bool(self.samples) and now_us - self.t0_us >= BATCH_WAIT_US

    def take(self):
        batch = (self.t0_us, self.samples)
        self.samples = []
        return batch
