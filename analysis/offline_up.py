"""Offline up vectors of every sensor of a recording, one process per sensor when the
recording is long.

``offline_orientation.smoothed_up`` is about half of an hour-long review (offline VQF over
720 000 samples per sensor). VQF holds the GIL, so threads do not help
(measured: 1.13 s serial, 1.30 s with 4 threads for three 20-minute sensors); separate
processes do. They are forked: nothing is imported again, the sensors' arrays are
inherited (copy-on-write, nothing pickled) and each child writes its up vectors into
memory shared with this process. This process does a share of the sensors itself rather
than wait. Short recordings stay in this process: forking costs more than it saves below
``PARALLEL_MIN_SAMPLES``, and so does a process running other threads (a fork copies
their locks in whatever state they are). The result is the same as serially, to the bit
(each sensor's estimate is independent); a sensor whose child failed is computed again
here, so its error (if any) is raised as in a serial run.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import threading

import numpy as np

from analysis.offline_orientation import OfflineTrack, offline_track
from analysis.session import SensorStream, Session
from analysis.stream import possible_readings

PARALLEL_MIN_SAMPLES = 300_000
"""All sensors' samples together from which the work is shared out (25 min at 200 Hz on
one sensor, ~8 min of a 3-sensor 200 Hz session)."""


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _one(st: SensorStream) -> OfflineTrack:
    acc, gyr = _possible(st.acc_g, st.gyr_dps)
    return offline_track(st.time_s, acc, gyr, rate_hz=st.rate_hz)


def _possible(acc: np.ndarray, gyr: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The readings with those no worn IMU gives (``stream.possible_readings``, which the
    pipeline drops too) made NaN, so the estimator skips them as missing: one gyro
    reading of 1e300 in the standing start turned an 8-rep review into 1 rep, while the
    review said the sample was ignored."""
    with np.errstate(invalid="ignore"):
        bad = ~possible_readings(acc, gyr)
    if not bad.any():
        return acc, gyr
    acc = acc.copy()
    acc[bad] = np.nan
    if gyr is not None:
        gyr = gyr.copy()
        gyr[bad] = np.nan
    return acc, gyr


def default_workers(session: Session) -> int:
    """Processes ``smoothed_ups`` uses by default (this one included): one per sensor for
    recordings of at least ``PARALLEL_MIN_SAMPLES`` samples when more than one CPU is
    usable and this process can fork safely (the platform has fork, no other thread is
    running); otherwise 1. One per sensor even on fewer CPUs: the sensors cannot be split,
    and three processes sharing two CPUs finish together, where two would leave one
    sensor for a second round on one CPU (measured, 60-minute 3-sensor 200 Hz session,
    2 CPUs: 1.67-1.74 s against 2.02-2.13 s; serially 2.66-2.93 s)."""
    total = sum(st.samples for st in session.sensors.values())
    can_fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    if total < PARALLEL_MIN_SAMPLES or not can_fork or usable_cpus() < 2:
        return 1
    return len(session.sensors)


def smoothed_ups(session: Session, *, workers: int | None = None) -> dict[str, OfflineTrack]:
    """``offline_track`` of every sensor (up vectors and steady times), by name.

    ``workers``: processes to use, this one included (1 = only this one); None:
    ``default_workers``.
    """
    streams = list(session.sensors.values())
    if workers is None:
        workers = default_workers(session)
    if workers <= 1 or len(streams) <= 1:
        ups = [_one(st) for st in streams]
    else:
        ups = _forked(streams, min(workers, len(streams)))
    return dict(zip(session.sensors, ups, strict=True))


def _shares(streams: list[SensorStream], n: int) -> list[list[int]]:
    """Sensors per process, longest first to the least loaded (process 0 is this one)."""
    shares: list[list[int]] = [[] for _ in range(n)]
    load = [0] * n
    for i in sorted(range(len(streams)), key=lambda i: -streams[i].samples):
        p = load.index(min(load))
        shares[p].append(i)
        load[p] += streams[i].samples
    return shares


def _forked(streams: list[SensorStream], n: int) -> list[OfflineTrack]:
    out = [_shared_rows(st.samples) for st in streams]
    shares = _shares(streams, n)
    ctx = multiprocessing.get_context("fork")
    children = []
    for share in shares[1:]:
        proc = ctx.Process(target=_child, args=(streams, share, out), daemon=True)
        proc.start()
        children.append((proc, share))
    try:
        for i in shares[0]:
            _put(out[i], _one(streams[i]))
    except BaseException:  # no child left running for a review that has failed
        for proc, _ in children:
            proc.kill()
            proc.join()
        raise
    for proc, share in children:
        proc.join()
        if proc.exitcode != 0:  # redo here: same result, or the error raised as serially
            for i in share:
                _put(out[i], _one(streams[i]))
    return [OfflineTrack(rows[:, :3], rows[:, 3]) for rows in out]


def _put(rows: np.ndarray, track: OfflineTrack) -> None:
    rows[:, :3] = track.up
    rows[:, 3] = track.time_s


def _child(streams: list[SensorStream], share: list[int], out: list[np.ndarray]) -> None:
    try:
        for i in share:
            _put(out[i], _one(streams[i]))
    except BaseException:  # the parent computes this share again
        os._exit(1)


def _shared_rows(n: int) -> np.ndarray:
    """An (n, 4) float array (up vector, steady time) in anonymous shared memory: mapped
    before a fork, a child's writes to it are seen by the parent."""
    buf = mmap.mmap(-1, max(n, 1) * 4 * 8)
    return np.frombuffer(buf, dtype=float, count=n * 4).reshape(n, 4)
