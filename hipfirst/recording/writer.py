"""``SessionRecorder``: append sample blocks per sensor, write one time-ordered CSV, crash-safe.

Ordering: blocks of different sensors arrive interleaved and a little late. Rows wait in a
small reorder buffer and are released once every sensor seen so far has delivered data
past their time, or once they have been held ``max_hold_s`` (wall clock) so a stalled or
disconnected sensor never holds the file back. Until every expected placement
(``RecordingMeta.placements``; if none are given, every sensor that shows up within the
first ``max_hold_s``) has delivered, rows wait too, so a sensor that starts late does not
land out of order. Within a sensor, rows are always written in
strictly increasing time: a sample not later than the last one written for its sensor
(a duplicate, a re-sent backfill) or with a non-finite value is dropped and counted in the
sidecar (``dropped_samples``), so the file always reads back. Only a sensor more than
``max_hold_s`` late can land out of global order (each sensor's order stays correct).

Durability: a background thread flushes and ``os.fsync``s the CSV every
``flush_interval_s`` (default 0.5 s) and rewrites the sidecar atomically when it changed,
so a ``kill -9`` loses at most the last flush interval plus the reorder hold; the torn
last line it may leave is dropped by ``read_session_csv(..., allow_torn_tail=True)``.
Alerts, gaps, calibration windows and markers (set start/end, recalibrate: a button
click or a key) go to the sidecar the same way: each marks it changed, and the flusher
rewrites it atomically within ``flush_interval_s``, whatever happens to the process next.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from analysis.session_csv import HEADER
from hipfirst.errors import UserError
from hipfirst.recording.naming import check_new_recording
from hipfirst.recording.sidecar import FORMAT, RecordingMeta, write_sidecar

EXTRA_COLUMNS: tuple[str, ...] = ("device_time_s",)
SIDECAR_COUNTS_S = 5.0
"""The sidecar's sample counts and rates are brought up to date at least this often while
rows are written (and at every other change), so after a crash they lag the CSV by at most
this much."""
COLUMNS: tuple[str, ...] = (*HEADER, *EXTRA_COLUMNS)


class _Pending:
    """Formatted rows of one sensor waiting in the reorder buffer."""

    __slots__ = ("arrival", "lines", "t")

    def __init__(self, t: np.ndarray, lines: list[str], arrival: float) -> None:
        self.t = t
        self.lines = lines
        self.arrival = arrival


class SessionRecorder:
    def __init__(
        self,
        path: str | Path,
        *,
        meta: RecordingMeta | None = None,
        max_hold_s: float = 0.5,
        flush_interval_s: float = 0.5,
        buffer_bytes: int = 1 << 16,
        autoflush: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.meta = meta or RecordingMeta()
        self.max_hold_s = max_hold_s
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._pending: dict[str, list[_Pending]] = {}
        self._last_t: dict[str, float] = {}
        self._has_gyro: dict[str, bool] = {}
        self._first_t: dict[str, float] = {}
        self._first_arrival: float | None = None
        self.written: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        self.alerts: list[dict[str, Any]] = []
        self.gaps: list[dict[str, Any]] = []
        self.calibration: list[dict[str, Any]] = []
        self.markers: list[dict[str, Any]] = []
        self.devices: dict[str, dict[str, Any]] = {k: dict(v) for k, v in self.meta.devices.items()}
        self.started_at = datetime.now().astimezone().isoformat(timespec="seconds")
        self.closed = False
        self.error: BaseException | None = None
        self._sidecar_dirty = True
        self._last_flush = clock()
        self._sidecar_at = -math.inf  # when the sidecar was last written, and with how many rows
        self._sidecar_rows = 0
        check_new_recording(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fh = open(  # noqa: SIM115 - kept open for the session, closed in close()
                self.path, "x", encoding="utf-8", newline="", buffering=buffer_bytes
            )
        except FileExistsError as exc:
            raise UserError(f"{self.path}: a recording with this name already exists") from exc
        self._fh.write(",".join(COLUMNS) + "\n")
        self.flush()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if autoflush:
            self._thread = threading.Thread(
                target=self._flusher, name="recorder-flush", daemon=True
            )
            self._thread.start()

    # ------------------------------------------------------------------ input

    def add(
        self,
        sensor: str,
        time_s: np.ndarray,
        acc_g: np.ndarray,
        gyr_dps: np.ndarray | None = None,
        *,
        device_time_s: np.ndarray | None = None,
    ) -> None:
        """Append samples of one sensor (any block size; times on the session clock)."""
        self._check_open()
        t = np.asarray(time_s, dtype=float).reshape(-1)
        acc = np.asarray(acc_g, dtype=float).reshape(len(t), 3)
        gyr = None if gyr_dps is None else np.asarray(gyr_dps, dtype=float).reshape(len(t), 3)
        dev = None if device_time_s is None else np.asarray(device_time_s, dtype=float)
        if dev is not None and dev.shape != t.shape:
            dev = None
        with self._lock:
            if sensor not in self._has_gyro:
                if not _name_ok(sensor):
                    raise ValueError(f"sensor name {sensor!r} cannot be recorded")
                self._has_gyro[sensor] = gyr is not None
                self._pending[sensor] = []
                self.written[sensor] = 0
                self.dropped[sensor] = 0
                self._sidecar_dirty = True
            if self._has_gyro[sensor] and gyr is None:
                self.dropped[sensor] += len(t)  # a gyro sensor must not get empty gyro cells
                return
            if not self._has_gyro[sensor]:
                gyr = None
            keep = np.isfinite(t) & np.isfinite(acc).all(axis=1)
            if gyr is not None:
                keep &= np.isfinite(gyr).all(axis=1)
            prev = np.maximum.accumulate(
                np.concatenate([[self._last_t.get(sensor, -np.inf)], np.where(keep, t, -np.inf)])
            )[:-1]
            keep &= t > prev
            n_drop = int(len(t) - np.count_nonzero(keep))
            if n_drop:
                self.dropped[sensor] += n_drop
                self._sidecar_dirty = True
                t, acc = t[keep], acc[keep]
                gyr = None if gyr is None else gyr[keep]
                dev = None if dev is None else dev[keep]
            if len(t) == 0:
                return
            self._first_t.setdefault(sensor, float(t[0]))
            if self._first_arrival is None:
                self._first_arrival = self._clock()
            self._last_t[sensor] = float(t[-1])
            lines = _format(sensor, t, acc, gyr, dev)
            self._pending[sensor].append(_Pending(t, lines, self._clock()))
            self._release(force=False)
            # without the flush thread, flush here; with it, leave the fsyncs to it (each
            # one blocked the event loop: 153 ms worst with a 50 ms fsync)
            if self._thread is None and self._clock() - self._last_flush >= self.flush_interval_s:
                self._flush_locked()

    def add_samples(self, block: Any) -> None:
        """Append a ``firmware_bridge.manager.SampleBlock`` (or anything shaped like one)."""
        self.add(
            block.sensor,
            block.time_s,
            block.acc_g,
            block.gyr_dps,
            device_time_s=getattr(block, "device_time_s", None),
        )

    def add_alert(self, event: Any) -> None:
        """Record an alert raised live (an ``analysis.results.LiveEvent`` of kind ``alert``)."""
        if getattr(event, "kind", "alert") != "alert":
            return
        self.add_alert_fields(
            time_s=float(event.time_s),
            flag=event.flag,
            rep=int(event.rep_index),
            message=str(getattr(event, "message", "")),
        )

    def add_alert_fields(self, *, time_s: float, flag: str | None, rep: int, message: str) -> None:
        with self._lock:
            self.alerts.append(
                {"time_s": round(time_s, 4), "flag": flag, "rep": rep, "message": message}
            )
            self._sidecar_dirty = True

    def add_gap(self, gap: Any) -> None:
        """Record a gap (a ``GapEvent`` with ``to_json()``, or a plain dict)."""
        with self._lock:
            self.gaps.append(dict(gap) if isinstance(gap, dict) else gap.to_json())
            self._sidecar_dirty = True

    def add_calibration(
        self,
        *,
        start_s: float,
        end_s: float,
        kind: str = "neutral",
        relearn: Iterable[str] = (),
    ) -> None:
        """A calibration window (e.g. the standing-still neutral) on the session clock;
        ``relearn``: for a re-calibration, the sensors whose axis is to be learned again."""
        entry: dict[str, Any] = {
            "kind": kind,
            "start_s": round(start_s, 4),
            "end_s": round(end_s, 4),
        }
        names = sorted(relearn)
        if names:
            entry["relearn"] = names
        with self._lock:
            self.calibration.append(entry)
            self._sidecar_dirty = True

    def add_marker(
        self,
        *,
        time_s: float,
        kind: str,
        source: str,
        sensor: str | None = None,
        **info: str | int | float | bool | None,
    ) -> dict[str, Any]:
        """A mark on the session clock: ``kind`` what it marks (``set_end``, ``set_start``,
        ``recalibrate``...), ``source`` what made it (``button``, ``key``, ``app``),
        ``sensor`` the placement whose button was pressed, ``info`` plain extras (e.g.
        ``set=2``). Crash-safe like alerts: in the sidecar within ``flush_interval_s``."""
        if not isinstance(kind, str) or not kind or not isinstance(source, str) or not source:
            raise ValueError(f"marker needs a kind and a source, got {kind!r} / {source!r}")
        if not np.isfinite(time_s):
            raise ValueError(f"marker {kind!r}: time_s {time_s!r} is not finite")
        mark: dict[str, Any] = {"time_s": round(float(time_s), 4), "kind": kind, "source": source}
        if sensor is not None:
            mark["sensor"] = sensor
        for key, value in info.items():
            if key in mark or not isinstance(value, str | int | float | bool | None):
                raise ValueError(f"marker {kind!r}: field {key!r} cannot be recorded")
            mark[key] = value
        with self._lock:
            self.markers.append(mark)
            self._sidecar_dirty = True
            if self.closed:  # a late click after close: the sidecar is rewritten, not lost
                self._sidecar_dirty = False
                write_sidecar(self.path, self.sidecar())
        return dict(mark)

    # ------------------------------------------------------------------ output

    def _release(self, *, force: bool) -> None:
        """Write every pending row that is safe to put in time order."""
        if force:
            cutoff = np.inf
        else:
            expected = set(self.meta.placements)
            waiting = bool(expected - set(self._last_t))
            if not expected and self._first_arrival is not None:
                # placements unknown: give every sensor one hold period to show up
                waiting = self._clock() - self._first_arrival < self.max_hold_s
            cutoff = -np.inf if waiting or not self._last_t else min(self._last_t.values())
            stale = self._clock() - self.max_hold_s
            for batches in self._pending.values():
                # a sensor's batches are in arrival (and time) order: the stale ones lead
                for b in batches:
                    if b.arrival > stale:
                        break
                    cutoff = max(cutoff, float(b.t[-1]))
        times: list[np.ndarray] = []
        lines: list[str] = []
        for sensor, batches in self._pending.items():
            done = 0  # batches written whole; they lead, as the times increase
            for b in batches:
                if b.t[-1] > cutoff:
                    break
                times.append(b.t)
                lines.extend(b.lines)
                self.written[sensor] += len(b.t)
                done += 1
            if done < len(batches) and batches[done].t[0] <= cutoff:
                b = batches[done]
                k = int(np.searchsorted(b.t, cutoff, "right"))
                times.append(b.t[:k])
                lines.extend(b.lines[:k])
                self.written[sensor] += k
                batches[done] = _Pending(b.t[k:], b.lines[k:], b.arrival)
            if done:
                del batches[:done]
        if not lines:
            return
        order = np.argsort(np.concatenate(times), kind="stable")
        self._fh.write("".join([lines[i] for i in order.tolist()]))

    def _prepare_flush(self) -> tuple[int, dict[str, Any] | None]:
        """Under the lock: hand the written rows to the OS; returns the file descriptor to
        fsync and the sidecar to write after it (a copy), if one is due."""
        self._fh.flush()
        self._last_flush = self._clock()
        rows = sum(self.written.values())
        if rows != self._sidecar_rows and self._last_flush - self._sidecar_at >= SIDECAR_COUNTS_S:
            self._sidecar_dirty = True
        side = None
        if self._sidecar_dirty:
            self._sidecar_dirty = False
            self._sidecar_at, self._sidecar_rows = self._last_flush, rows
            side = copy.deepcopy(self.sidecar())
        return self._fh.fileno(), side

    def _sync(self, fd: int, side: dict[str, Any] | None) -> None:
        os.fsync(fd)
        if side is not None:
            write_sidecar(self.path, side)

    def _flush_locked(self) -> None:
        self._sync(*self._prepare_flush())

    def flush(self) -> None:
        """Release what can be ordered, write, fsync, and rewrite the sidecar if it changed.
        The fsyncs run outside the sample lock, so ``add`` goes on meanwhile (with a 50 ms
        fsync, a slow SD card, ``add`` on the event loop waited up to 153 ms for the flush
        thread); ``_sync_lock`` keeps flushes in order, so no older sidecar lands last."""
        with self._sync_lock:
            with self._lock:
                if self.closed:
                    return
                self._release(force=False)
                fd, side = self._prepare_flush()
            self._sync(fd, side)

    def _flusher(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except BaseException as exc:  # disk full, ...: surfaced on the next add/close
                self.error = exc
                return

    def _check_open(self) -> None:
        if self.error is not None:
            raise self.error
        if self.closed:
            raise ValueError(f"{self.path}: recorder is closed")

    def sidecar(self) -> dict[str, Any]:
        """The sidecar content as it stands now."""
        rates = dict(self.meta.sample_rates_hz)
        for s, n in self.written.items():
            span = self._last_t.get(s, 0.0) - self._first_t.get(s, 0.0)
            if s not in rates and n > 1 and span > 0:
                rates[s] = round((n - 1) / span, 2)
        placements = list(self.meta.placements) or list(self._has_gyro)
        return {
            "format": FORMAT,
            "csv": self.path.name,
            **self.meta.to_json(),
            "placements": placements,
            "devices": self.devices,
            "sample_rates_hz": rates,
            "gyroscope": dict(self._has_gyro),
            "started_at": self.started_at,
            "updated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "complete": self.closed,
            "samples": dict(self.written),
            "dropped_samples": dict(self.dropped),
            "calibration": list(self.calibration),
            "alerts": list(self.alerts),
            "gaps": list(self.gaps),
            "markers": list(self.markers),
        }

    def close(self, *, status: dict[str, Any] | None = None) -> None:
        """Write everything, fsync, mark the sidecar complete. ``status``: per placement
        ``SensorStatus`` of the connection manager (address, name, losses...)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        with self._sync_lock, self._lock:
            if self.closed:
                return
            for placement, st in (status or {}).items():
                self.devices.setdefault(placement, {}).update(_status_json(st))
            self._release(force=True)
            self.closed = True
            self._sidecar_dirty = True
            self._flush_locked()
            self._fh.close()
        if self.error is not None:
            raise self.error

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _name_ok(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "_.-" for c in name) and name.isascii()


def _format(
    sensor: str,
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray | None,
    dev: np.ndarray | None,
) -> list[str]:
    cols = [t[:, None], acc]
    fmt = "%.6f," + sensor + ",%.5f,%.5f,%.5f,"
    if gyr is None:
        fmt += ",,,"
    else:
        cols.append(gyr)
        fmt += "%.3f,%.3f,%.3f,"
    if dev is None:
        fmt += "\n"
    else:
        cols.append(dev[:, None])
        fmt += "%.6f\n"
    data = np.hstack(cols).tolist()
    return [fmt % tuple(row) for row in data]


def _status_json(st: Any) -> dict[str, Any]:
    keys = (
        "address",
        "name",
        "driver",
        "battery_pct",
        "nominal_rate_hz",
        "samples",
        "samples_lost",
        "packets_lost",
        "malformed",
        "malformed_events",
        "duplicates",
        "connects",
        "clock_drift_ppm",
        "last_error",
    )
    if isinstance(st, dict):
        return {k: st[k] for k in keys if k in st}
    return {k: getattr(st, k) for k in keys if hasattr(st, k)}
