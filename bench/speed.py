"""Speed and memory of the analysis pipeline.

0. A machine reference (a pure-Python loop, a small numpy call), to compare runs.
1. Streaming throughput (× real time, one core): a 3-sensor 200 Hz session pushed in
   packets of ``--chunks`` samples per sensor, interleaved by time as a radio delivers them,
   each packet run as it comes (the cost of a session that keeps up); then the same
   10-sample packets handed over as one backlog, batched as ``LiveSession`` batches a backlog
   (``push(defer=True)`` while more blocks wait, at most ``MAX_DEFER`` in a row): how fast
   the live path can go when it is fed faster than it runs (a replay, or catching up).
2. Offline review of a 60-minute 3-sensor 200 Hz session from CSV: parse time (the
   project's ``read_session_csv`` if present) against a bare pyarrow CSV parse of the same
   file as the floor, review time, peak Python memory (tracemalloc); then the user's
   ``hipfirst review FILE --json`` in a fresh process: wall time, its peak RSS, its largest
   forked orientation child's, and the peak proportional set size of all of them.

Run: ``.venv/bin/python bench/speed.py`` (1.5-2 minutes here; ``--skip-offline`` for part 1 only).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from pathlib import Path

import numpy as np

from analysis.offline_up import default_workers
from analysis.results import LiveEvent, RepResult
from analysis.review import review_session
from analysis.session import SensorStream, Session
from analysis.stream import SensorSpec, StreamingPipeline
from hipfirst.live.session import MAX_DEFER


def make_session(minutes: float, rate_hz: float, seed: int) -> Session:
    """A long session from the project's lifter simulator (hinge sets with rests)."""
    from analysis.sim import SimConfig, simulate

    reps = max(1, int(minutes * 60 / 6))
    res = simulate(SimConfig(exercise="hinge", reps=reps, seed=seed, rate_hz=rate_hz))
    return res.session


def loop_to(session: Session, minutes: float) -> Session:
    """Repeat a session end to end until it lasts ``minutes`` (times stay increasing)."""
    out = {}
    for name, st in session.sensors.items():
        span = float(st.time_s[-1] - st.time_s[0]) + 1.0 / st.rate_hz
        laps = int(np.ceil(minutes * 60 / span))
        t = np.concatenate([st.time_s + i * span for i in range(laps)])
        keep = t < minutes * 60
        acc = np.concatenate([st.acc_g] * laps)[keep]
        gyr = None if st.gyr_dps is None else np.concatenate([st.gyr_dps] * laps)[keep]
        out[name] = SensorStream(name, t[keep], acc, gyr)
    return Session(out, source=session.source, meta=session.meta)


def write_csv(session: Session, path: Path) -> int:
    """Write the DOMAIN.md session CSV (rows in time order); returns the row count."""
    parts = []
    for name, st in session.sensors.items():
        parts.append((st.time_s, np.full(st.samples, name, dtype=object), st.acc_g, st.gyr_dps))
    t = np.concatenate([p[0] for p in parts])
    order = np.argsort(t, kind="stable")
    names = np.concatenate([p[1] for p in parts])[order]
    acc = np.concatenate([p[2] for p in parts])[order]
    gyr = np.concatenate([p[3] for p in parts])[order]
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table(
        {
            "time_s": pa.array(np.round(t[order], 6)),
            "sensor": pa.array(names.astype(str)),
            "acc_x_g": acc[:, 0].round(5),
            "acc_y_g": acc[:, 1].round(5),
            "acc_z_g": acc[:, 2].round(5),
            "gyr_x_dps": gyr[:, 0].round(3),
            "gyr_y_dps": gyr[:, 1].round(3),
            "gyr_z_dps": gyr[:, 2].round(3),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return len(t)


def bare_parse(path: Path) -> float:
    import pyarrow.csv as pacsv

    t0 = time.perf_counter()
    pacsv.read_csv(path)
    return time.perf_counter() - t0


def read_session(path: Path) -> Session:
    try:
        from analysis.session_csv import read_session_csv
    except ImportError:
        return _read_pyarrow(path)
    return read_session_csv(path)


def _read_pyarrow(path: Path) -> Session:
    import pyarrow.csv as pacsv

    tab = pacsv.read_csv(path)
    sensor = np.asarray(tab["sensor"].to_numpy(zero_copy_only=False))
    cols = {c: tab[c].to_numpy() for c in tab.column_names if c != "sensor"}
    out = {}
    for name in np.unique(sensor):
        m = sensor == name
        acc = np.column_stack([cols[f"acc_{a}_g"][m] for a in "xyz"])
        gyr = np.column_stack([cols[f"gyr_{a}_dps"][m] for a in "xyz"])
        out[str(name)] = SensorStream(str(name), cols["time_s"][m], acc, gyr)
    return Session(out, source=str(path))


CLI_REVIEW = """
import resource, sys, time
from hipfirst.cli import main
t0 = time.perf_counter()
rc = main(["review", sys.argv[1], "--json"])
wall = time.perf_counter() - t0
# VmHWM: this process's own peak (ru_maxrss would carry the bench's over from the fork)
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(rc, wall, status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
"""


def _tree_pss_kb(pid: int) -> int:
    """Proportional set size of a process and its descendants (kB; Linux): pages shared
    between a parent and its forked workers are counted once in the sum."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            total += int(rollup.split("\nPss:")[1].split()[0])
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, IndexError):  # gone meanwhile, or not Linux
            continue
        todo += [int(k) for k in kids]
    return total


def cli_review(path: Path) -> tuple[float, float, float, float]:
    """The user's command (``hipfirst review FILE --json``, read + review + JSON) in a fresh
    process: wall time (Python start-up excluded, the command's imports included), its
    peak RSS, its largest forked child's, and the peak of the whole process tree's proportional
    set size (sampled every 20 ms), in MB (Linux)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI_REVIEW, str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak_pss = 0
    while proc.poll() is None:
        peak_pss = max(peak_pss, _tree_pss_kb(proc.pid))
        time.sleep(0.02)
    err = proc.stderr.read() if proc.stderr else ""
    last = err.strip().splitlines()[-1].split() if err.strip() else []
    if proc.returncode != 0 or len(last) != 4 or last[0] != "0":
        raise SystemExit(f"hipfirst review failed: {err.strip()[:500]}")
    _, wall, self_kb, child_kb = last
    return float(wall), float(self_kb) / 1024, float(child_kb) / 1024, peak_pss / 1024


def machine_reference() -> str:
    """Pure-Python and small-numpy speed, for comparing runs on different machines or days
    (the streaming figures are bound by both)."""
    py_ms = min(timeit.repeat("sum(range(1_000_000))", number=1, repeat=5)) * 1000
    small = np.zeros(10)
    np_us = min(timeit.repeat(small.sum, number=10_000, repeat=5)) / 10_000 * 1e6
    return f"machine: sum(range(10**6)) {py_ms:.1f} ms, numpy sum of 10 values {np_us:.2f} us"


def _packets(
    session: Session, chunk: int
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]]:
    """Packets of ``chunk`` samples per sensor, in the order their last samples were taken."""
    packets = []
    for n, st in session.sensors.items():
        for i in range(0, st.samples, chunk):
            j = min(st.samples, i + chunk)
            packets.append((float(st.time_s[j - 1]), n, i, j))
    packets.sort()
    sl = [
        (
            n,
            session.sensors[n].time_s[i:j],
            session.sensors[n].acc_g[i:j],
            session.sensors[n].gyr_dps[i:j],
        )
        for _, n, i, j in packets
    ]
    return sl


def streaming_throughput(
    session: Session, chunk: int, *, max_defer: int = 0
) -> tuple[float, float, list[str]]:
    """× real time, wall seconds and the events (as text). ``max_defer`` > 0: the packets
    are a backlog (all waiting) and are batched by the live session's rule."""
    specs = {n: SensorSpec(rate_hz=st.rate_hz, has_gyro=True) for n, st in session.sensors.items()}
    pipe = StreamingPipeline(sensors=specs)
    sl = _packets(session, chunk)
    events = []
    deferred = 0
    t0 = time.perf_counter()
    for k, (n, t, a, g) in enumerate(sl):
        defer = max_defer > 0 and k + 1 < len(sl) and deferred < max_defer
        deferred = deferred + 1 if defer else 0
        events += pipe.push(n, t, a, g, defer=defer)
    events += pipe.finish()
    wall = time.perf_counter() - t0
    span = max(float(st.time_s[-1]) for st in session.sensors.values())
    return span / wall, wall, [_event_text(e) for e in events]


def _event_text(e: LiveEvent) -> str:
    """An event as text, its numbers to 9 significant digits: chunking changes the last bits
    of a float sum (the stages match batch to rounding, ``tests/test_stages.py``)."""
    rep = "" if e.rep is None else _rep_text(e.rep)
    return f"{e.kind} {e.time_s:.9g} {e.rep_index} {e.flag} {e.message} {rep}"


def _rep_text(rep: RepResult) -> str:
    fields = vars(rep).items()
    nums = " ".join(f"{k}={v:.9g}" for k, v in fields if isinstance(v, float))
    return f"{nums} {','.join(rep.flags)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--stream-minutes", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument(
        "--chunks", type=int, nargs="+", default=[10, 25, 100, 200], help="packet sizes to stream"
    )
    ap.add_argument("--skip-offline", action="store_true", help="only the streaming part")
    args = ap.parse_args()

    print(machine_reference())
    base = make_session(10.0, args.rate, args.seed)
    short = loop_to(base, args.stream_minutes)
    print(f"streaming, {args.stream_minutes:g} min, 3 sensors at {args.rate:g} Hz, one core:")
    reference: list[str] | None = None
    for chunk in args.chunks:
        x, wall, events = streaming_throughput(short, chunk)
        reference = reference or events
        print(
            f"  packets of {chunk:3d} samples, each run as it comes: {x:7.0f}x real time "
            f"({wall:.2f} s, {len(events)} events)"
        )
    x, wall, events = streaming_throughput(short, 10, max_defer=MAX_DEFER)
    same = "the same events" if events == reference else "DIFFERENT EVENTS"
    print(
        f"  packets of  10 samples as a backlog, batched by the live session (up to {MAX_DEFER}"
        f" packets a run): {x:7.0f}x real time ({wall:.2f} s, {same})"
    )
    if args.skip_offline:
        return

    session = loop_to(base, args.minutes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.csv"
        rows = write_csv(session, path)
        mb = path.stat().st_size / 1e6
        print(f"offline, {args.minutes:g} min session: {rows} rows, {mb:.0f} MB CSV")
        floor = min(bare_parse(path) for _ in range(2))
        print(f"  bare pyarrow CSV parse (floor): {floor:.2f} s")
        t0 = time.perf_counter()
        sess = read_session(path)
        t_read = time.perf_counter() - t0
        tracemalloc.start()
        t0 = time.perf_counter()
        rv = review_session(sess)
        t_rev = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # a second, untraced run for the time without tracemalloc overhead
        t0 = time.perf_counter()
        review_session(sess)
        t_rev2 = time.perf_counter() - t0
        cli_wall, cli_rss, cli_worker, cli_pss = cli_review(path)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  read_session_csv: {t_read:.2f} s")
    print(
        f"  review_session: {t_rev2:.2f} s ({t_rev:.2f} s under tracemalloc), {len(rv.reps)} reps"
    )
    print(f"  read + review: {t_read + t_rev2:.2f} s")
    print(f"  peak Python memory in review (tracemalloc): {peak / 1e6:.0f} MB")
    print(f"  process peak RSS (whole bench): {rss:.0f} MB")
    n_workers = default_workers(sess)
    workers = (
        f"largest orientation child {cli_worker:.0f} MB ({n_workers - 1} forked beside the "
        "review's own process, sharing its pages until written)"
        if n_workers > 1
        else "orientation in the same process"
    )
    print(
        f"  `hipfirst review --json` in a fresh process: {cli_wall:.2f} s wall, peak RSS "
        f"{cli_rss:.0f} MB, {workers}; all of them together at most {cli_pss:.0f} MB "
        "(peak PSS of the process tree)"
    )


if __name__ == "__main__":
    main()
