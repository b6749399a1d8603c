"""Read speed of ``read_session_csv`` against a bare ``pyarrow.csv`` parse of the same file.

Writes a 60-minute, 3-sensor, 200 Hz session (≈ 2.16 M rows) with ``write_session_csv``
into a temporary directory, then times (best of ``--repeat``):
  bare    ``pyarrow.csv.read_csv(path)`` with default options (type inference, threads)
  reader  ``read_session_csv(path)`` (header checks, typed parse, validation, Session)
and prints both and their ratio (target: ratio <= 2). Also prints the write time.

    .venv/bin/python bench/read_speed.py [--minutes 60] [--rate 200] [--repeat 3] [--gz]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from analysis.session import SensorStream, Session
from analysis.session_csv import read_session_csv, write_session_csv


def make_session(*, minutes: float, rate_hz: float, seed: int = 7) -> Session:
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * rate_hz)
    streams = {}
    for k, name in enumerate(("lumbar", "sacrum", "thigh")):
        t = np.arange(n) / rate_hz + k * 0.0013 + rng.normal(0, 2e-5, n).clip(-1e-4, 1e-4)
        acc = np.cumsum(rng.normal(0, 0.002, (n, 3)), axis=0) % 2.0 - 1.0
        gyr = rng.normal(0, 40.0, (n, 3))
        streams[name] = SensorStream(name, t, acc, gyr)
    return Session(streams)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gz", action="store_true", help="also time a gzip-compressed copy")
    args = ap.parse_args()
    session = make_session(minutes=args.minutes, rate_hz=args.rate)
    rows = sum(s.samples for s in session.sensors.values())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        write_session_csv(session, path)
        t_write = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(f"file: {rows} rows, {size_mb:.1f} MB; write_session_csv {t_write:.2f} s")
        t_bare = best(lambda: pacsv.read_csv(path), args.repeat)
        t_read = best(lambda: read_session_csv(path), args.repeat)
        print(f"bare pyarrow.csv.read_csv: {t_bare:.3f} s")
        print(f"read_session_csv:          {t_read:.3f} s")
        print(f"ratio reader/bare:         {t_read / t_bare:.2f} (target <= 2)")
        if args.gz:
            gz = Path(tmp) / "bench.csv.gz"
            write_session_csv(session, gz)
            t_gz = best(lambda: read_session_csv(gz), args.repeat)
            print(f"read_session_csv (.gz):    {t_gz:.3f} s ({gz.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
