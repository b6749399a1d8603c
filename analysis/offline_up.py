"""Two-direction up vectors of every sensor of a recording, one process per sensor when
the recording is long.

``orientation.smoothed_up`` is about half of an hour-long review (VQF forwards and
backwards over 720 000 samples per sensor). VQF holds the GIL, so threads do not help
(measured: 1.13 s serial, 1.30 s with 4 threads for three 20-minute sensors); separate
processes do. They are forked, so nothing is imported again, and each gets its sensor's
arrays pickled (about 40 MB per sensor-hour, tens of milliseconds). Short recordings stay
in this process: forking costs more than it saves below ``PARALLEL_MIN_SAMPLES``, and so
does a process running other threads (a fork copies their locks in whatever state they are).
The result is the same as serially, to the bit (each sensor's estimate is independent).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from analysis.orientation import smoothed_up
from analysis.session import SensorStream, Session

PARALLEL_MIN_SAMPLES = 300_000
"""All sensors' samples together from which the work is shared out (25 min at 200 Hz on
one sensor, ~8 min of a 3-sensor 200 Hz session)."""


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _one(st: SensorStream) -> np.ndarray:
    return smoothed_up(st.time_s, st.acc_g, st.gyr_dps, rate_hz=st.rate_hz)


def default_workers(session: Session) -> int:
    """Processes ``smoothed_ups`` uses by default: one per sensor up to the usable CPUs for
    recordings of at least ``PARALLEL_MIN_SAMPLES`` samples when this process can fork
    safely (the platform has fork, no other thread is running); otherwise 1."""
    total = sum(st.samples for st in session.sensors.values())
    can_fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    if total < PARALLEL_MIN_SAMPLES or not can_fork:
        return 1
    return min(len(session.sensors), usable_cpus())


def smoothed_ups(session: Session, *, workers: int | None = None) -> dict[str, np.ndarray]:
    """``smoothed_up`` of every sensor, by name.

    ``workers``: processes to use (1 = in this process); None: ``default_workers``.
    """
    streams = list(session.sensors.values())
    if workers is None:
        workers = default_workers(session)
    if workers <= 1 or len(streams) <= 1:
        ups = [_one(st) for st in streams]
    else:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(workers, len(streams)), mp_context=ctx) as pool:
            ups = list(pool.map(_one, streams))
    return dict(zip(session.sensors, ups, strict=True))
