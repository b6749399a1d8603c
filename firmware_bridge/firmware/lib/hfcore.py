# The hipfirst sensor's behaviour, free of hardware: commands in, notifications out.
# device/main.py wires it to aioble and the IMU; the tests drive it under the
# MicroPython unix port and decode its bytes with the host codecs.
import hfcmd
from hfproto import (
    CAP_ACCEL_ONLY,
    CAP_BACKFILL,
    CAP_HAPTIC,
    FLAG_BACKFILL,
    FLAG_GAP_BEFORE,
    OK,
    OP_BACKFILL,
    OP_HAPTIC,
    OP_SET_PLACEMENT,
    OP_SET_RANGES,
    OP_SET_RATE,
    OP_START,
    OP_STOP,
    OP_TIME_SYNC,
    UNAVAILABLE,
    UNSUPPORTED,
    WRONG_STATE,
    max_samples,
    pack_ack,
    pack_packet,
    pack_state,
    set_flag,
)
from hfrate import BATCH_WAIT_US, Batcher, nearest_rate, period_us
from hfring import PacketRing


RATE_TOLERANCE_PCT = 1
"""How far the IMU's sample rate may be off its nominal rate (datasheets: within 0.5-1 %)."""


class SensorCore:
    """State machine of one sensor.

    ``handle(data, now_us)`` answers a control write with ``(ack, action, packets)``:
    the ack bytes for the status characteristic, an action for the hardware layer
    (``None`` or a tuple such as ``("haptic", intensity, pattern)``, ``("rate", hz)``,
    ``("start",)``) and packets to notify now (a flushed batch or backfilled packets).
    ``on_sample(t_us, sample)`` and ``poll(now_us)`` return a packet to notify or None.
    """

    def __init__(
        self,
        supported_rates=(50, 100, 200, 400),
        rate_hz=100,
        accel_only=False,
        has_haptic=True,
        backfill_packets=256,
        att_mtu=247,
    ):
        self.supported_rates = tuple(supported_rates)
        self.rate_hz = nearest_rate(rate_hz, self.supported_rates)
        self.accel_only = accel_only
        self.has_haptic = has_haptic
        self.acc_code = 2  # +-8 g
        self.gyr_code = 4  # +-2000 deg/s
        self.placement = ""
        self.streaming = False
        self.subscribed = True
        self.seq = 0
        self.gap_pending = False
        self.ring = PacketRing(backfill_packets) if backfill_packets else None
        self.att_mtu = att_mtu
        self.batcher = Batcher(self._batch_count())
        self._t_next = None  # device time of the next sample on the running sample clock

    @property
    def capabilities(self) -> int:
        caps = CAP_ACCEL_ONLY if self.accel_only else 0
        if self.ring is not None:
            caps |= CAP_BACKFILL
        if self.has_haptic:
            caps |= CAP_HAPTIC
        return caps

    @property
    def period_us(self) -> int:
        return period_us(self.rate_hz)

    def _batch_count(self) -> int:
        # Full packet or 50 ms of samples, whichever is fewer (PROFILE.md, Batching).
        return max(1, min(max_samples(self.att_mtu, self.accel_only), BATCH_WAIT_US // self.period_us))

    def set_mtu(self, att_mtu: int) -> None:
        self.att_mtu = att_mtu
        self.batcher.max_count = self._batch_count()

    def state(self, now_us: int) -> bytes:
        return pack_state(
            self.streaming,
            self.period_us,
            self.acc_code,
            0 if self.accel_only else self.gyr_code,
            self.capabilities,
            self.seq,
            now_us,
            self.placement,
        )

    def handle(self, data, now_us: int):
        try:
            op, params = hfcmd.parse(data)
        except hfcmd.CommandError as exc:
            return pack_ack(exc.args[1], exc.args[0], 0, now_us), None, []
        result, value, action, packets = OK, 0, None, []
        if op == OP_START:
            if not self.subscribed or max_samples(self.att_mtu, self.accel_only) < 1:
                result = WRONG_STATE
            else:
                self.streaming = True
                action = ("start",)
        elif op == OP_STOP:
            packets = self._flush()
            self.streaming = False
            action = ("stop",)
        elif op == OP_SET_RATE:
            packets = self._flush()
            self.rate_hz = nearest_rate(params[0], self.supported_rates)
            value = self.period_us
            self.batcher.max_count = self._batch_count()
            action = ("rate", self.rate_hz)
        elif op == OP_SET_RANGES:
            packets = self._flush()
            self.acc_code, self.gyr_code = params
            action = ("ranges", params[0], params[1])
        elif op == OP_HAPTIC:
            if self.has_haptic:
                action = ("haptic", params[0], params[1])
            else:
                result = UNSUPPORTED
        elif op == OP_TIME_SYNC:
            value = params[0]
        elif op == OP_SET_PLACEMENT:
            self.placement = params[0]
            action = ("placement", params[0])
        elif op == OP_BACKFILL:
            if self.ring is None:
                result = UNSUPPORTED
            else:
                held = self.ring.span(params[0], params[1])
                packets = [set_flag(p, FLAG_BACKFILL) for p in held]
                value = len(packets)
                if not packets:
                    result = UNAVAILABLE
        return pack_ack(op, result, value, now_us), action, packets

    def mark_gap(self) -> None:
        """The IMU FIFO overflowed: flag the next packet GAP_BEFORE."""
        self.gap_pending = True
        self._t_next = None

    def burst_t0(self, now_us: int, n: int) -> int:
        """Device time of the first of ``n`` samples just read from the IMU FIFO, the
        newest of them taken within the period before ``now_us``. A running sample clock,
        one period per sample, nudged only as far as it must to stay possible: the first
        sample came at most ``(n - 1)`` periods before ``now_us`` and at least ``n`` periods
        plus one before it, with the IMU's rate up to ``RATE_TOLERANCE_PCT`` off (its
        oscillator is not the MCU's). Stamping each burst back from ``now_us`` put packet
        times up to a period early or late at random, and the host took early ones for
        duplicates (14 % of samples dropped at 200 Hz)."""
        if n <= 0:
            return now_us  # nothing read: the sample clock stays where it is
        p = self.period_us
        hi = now_us - (n - 1) * p * (100 - RATE_TOLERANCE_PCT) // 100
        lo = now_us - n * p * (100 + RATE_TOLERANCE_PCT) // 100 - p
        t = self._t_next
        if t is None:
            t = (hi + lo) // 2  # the middle of what is possible: at most about a period off
        elif t > hi:
            t = hi
        elif t < lo:
            t = lo
        self._t_next = t + n * p
        return t

    def link_lost(self) -> None:
        """The connection dropped: stop, and drop the unsent batch (its samples and time
        would lead the first packet after the reconnect, dated before the gap)."""
        self.streaming = False
        self.batcher.samples = []
        self._t_next = None
        self.gap_pending = True

    def on_sample(self, t_us: int, sample):
        if not self.streaming:
            return None
        batch = self.batcher.add(t_us, sample)
        return None if batch is None else self._packet(batch)

    def poll(self, now_us: int):
        if self.streaming and self.batcher.due(now_us):
            return self._packet(self.batcher.take())
        return None

    def _flush(self):
        if self.streaming and self.batcher.samples:
            return [self._packet(self.batcher.take())]
        return []

    def _packet(self, batch):
        t0_us, samples = batch
        flat = []
        for s in samples:
            flat.extend(s[:3] if self.accel_only else s)
        flags = FLAG_GAP_BEFORE if self.gap_pending else 0
        self.gap_pending = False
        packet = pack_packet(
            self.seq,
            t0_us,
            self.period_us,
            self.acc_code,
            self.gyr_code,
            flat,
            len(samples),
            self.accel_only,
            flags,
        )
        if self.ring is not None:
            self.ring.put(self.seq, packet)
        self.seq = (self.seq + 1) % 65536
        return packet
