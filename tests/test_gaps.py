"""Gap bookkeeping on hand-made packet sequences (counter wrap, device overflow, reboot)."""

from __future__ import annotations

from firmware_bridge.gaps import GapTracker

P = 5000  # µs, 200 Hz


def test_contiguous_packets_across_seq_wrap_have_no_gap() -> None:
    g = GapTracker()
    t = 0
    for seq in (65533, 65534, 65535, 0, 1, 2):
        v = g.check(t0_us=t, period_us=P, count=10, seq=seq)
        assert v.accept and v.gap is None
        t += 10 * P
    assert g.stats.packets == 6 and g.stats.samples == 60 and g.stats.samples_lost == 0


def test_lost_packets_across_wrap_counted_with_start_and_duration() -> None:
    g = GapTracker()
    g.check(t0_us=1_000_000, period_us=P, count=10, seq=65534)
    # seq 65535, 0, 1 lost (30 samples); next arrives with seq 2
    v = g.check(t0_us=1_000_000 + 40 * P, period_us=P, count=10, seq=2)
    assert v.accept
    assert v.gap is not None
    assert v.gap.packets_lost == 3
    assert v.gap.samples_lost == 30
    assert v.gap.start_device_us == 1_000_000 + 10 * P
    assert v.gap.duration_us == 30 * P
    assert v.gap.cause == "lost_packets"
    assert g.stats.packets_lost == 3 and g.stats.samples_lost == 30


def test_device_overflow_without_seq_jump() -> None:
    g = GapTracker()
    g.check(t0_us=0, period_us=P, count=10, seq=5)
    v = g.check(t0_us=17 * P, period_us=P, count=10, seq=6, gap_before=True)
    assert v.gap is not None and v.gap.samples_lost == 7 and v.gap.packets_lost == 0
    assert v.gap.cause == "device_overflow"


def test_duplicate_dropped_and_counted() -> None:
    g = GapTracker()
    g.check(t0_us=0, period_us=P, count=10, seq=1)
    g.check(t0_us=10 * P, period_us=P, count=10, seq=2)
    v = g.check(t0_us=10 * P, period_us=P, count=10, seq=2)
    assert not v.accept
    assert g.stats.duplicates == 1 and g.stats.samples == 20


def test_disconnect_gap_is_blamed_on_the_link() -> None:
    g = GapTracker()
    g.check(t0_us=0, period_us=P, count=10, seq=1)
    g.disconnected()
    v = g.check(t0_us=10 * P + 2_000_000, period_us=P, count=10, seq=45)
    assert v.gap is not None and v.gap.cause == "disconnect"
    assert v.gap.samples_lost == 400 and v.gap.packets_lost == 43


def test_reboot_detected_when_device_time_goes_far_back() -> None:
    g = GapTracker()
    g.check(t0_us=500_000_000, period_us=P, count=10, seq=900)
    v = g.check(t0_us=1_000, period_us=P, count=10, seq=0)
    assert v.accept and v.restarted and v.gap is None


def test_malformed_counted() -> None:
    g = GapTracker()
    g.malformed()
    g.malformed()
    assert g.stats.malformed == 2


def test_the_next_packet_by_its_counter_with_a_jittered_stamp_is_on_time() -> None:
    """Seq +1, no gap flag, first sample 0.7 period early or 1.8 periods late: a firmware's
    stamp jitter, not a duplicate (the whole packet was dropped) nor lost samples. The early
    one is kept (the link moves it after the last sample it handed out)."""
    g = GapTracker()
    g.check(t0_us=0, period_us=P, count=10, seq=1)
    early = g.check(t0_us=10 * P - int(0.7 * P), period_us=P, count=10, seq=2)
    assert early.accept and early.gap is None
    late = g.check(t0_us=20 * P + int(1.1 * P), period_us=P, count=10, seq=3)
    assert late.accept and late.gap is None
    assert g.stats.duplicates == 0 and g.stats.samples_lost == 0 and g.stats.samples == 30
    # the same stamps without the counter saying "next" stay a duplicate and a gap
    g = GapTracker()
    g.check(t0_us=0, period_us=P, count=10, seq=1)
    assert not g.check(t0_us=10 * P - int(0.7 * P), period_us=P, count=10, seq=1).accept
    v = g.check(t0_us=10 * P + int(1.8 * P), period_us=P, count=10, seq=3)
    assert v.gap is not None and v.gap.samples_lost == 2
