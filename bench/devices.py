"""Accuracy per supported device combination, at each device's sample rate.

Simulated sessions (seeds 7000+, never used in tests) run through the same evaluation as
``bench/accuracy.py`` with the sensors at the rates the drivers stream: hipfirst DIY
200 Hz, Movella DOT 60 Hz, Polar Verity Sense 52 Hz, WitMotion 100 Hz, a mixed set, and a
Polar H10/OH1 (accelerometer only) on the thigh. The simulator's IMU error model (bias,
scale, noise, int16) is the same for all; vendor-specific noise is not modelled. Live
packets are as each device sends them (DOT and WitMotion one sample per notification,
Verity Sense ~9 samples per frame, hipfirst 50 ms batches), so the alert latency includes
the packet wait.

Run: ``.venv/bin/python bench/devices.py [--sessions 12]``.
"""

from __future__ import annotations

import argparse
import time

import accuracy
import numpy as np
from accuracy import EXERCISES, Tally, evaluate, pct, rate

ALL = ("lumbar", "sacrum", "thigh")
COMBOS: dict[str, tuple[dict[str, object], dict[str, int]]] = {
    # (simulator settings, samples per notification as each device sends them)
    "hipfirst DIY x3 (200 Hz)": ({"rate_hz": 200.0}, dict.fromkeys(ALL, 10)),
    "Movella DOT x3 (60 Hz)": ({"rate_hz": 60.0}, dict.fromkeys(ALL, 1)),
    "Polar Verity Sense x3 (52 Hz)": ({"rate_hz": 52.0}, dict.fromkeys(ALL, 9)),
    "WitMotion x3 (100 Hz)": ({"rate_hz": 100.0}, dict.fromkeys(ALL, 1)),
    "mixed: DOT lumbar, WitMotion sacrum, Verity thigh": (
        {"rate_hz": {"lumbar": 60.0, "sacrum": 100.0, "thigh": 52.0}},
        {"lumbar": 1, "sacrum": 1, "thigh": 9},
    ),
    "Polar H10 thigh, accel only (52 Hz) + DOT x2": (
        {"rate_hz": {"lumbar": 60.0, "sacrum": 60.0, "thigh": 52.0}, "accel_only": ("thigh",)},
        {"lumbar": 1, "sacrum": 1, "thigh": 9},
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=12)
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"{args.sessions} simulated sessions per combination (seeds 7000+)")
    plain = accuracy.live_events
    for c, (name, (extra, packets)) in enumerate(COMBOS.items()):
        accuracy.live_events = lambda s, cfg, p=packets: plain(s, cfg, p)  # type: ignore[misc]
        tally = Tally()
        for i in range(args.sessions):
            ex = EXERCISES[i % len(EXERCISES)]
            faults = {"torso_drift": 1} if ex == "row" else {"lumbar_first": 2, "rounding": 1}
            sc = {"exercise": ex, "reps": 1 if ex == "row" else 6, "faults": faults,
                  "seed": 7000 + 100 * c + i, "mounting": "random", **extra}  # fmt: skip
            evaluate(sc, tally)
        lf_t = [f for t, f in tally.lf if t]
        lf_n = [not f for t, f in tally.lf if not t]
        print(
            f"{name:52s} hip {np.sqrt(np.mean(tally.hip_sq)):.2f}°  lumbar "
            f"{np.sqrt(np.mean(tally.lum_sq)):.2f}°  reps {tally.matched}/{tally.true_reps}"
            f"  back-first sens {rate(lf_t)} spec {rate(lf_n)}  live before bottom "
            f"{rate(tally.before_bottom)}  latency p50/p95 {pct(tally.latency_ms, 50):.0f}/"
            f"{pct(tally.latency_ms, 95):.0f} ms"
        )
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
