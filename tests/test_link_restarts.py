"""A device clock that restarts or a garbled time stamp, through the real ``SensorLink``
with real packet bytes (Movella DOT and hipfirst codecs): samples keep their place on the
session clock, the outage is one gap of its size, nothing is taken for a duplicate."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.devices.movella_dot import codec
from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.manager import GapEvent, HipfirstDriver, LinkSettings, SampleBlock
from firmware_bridge.manager.link import SensorLink
from firmware_bridge.profile import ImuPacket

P, N = 5000, 10


def _link(driver: object, events: list[object]) -> SensorLink:
    return SensorLink(
        "thigh", "AA:BB:CC:DD:EE:FF", driver, settings=LinkSettings(),  # type: ignore[arg-type]
        clock=lambda: 0.0, t0_s=0.0, emit=events.append,
    )  # fmt: skip


def _hipfirst_packet(seq: int, t_us: int) -> bytes:
    return bytes(
        ImuPacket(seq=seq % 65536, t0_us=t_us % 2**32, period_us=P, acc_range=1, gyr_range=2,
                  acc_raw=((0, 0, 8192),) * N, gyr_raw=((0, 0, 0),) * N)
    )  # fmt: skip


def _blocks(events: list[object]) -> list[SampleBlock]:
    return [e for e in events if isinstance(e, SampleBlock)]


def _gaps(events: list[object]) -> list[GapEvent]:
    return [e for e in events if isinstance(e, GapEvent)]


@pytest.mark.parametrize("uptime_min", [20, 40])
def test_a_dot_switched_off_and_on_keeps_its_samples_on_the_session_clock(uptime_min: int) -> None:
    """After more than 35.8 min of uptime the restarted u32 clock unwraps ~31 min ahead:
    every later sample was placed 1830 s in the future and the outage booked as 113278
    samples lost."""
    events: list[object] = []
    drv = MovellaDotDriver()
    drv.rate_hz = 60
    link = _link(drv, events)
    period, host, t = 1e6 / 60, 10.0, uptime_min * 60e6
    for phase in range(2):
        for _ in range(600):  # 10 s
            pkt = codec.encode_rate_quantities(round(t), np.array([0, 0, 1.0]), np.zeros(3))
            link._handle(host + 0.01, pkt)
            t += period
            host += period / 1e6
        if phase == 0:
            link.gaps.disconnected()
            host += 20.0  # off and on, reconnected 20 s later
            t = 3e6  # 3 s after its new boot
    last = _blocks(events)[-1]
    assert abs(last.time_s[-1] - last.arrival_s) < 0.1
    (gap,) = _gaps(events)
    assert gap.cause == "disconnect" and abs(gap.duration_s - 20.0) < 0.1
    assert abs(gap.samples_lost - 1200) <= 2


def test_one_garbled_time_stamp_is_dropped_not_believed() -> None:
    """The next packet by its counter stamped a minute ahead: taken as it was, every later
    sample of the session was placed 58 s in the future."""
    events: list[object] = []
    link = _link(HipfirstDriver(), events)
    dev, host = 600_000_000, 100.0
    link._seed_device_time(dev)
    for i in range(400):  # 20 s
        link._handle(host + 0.01, _hipfirst_packet(i, dev + (60_000_000 if i == 200 else 0)))
        dev += N * P
        host += N * P / 1e6
    assert link.gaps.stats.malformed == 1 and link.gaps.stats.duplicates == 0
    blocks = _blocks(events)
    assert len(blocks) == 399 and abs(blocks[-1].time_s[-1] - blocks[-1].arrival_s) < 0.1
    assert [g.samples_lost for g in _gaps(events)] == [N]


@pytest.mark.parametrize("uptime_s", [8.0, 300.0])
def test_a_rebooted_hipfirst_sensor_streams_on_with_its_outage_booked(uptime_s: float) -> None:
    """The reboot was seen (the clock read at reconnect went back) but the packet checks
    were not told: within 10 s of device uptime every new packet was a duplicate (1440 of
    2000 samples dropped), and the outage was never booked as a gap."""
    events: list[object] = []
    link = _link(HipfirstDriver(), events)
    dev, host, seq = 1_000_000, 50.0, 0
    link._seed_device_time(dev)
    while dev < uptime_s * 1e6:
        link._handle(host + 0.01, _hipfirst_packet(seq, dev))
        seq, dev, host = seq + 1, dev + N * P, host + N * P / 1e6
    before = link.gaps.stats.samples
    link.gaps.disconnected()
    host += 2.0  # rebooted, reconnected 2 s later
    link._seed_device_time(800_000)
    dev, seq = 820_000, 0
    for _ in range(200):
        link._handle(host + 0.01, _hipfirst_packet(seq, dev))
        seq, dev, host = seq + 1, dev + N * P, host + N * P / 1e6
    assert link.gaps.stats.samples - before == 200 * N
    assert link.gaps.stats.duplicates == 0
    (gap,) = _gaps(events)
    assert gap.cause == "disconnect" and abs(gap.duration_s - 2.0) < 0.1
