"""A sensor's device time across a long disconnect, through ``SensorLink`` with real
profile packet bytes (no radio: the link's own methods in the order a connection uses
them: state read -> device-time seed -> packets)."""

from __future__ import annotations

import pytest

from firmware_bridge.manager import GapEvent, HipfirstDriver, LinkSettings, SampleBlock
from firmware_bridge.manager.link import SensorLink
from firmware_bridge.profile import ImuPacket

PERIOD_US = 5000
N = 10


def packet(seq: int, t_us: int) -> bytes:
    return bytes(
        ImuPacket(seq=seq % 65536, t0_us=t_us % 2**32, period_us=PERIOD_US, acc_range=1,
                  gyr_range=2, acc_raw=((0, 0, 8192),) * N, gyr_raw=((0, 0, 0),) * N)
    )  # fmt: skip


def test_reconnect_after_more_than_35_minutes_keeps_device_time_and_records_the_gap() -> None:
    # the packets' u32 microsecond stamps wrap every 71.6 min and are unwrapped by nearest
    # distance: after 40 min away the first packet would unwrap 31.6 min into the past
    events: list[object] = []
    link = SensorLink("lumbar", "AA:BB:CC:DD:EE:FF", HipfirstDriver(), settings=LinkSettings(),
                      clock=lambda: 0.0, t0_s=0.0, emit=events.append)  # fmt: skip
    dev = 10_000_000_000  # up 2.8 h: the 64-bit clock is past 2^32
    link._seed_device_time(dev)
    seq, t, host = 0, dev + 100_000, 100.0
    for _ in range(20):
        link._handle(host, packet(seq, t))
        seq, t, host = seq + 1, t + N * PERIOD_US, host + N * PERIOD_US / 1e6
    away_us = 40 * 60 * 1_000_000
    seq, t, host = seq + 1, t + away_us, host + away_us / 1e6
    link.gaps.disconnected()
    link._seed_device_time(t - 20_000)  # the state read on reconnecting: the full clock
    for _ in range(5):
        link._handle(host, packet(seq, t))
        seq, t, host = seq + 1, t + N * PERIOD_US, host + N * PERIOD_US / 1e6
    blocks = [e for e in events if isinstance(e, SampleBlock)]
    gaps = [e for e in events if isinstance(e, GapEvent)]
    assert len(blocks) == 25
    assert blocks[20].device_time_s[0] == pytest.approx((t - 5 * N * PERIOD_US) / 1e6, abs=1e-6)
    assert [(g.cause, round(g.duration_s)) for g in gaps] == [("disconnect", 2400)]


def test_probe_loop_probes_every_50ms_for_the_first_30s_then_every_250ms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the clock fit's lower bound comes from the earliest probes: many at the start of a
    # connection align a new link within seconds (bench/clock_sync.py); no real time here,
    # the loop's sleeps advance a fake clock
    import asyncio

    from firmware_bridge.manager import link as link_module

    now = [100.0]
    sleeps: list[tuple[float, float]] = []  # (seconds into the connection, pause)

    class Client:
        is_connected = True

    client = Client()

    class Driver(HipfirstDriver):
        async def probe(self, client: object, clock: object) -> None:
            now[0] += 0.01  # write, connection event, ack
            return None

    async def fake_sleep(delay: float) -> None:
        sleeps.append((now[0] - 100.0, delay))
        now[0] += delay
        if now[0] > 160.0:
            client.is_connected = False

    link = SensorLink("lumbar", "AA:BB:CC:DD:EE:FF", Driver(), settings=LinkSettings(),
                      clock=lambda: now[0], t0_s=0.0, emit=lambda e: None)  # fmt: skip
    monkeypatch.setattr(link_module.asyncio, "sleep", fake_sleep)
    asyncio.run(link._probe_loop(client))  # type: ignore[arg-type]
    early = [d for t, d in sleeps if t < 29.9]
    late = [d for t, d in sleeps if t > 30.1]
    assert len(early) > 300 and all(0.025 <= d <= 0.075 for d in early)
    assert len(late) > 100 and all(0.125 <= d <= 0.375 for d in late)
