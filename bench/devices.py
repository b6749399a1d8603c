"""Accuracy and live-cue timing per supported device combination, from the devices' bytes.

Each simulated session (``analysis.sim``, seeds 7000+, never used in tests) is turned into
the notifications each device sends, as the device twins in ``firmware_bridge/devices``
build them, and decoded back by the real drivers:

- **hipfirst DIY** (200 Hz): profile IMU packets of 10 samples (50 ms), int16 at ±8 g /
  ±2000 °/s, decoded by ``HipfirstDriver.decode``; sent when the last sample is taken.
- **Movella DOT** (60 Hz): one "rate quantities" notification per sample (float32, µs
  stamp), decoded by ``MovellaDotDriver.decode``.
- **WitMotion** (100 Hz): one ``55 61`` frame per sample (int16 at ±16 g / ±2000 °/s),
  decoded by the codec. Sample times are the simulator's: the driver's arrival-count
  timeline (``witmotion/timeline.py``) is not exercised here.
- **Polar Verity Sense** (52 Hz normal mode, 208 Hz SDK mode) and **H10** (52 Hz,
  accelerometer only): the Polar twin's own packer (``polar/twin.py``: delta-compressed
  frames grown until the next sample would not fit the ATT payload, MTU 247 -> 244 bytes,
  or 255 deltas; ACC type 1 in mG, GYRO type 0 with range/32768 °/s per count). As in the
  twin, a frame goes out when the sample that does not fit it is taken (one period after
  its last sample) or at the end. Frames are decoded by ``PolarDriver.decode``, which
  spreads sample times back from the frame stamps and pairs ACC with GYRO; a pipeline
  packet is a run the driver releases.

Arrival = send time + a fixed radio delay (``--radio-ms``, default 30 ms: about one BLE
connection interval of a desktop central; the virtual link's own transport is ~2 ms,
``bench/ble.py``). Device clocks are mapped back to the common clock exactly (perfect
clock sync; how well ``firmware_bridge/clock_sync.py`` aligns the sensors' clocks live is
``bench/clock_sync.py``).

Per combination: hip / lumbar angle RMSE vs truth of the offline review and of the live
pipeline (default config, as the app runs it), lumbar_first sensitivity / specificity of
the review, live alert latency (true 3° lumbar departure -> arrival of the packet that
completed the alert; median / p95), share of lumbar-first reps whose alert ARRIVED before
the true bottom, and live false alarms on other reps.

Also: Polar frame sizes and sample -> arrival waits on the real IMU recordings of BROAD
(``../shared/data/broad``), resampled to 52-416 Hz, since the simulator's quieter signal
gives larger frames; ``--polar-max-samples N`` caps Polar frames to mimic those sizes.

Run: ``.venv/bin/python bench/devices.py [--sessions 6] [--radio-ms 30] [--only polar]
[--polar-max-samples 72] [--no-broad]`` (12 sessions: about 2.5 min on one core).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from accuracy import (
    EXERCISES,
    Tally,
    _faults,
    _rep_span,
    _sq_err,
    match_reps,
    pct,
    true_crossing,
)

from analysis.config import PipelineConfig
from analysis.review import review_session
from analysis.session import SensorStream, Session
from analysis.sim import SimConfig, simulate
from analysis.stream import SensorSpec, StreamingPipeline
from firmware_bridge.devices.movella_dot import codec as dot_codec
from firmware_bridge.devices.movella_dot.driver import MovellaDotDriver
from firmware_bridge.devices.polar import pmd_codec as pmd
from firmware_bridge.devices.polar.driver import PolarDriver
from firmware_bridge.devices.polar.twin import _Packer  # the twin's own frame packer
from firmware_bridge.devices.witmotion import codec as wit_codec
from firmware_bridge.manager.hipfirst_driver import HipfirstDriver
from firmware_bridge.profile.imu_packet import ImuPacket

ALL = ("lumbar", "sacrum", "thigh")
POLAR_MTU = 247
POLAR_GYR_RANGE_DPS = 2000


@dataclass(frozen=True)
class Packet:
    """One pipeline push: decoded samples on the common clock and when they were sent."""

    sent_s: float
    name: str
    time_s: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray | None
    notifications: int = 1
    """Notifications (per stream: ACC frames for Polar) decoded before this push."""


@dataclass(frozen=True)
class Src:
    """One simulated sensor: common-clock times, its own clock, values."""

    name: str
    time_s: np.ndarray
    dev_s: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray | None

    def host(self, dev_s: np.ndarray) -> np.ndarray:
        """Device clock -> common clock (perfect sync)."""
        return np.interp(dev_s, self.dev_s, self.time_s)


def _gyr(src: Src) -> np.ndarray:
    return src.gyr_dps if src.gyr_dps is not None else np.zeros_like(src.acc_g)


def hipfirst_packets(src: Src, *, per_packet: int = 10) -> list[Packet]:
    drv, out = HipfirstDriver(), []
    period_us = round(float(np.median(np.diff(src.dev_s))) * 1e6)
    acc = np.clip(np.rint(src.acc_g / 8 * 32768), -32768, 32767).astype(int)
    gyr = np.clip(np.rint(_gyr(src) / 2000 * 32768), -32768, 32767).astype(int)
    for seq, i in enumerate(range(0, len(src.time_s), per_packet)):
        j = min(len(src.time_s), i + per_packet)
        t0_us = round((src.dev_s[i] - src.dev_s[0]) * 1e6)
        pkt = ImuPacket(seq=seq % 65536, t0_us=t0_us, period_us=period_us, acc_range=2,
                        gyr_range=4, acc_raw=tuple(map(tuple, acc[i:j])),
                        gyr_raw=tuple(map(tuple, gyr[i:j])))  # fmt: skip
        f = drv.decode(bytes(pkt))
        dev = src.dev_s[0] + (f.t0_us + f.period_us * np.arange(f.count)) / 1e6
        out.append(Packet(float(src.time_s[j - 1]), src.name, src.host(dev), f.acc_g, f.gyr_dps))
    return out


def dot_packets(src: Src) -> list[Packet]:
    drv, out, gyr = MovellaDotDriver(), [], _gyr(src)
    drv.rate_hz = 60
    for i in range(len(src.time_s)):
        ts = round((src.dev_s[i] - src.dev_s[0]) * 1e6)
        f = drv.decode(dot_codec.encode_rate_quantities(ts, src.acc_g[i], gyr[i]))
        dev = np.array([src.dev_s[0] + f.t0_us / 1e6])
        out.append(Packet(float(src.time_s[i]), src.name, src.host(dev), f.acc_g, f.gyr_dps))
    return out


def witmotion_packets(src: Src) -> list[Packet]:
    out, gyr = [], _gyr(src)
    for i in range(len(src.time_s)):
        acc, g, _ = wit_codec.decode_data(
            wit_codec.encode_data(src.acc_g[i : i + 1], gyr[i : i + 1])
        )
        t = src.time_s[i : i + 1]
        out.append(Packet(float(t[0]), src.name, t, acc, g))
    return out


def polar_packets(src: Src, *, mtu: int = POLAR_MTU, max_samples: int = 256) -> list[Packet]:
    """Frames as the Polar twin packs them, decoded and paired by the Polar driver.
    ``max_samples`` caps a frame's samples (to mimic a device that sends shorter frames)."""
    gyro = src.gyr_dps is not None
    rate_hz = 1.0 / float(np.median(np.diff(src.dev_s)))
    gyr_scale = POLAR_GYR_RANGE_DPS / 32768
    drv = PolarDriver()
    drv.configure(rate_hz=rate_hz, gyro=gyro, factor={pmd.Measurement.ACC: 1.0,
                                                      pmd.Measurement.GYRO: gyr_scale})  # fmt: skip
    dev_ns = 789_000_000 * 10**9 + np.rint((src.dev_s - src.dev_s[0]) * 1e9).astype(np.int64)
    streams = [(pmd.Measurement.ACC, 1, 1e-3, src.acc_g)]  # ACC compressed type 1, mG
    if gyro:
        streams.append((pmd.Measurement.GYRO, 0, gyr_scale, _gyr(src)))
    counts = [np.clip(np.rint(v / s), -32768, 32767).astype(int).tolist() for _, _, s, v in streams]
    packers = [_Packer(m, ft, s) for m, ft, s, _ in streams]
    frames: list[tuple[float, bytes]] = []
    for k in range(len(src.time_s)):
        for p, c in zip(packers, counts, strict=True):
            if len(p.rows) >= max_samples or not p.fits(c[k], mtu - 3):
                frames.append((float(src.time_s[k]), p.take()[0]))
            p.add(c[k], int(dev_ns[k]))
    for p in packers:
        if p.rows:
            frames.append((float(src.time_s[-1]), p.take()[0]))
    out, acc_frames = [], 0
    for sent, data in frames:  # in send order (stable: ACC before GYRO at the same sample)
        acc_frames += data[0] == pmd.Measurement.ACC
        f = drv.decode(data)
        if f is None:
            continue
        dev = src.dev_s[0] + (f.t0_us * 1e3 + f.period_us * 1e3 * np.arange(f.count)
                              - 789_000_000 * 10**9) / 1e9  # fmt: skip
        out.append(Packet(sent, src.name, src.host(dev), f.acc_g, f.gyr_dps, acc_frames))
        acc_frames = 0
    return out


Encoder = Callable[[Src], list[Packet]]
DEVICES: dict[str, tuple[float, Encoder]] = {
    "diy": (200.0, hipfirst_packets),
    "dot": (60.0, dot_packets),
    "wit": (100.0, witmotion_packets),
    "polar52": (52.0, polar_packets),
    "polar208": (208.0, polar_packets),
    "polar416": (416.0, polar_packets),
    "h10": (52.0, polar_packets),  # accelerometer only: the twin's ACC frames alone
}
COMBOS: dict[str, dict[str, str]] = {
    "hipfirst DIY x3 (200 Hz, 10-sample packets)": dict.fromkeys(ALL, "diy"),
    "Movella DOT x3 (60 Hz)": dict.fromkeys(ALL, "dot"),
    "WitMotion x3 (100 Hz)": dict.fromkeys(ALL, "wit"),
    "Polar Verity Sense x3 (52 Hz, normal mode)": dict.fromkeys(ALL, "polar52"),
    "Polar Verity Sense x3 (208 Hz, SDK mode)": dict.fromkeys(ALL, "polar208"),
    "Polar Verity Sense x3 (416 Hz, SDK mode)": dict.fromkeys(ALL, "polar416"),
    "DOT lumbar, WitMotion sacrum, Verity thigh 208 Hz": {
        "lumbar": "dot",
        "sacrum": "wit",
        "thigh": "polar208",
    },
    "DOT x2 + Polar H10 thigh (52 Hz, accel only)": {
        "lumbar": "dot",
        "sacrum": "dot",
        "thigh": "h10",
    },
}


@dataclass
class DeviceTally(Tally):
    """``bench/accuracy.py``'s tally plus what the radio and the driver did."""

    samples: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    """Samples the device sent that the driver never handed on."""
    wait_ms: list[float] = field(default_factory=list)
    """Per sample: arrival of its packet minus its own time (packet wait + radio)."""


def evaluate(
    sc: dict[str, object],
    combo: dict[str, str],
    tally: DeviceTally,
    *,
    radio_s: float,
    devices: dict[str, tuple[float, Encoder]],
) -> None:
    rates = {n: devices[d][0] for n, d in combo.items()}
    accel_only = tuple(n for n, d in combo.items() if d == "h10")
    sim = simulate(SimConfig(**sc, rate_hz=rates, accel_only=accel_only))  # type: ignore[arg-type]
    packets: list[Packet] = []
    for n, dev in combo.items():
        st = sim.session.sensors[n]
        src = Src(n, np.asarray(st.time_s), np.asarray(sim.device_time_s[n]), st.acc_g, st.gyr_dps)
        mine = devices[dev][1](src)
        packets += mine
        tally.samples[dev] = tally.samples.get(dev, 0) + len(src.time_s)
        sent = sum(p.notifications for p in mine)
        tally.notifications[dev] = tally.notifications.get(dev, 0) + sent
        tally.lost += len(src.time_s) - sum(len(p.time_s) for p in mine)
        for p in mine:
            tally.wait_ms += list((p.sent_s + radio_s - p.time_s) * 1000.0)
    decoded = {}
    for n in combo:
        ps = [p for p in packets if p.name == n]
        gyr = None if ps[0].gyr_dps is None else np.concatenate([p.gyr_dps for p in ps])  # type: ignore[misc]
        decoded[n] = SensorStream(n, np.concatenate([p.time_s for p in ps]),
                                  np.concatenate([p.acc_g for p in ps]), gyr)  # fmt: skip
    cfg = PipelineConfig.for_exercise(str(sc["exercise"]))
    rv = review_session(Session(decoded), config=cfg)
    ta = sim.angles
    t = np.asarray(ta.time_s)
    tally.hip_sq += _sq_err(t, rv.angles.time_s, rv.angles.hip_deg, np.asarray(ta.hip_deg))
    tally.lum_sq += _sq_err(t, rv.angles.time_s, rv.angles.lumbar_deg, np.asarray(ta.lumbar_deg))

    specs = {n: SensorSpec(rate_hz=s.rate_hz, has_gyro=s.gyr_dps is not None)
             for n, s in decoded.items()}  # fmt: skip
    pipe = StreamingPipeline(cfg, sensors=specs, record=True)
    arrived: list[tuple[float, object]] = []
    for p in sorted(packets, key=lambda p: p.sent_s):  # stable: per-sensor order kept
        at = p.sent_s + radio_s
        for ev in pipe.push(p.name, p.time_s, p.acc_g, p.gyr_dps, arrival_s=at):
            arrived.append((at, ev))
    end = max(p.sent_s for p in packets) + radio_s
    arrived += [(end, ev) for ev in pipe.finish()]
    if pipe.chunks:
        lt = np.concatenate([c.time_s for c in pipe.chunks])
        if pipe.layout.has_hip:
            hip = np.concatenate([c.hip for c in pipe.chunks])
            tally.hip_live_sq += _sq_err(t, lt, hip, np.asarray(ta.hip_deg))
        if pipe.layout.has_lumbar:
            lum = np.concatenate([c.lumbar for c in pipe.chunks])
            tally.lum_live_sq += _sq_err(t, lt, lum, np.asarray(ta.lumbar_deg))
    alerts = [(at, ev) for at, ev in arrived
              if ev.kind == "alert" and ev.flag == "lumbar_first"]  # type: ignore[attr-defined]  # fmt: skip
    truth = list(sim.reps)
    tally.true_reps += len(truth)
    for tr, fr in match_reps(truth, rv.reps):
        start, bottom, end_s = _rep_span(tr)
        lf_true = "lumbar_first" in _faults(tr)
        if fr is not None:
            tally.matched += 1
            tally.lf.append((lf_true, "lumbar_first" in fr.flags))
        mine = [(at, ev) for at, ev in alerts if start - 0.5 <= ev.time_s <= end_s]  # type: ignore[attr-defined]
        if not lf_true:
            tally.live_false.append(bool(mine))
            continue
        cross = true_crossing(ta, tr, cfg.lumbar_departure_deg)
        if mine and cross is not None:
            tally.latency_ms.append((mine[0][0] - cross) * 1000.0)
        tally.before_bottom.append(bool(mine) and mine[0][0] < bottom)


def broad_frames(max_samples: int, radio_s: float) -> None:
    """Polar frame sizes on real IMU data: each BROAD trial (one IMU, 285.7 Hz; optical
    truth unused) resampled to the Verity Sense rates as the twin resamples its source."""
    from broad import DATA, load_trial  # bench/ is on sys.path when run as a script

    paths = sorted(DATA.glob("*.csv.gz"))
    if not paths:
        print("BROAD data not found: Polar frame sizes on real IMU data skipped")
        return
    trials = [load_trial(p) for p in paths]
    print(f"Polar frames on real IMU data ({len(trials)} BROAD trials, resampled):")
    for rate in (52.0, 104.0, 208.0, 416.0):
        sizes: list[float] = []
        wait: list[np.ndarray] = []
        for tr in trials:
            d = np.arange(tr.time_s[0], tr.time_s[-1], 1.0 / rate)
            acc = np.column_stack([np.interp(d, tr.time_s, tr.acc_g[:, c]) for c in range(3)])
            gyr = np.column_stack([np.interp(d, tr.time_s, tr.gyr_dps[:, c]) for c in range(3)])
            ps = polar_packets(Src(tr.name, d, d, acc, gyr), max_samples=max_samples)
            sizes.append(len(d) / sum(p.notifications for p in ps))
            wait += [(p.sent_s + radio_s - p.time_s) * 1000.0 for p in ps]
        w = np.concatenate(wait)
        print(
            f"  {rate:3.0f} Hz: samples per ACC frame {np.mean(sizes):.0f} (trials "
            f"{min(sizes):.0f}-{max(sizes):.0f}), sample -> arrival p50/p95 "
            f"{pct(list(w), 50):.0f}/{pct(list(w), 95):.0f} ms"
        )


def frac(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)}" if flags else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description="accuracy per device combination, from the bytes")
    ap.add_argument("--sessions", type=int, default=6, help="per combination (seeds 7000+)")
    ap.add_argument("--radio-ms", type=float, default=30.0, help="fixed BLE delay per packet")
    ap.add_argument(
        "--polar-max-samples", type=int, default=256, help="cap Polar frames at this many samples"
    )
    ap.add_argument("--no-broad", action="store_true", help="skip Polar frames on BROAD")
    ap.add_argument("--only", default="", help="run combinations whose name contains this")
    args = ap.parse_args()
    t0 = time.perf_counter()
    radio_s = args.radio_ms / 1000.0
    polar = functools.partial(polar_packets, max_samples=args.polar_max_samples)
    devices = {k: (r, polar if enc is polar_packets else enc) for k, (r, enc) in DEVICES.items()}
    if args.polar_max_samples < 256:
        print(f"Polar frames capped at {args.polar_max_samples} samples")
    last = 7000 + args.sessions - 1
    print(
        f"{args.sessions} simulated sessions per combination (seeds 7000..{last}, the same "
        f"for every combination), radio delay {args.radio_ms:g} ms"
    )
    head = ("combination", "samples/notification", "wait p50/p95 ms", "hip/lum RMSE review",
            "hip/lum RMSE live", "LF sens", "LF spec", "latency p50/p95 ms", "before bottom",
            "live false")  # fmt: skip
    print(" | ".join(head))
    for name, combo in COMBOS.items():
        if args.only.lower() not in name.lower():
            continue
        tally = DeviceTally()
        for i in range(args.sessions):
            ex = EXERCISES[i % len(EXERCISES)]
            faults = {"torso_drift": 1} if ex == "row" else {"lumbar_first": 2, "rounding": 1}
            sc = {"exercise": ex, "reps": 1 if ex == "row" else 6, "faults": faults,
                  "seed": 7000 + i, "mounting": "random"}  # fmt: skip
            evaluate(sc, combo, tally, radio_s=radio_s, devices=devices)
        lf_t = [f for t, f in tally.lf if t]
        lf_n = [not f for t, f in tally.lf if not t]
        lat = tally.latency_ms
        rms = lambda x: float(np.sqrt(np.mean(x))) if x else float("nan")  # noqa: E731
        print(" | ".join((
            name, ", ".join(f"{d} {tally.samples[d] / max(tally.notifications[d], 1):.1f}"
                            for d in tally.samples)
            + (f" ({tally.lost} lost)" if tally.lost else ""),
            f"{pct(tally.wait_ms, 50):.0f}/{pct(tally.wait_ms, 95):.0f}",
            f"{rms(tally.hip_sq):.2f}°/{rms(tally.lum_sq):.2f}°",
            f"{rms(tally.hip_live_sq):.2f}°/{rms(tally.lum_live_sq):.2f}°",
            frac(lf_t), frac(lf_n),
            f"{pct(lat, 50):.0f}/{pct(lat, 95):.0f} (n={len(lat)})",
            frac(tally.before_bottom), frac(tally.live_false),
        )), flush=True)  # fmt: skip
    if not args.no_broad:
        broad_frames(args.polar_max_samples, radio_s)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
