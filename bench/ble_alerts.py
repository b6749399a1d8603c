"""Notification-to-alert latency over the BLE path, in real time.

The demo set (three virtual hipfirst sensors at 200 Hz, a simulated lifter with back-first
reps) runs through the real bleak client, the connection manager and the live session; for
every live alert the session records the time from the arrival of the notification whose
samples triggered it to the alert being raised (``LiveSummary.latencies_s``).

Run: ``.venv/bin/python bench/ble_alerts.py [--reps 10]`` (about 6 s per rep).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import numpy as np

from hipfirst.live.demo import DemoOptions, run_demo


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    logging.getLogger("bumble").setLevel(logging.ERROR)
    opts = DemoOptions(reps=args.reps, faults={"lumbar_first": args.reps // 2}, seed=31,
                       out_dir=None)  # fmt: skip
    res = asyncio.run(run_demo(opts))
    lat = np.array(res.summary.latencies_s) * 1000.0
    print(f"{len(res.summary.alerts)} live alerts in {args.reps} reps, 3 sensors at 200 Hz")
    if len(lat):
        print(
            f"notification arrival -> alert raised: median {np.median(lat):.2f} ms, "
            f"p95 {np.percentile(lat, 95):.2f} ms, max {lat.max():.2f} ms"
        )


if __name__ == "__main__":
    main()
