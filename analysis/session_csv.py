"""Read and write the session CSV of DOMAIN.md (the interchange format).

``read_session_csv`` is strict: anything it cannot take at face value raises
``InputError`` with ONE line naming the file, the line (1-based, header = line 1)
and the field. Parsing is done by ``pyarrow.csv`` (multi-threaded); every check
after it is vectorised, and the slow line-by-line scan only runs to locate an
error that pyarrow reported without a line number.

``write_session_csv`` merges the sensors into one time-ordered stream with fixed
decimals (time 6, acc 5, gyro 3), empty gyro cells for accelerometer-only
sensors, gzip when the name ends with ``.gz``.
"""

from __future__ import annotations

import csv
import gzip
import json
import mmap
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from analysis.arrays import first_true
from analysis.errors import InputError
from analysis.session import PLACEMENTS, SensorStream, Session

TIME = "time_s"
SENSOR = "sensor"
ACC = ("acc_x_g", "acc_y_g", "acc_z_g")
GYR = ("gyr_x_dps", "gyr_y_dps", "gyr_z_dps")
HEADER: tuple[str, ...] = (TIME, SENSOR, *ACC, *GYR)
NUMERIC: tuple[str, ...] = (TIME, *ACC, *GYR)

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_NUMBER = re.compile(rb"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_NON_SPACE = re.compile(rb"\S")
_SENSOR_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_UNIT_COL = re.compile(r"^(acc|accel|gyr|gyro)_?([xyz])(?:_(.*))?$", re.IGNORECASE)


def sidecar_path(path: str | Path) -> Path:
    """``rec.csv`` / ``rec.csv.gz`` -> ``rec.json`` (the optional metadata sidecar)."""
    p = Path(path)
    name = p.name
    for ext in (".csv.gz", ".gz", ".csv"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return p.with_name(name + ".json")


def _open_bytes(path: Path) -> bytes | mmap.mmap:
    """The file's bytes: memory-mapped when plain, decompressed when gzip (by magic bytes)."""
    with path.open("rb") as fh:
        head = fh.read(2)
        if head != _GZIP_MAGIC:
            if not head:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(str(path), f"damaged gzip file ({exc})") from exc


def _stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# --------------------------------------------------------------------------- header


def _header_names(first_line: bytes, file: str) -> list[str]:
    try:
        text = first_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(file, "header is not UTF-8 text", line=1) from exc
    names = [n.strip() for n in next(csv.reader([text]), [])]
    if not any(names):
        raise InputError(file, "empty header line; expected " + ",".join(HEADER), line=1)
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise InputError(file, "column appears twice in the header", line=1, field=n)
        seen.add(n)
    return names


def _unit_hint(names: list[str], want: str) -> str | None:
    """A message when the header has ``want`` in another unit (``acc_x_ms2`` for ``acc_x_g``)."""
    if want == TIME:
        for n in names:
            if n.lower().startswith("time") and n != TIME:
                return f"column {n!r}: time must be in seconds in a column named 'time_s'"
        return None
    if want.count("_") < 2:  # not an axis column (``sensor``): no unit to hint at
        return None
    kind, axis = want.split("_")[0], want.split("_")[1]
    for n in names:
        m = _UNIT_COL.match(n)
        if not m or n == want or m.group(2).lower() != axis:
            continue
        if m.group(1).lower().startswith("acc") and kind == "acc":
            unit = m.group(3) or "none"
            return (
                f"column {n!r} has unit {unit!r}: the accelerometer must be in g "
                f"(gravity included) in a column named {want!r}; divide m/s² by 9.80665"
            )
        if m.group(1).lower().startswith("gyr") and kind == "gyr":
            unit = m.group(3) or "none"
            return (
                f"column {n!r} has unit {unit!r}: the gyroscope must be in degrees per second "
                f"in a column named {want!r}; multiply rad/s by 57.29578"
            )
    return None


def _check_header(names: list[str], file: str) -> bool:
    """Raise for missing/mis-unit columns; return whether the gyro columns are present."""
    for want in (TIME, SENSOR, *ACC):
        if want not in names:
            hint = _unit_hint(names, want)
            if hint:
                raise InputError(file, hint, line=1, field=want)
            raise InputError(
                file,
                f"missing required column {want!r} (header has: {','.join(names)})",
                line=1,
                field=want,
            )
    present = [g for g in GYR if g in names]
    for want in GYR:
        if want not in names:
            hint = _unit_hint(names, want)
            if hint:
                raise InputError(file, hint, line=1, field=want)
    if present and len(present) < 3:
        lack = next(g for g in GYR if g not in names)
        raise InputError(
            file,
            f"missing column {lack!r}: gyroscope columns come as a set of three "
            "(leave all three out, or their cells empty, for accelerometer-only sensors)",
            line=1,
            field=lack,
        )
    return bool(present)


# --------------------------------------------------------------------------- locating errors


def _data_lines(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-empty line after the header, as pyarrow sees rows."""
    for i, line in enumerate(raw.split(b"\n")[1:], start=2):
        if line.strip(b"\r"):
            yield i, line.rstrip(b"\r")


def _line_of_row(raw: bytes, row: int) -> int:
    for k, (line_no, _) in enumerate(_data_lines(raw)):
        if k == row:
            return line_no
    return -1


def _not_utf8(cell: bytes) -> bool:
    try:
        cell.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _scan_for_error(raw: bytes, names: list[str], file: str, arrow_msg: str) -> InputError:
    """Find the first bad line the slow way (only after pyarrow rejected the file)."""
    numeric = {names.index(c): c for c in NUMERIC if c in names}
    for line_no, line in _data_lines(raw):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            cells = line.split(b",")
            k = next(i for i, c in enumerate(cells) if _not_utf8(c))
            col = names[k] if k < len(names) else f"field {k + 1}"
            return InputError(file, "not UTF-8 text", line=line_no, field=col)
        fields = next(csv.reader([text]), [])
        if len(fields) != len(names):
            short = len(fields) < len(names)
            return InputError(
                file,
                f"{'missing value' if short else 'extra value'}: expected {len(names)} "
                f"comma-separated fields as in the header, found {len(fields)}",
                line=line_no,
                field=names[len(fields)] if short else f"field {len(names) + 1}",
            )
        for i, col in numeric.items():
            v = fields[i].encode()
            if v.strip() and not _NUMBER.match(v):
                return InputError(file, f"not a number: {fields[i]!r}", line=line_no, field=col)
    return InputError(file, f"cannot parse: {arrow_msg}")


# --------------------------------------------------------------------------- reader


def _torn_tail_end(
    raw: bytes | mmap.mmap, start: int, file: str, warn: Callable[[str], None]
) -> int:
    """End offset without an unterminated last line (a recording cut off mid-write)."""
    end = len(raw)
    while end > start and raw[end - 1] == 0:
        end -= 1
    if end == start or raw[end - 1] == 0x0A:
        return end
    cut = raw.rfind(b"\n", start, end)
    if cut < 0:
        return end  # only a header without newline: let the normal checks speak
    newlines = np.frombuffer(raw, dtype=np.uint8, count=cut - start, offset=start) == 0x0A
    line_no = int(np.count_nonzero(newlines)) + 2
    warn(
        f"{file}:{line_no}: last line is incomplete (recording cut off?); "
        f"dropped {end - cut - 1} byte(s)"
    )
    return cut + 1


def _read_sidecar(path: Path, warn: Callable[[str], None]) -> dict[str, object]:
    side = sidecar_path(path)
    if not side.is_file():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warn(f"{side}: sidecar ignored, not valid JSON ({exc})")
        return {}
    if not isinstance(meta, dict):
        warn(f"{side}: sidecar ignored, not a JSON object")
        return {}
    return meta


def read_session_csv(
    path: str | Path,
    *,
    allow_torn_tail: bool = False,
    sidecar: bool = True,
    warn: Callable[[str], None] | None = None,
    check_placements: bool = True,
) -> Session:
    """Read a session CSV into a ``Session`` (strict; raises ``InputError``).

    ``allow_torn_tail`` drops an unterminated last line with a one-line warning (a
    recording cut by a crash); otherwise such a line is read like any other.
    ``sidecar`` loads ``SAME_NAME.json`` into ``Session.meta`` when it exists.
    ``check_placements`` requires at least two of lumbar/sacrum/thigh.
    """
    p = Path(path)
    file = str(path)
    say = warn or _stderr_warning
    if not p.exists():
        raise InputError(file, "file not found")
    if p.is_dir():
        raise InputError(file, "is a directory, not a session CSV")
    raw = _open_bytes(p)
    start = len(_BOM) if raw[: len(_BOM)] == _BOM else 0
    end = _torn_tail_end(raw, start, file, say) if allow_torn_tail else len(raw)
    if not _NON_SPACE.search(raw, start, end):
        raise InputError(file, "empty file; expected a header " + ",".join(HEADER), line=1)
    nl = raw.find(b"\n", start, end)
    names = _header_names(raw[start:end] if nl < 0 else raw[start:nl].rstrip(b"\r"), file)
    has_gyr = _check_header(names, file)
    if nl < 0 or not _NON_SPACE.search(raw, nl + 1, end):
        raise InputError(file, "only a header, no data rows", line=2)
    buf = pa.py_buffer(raw)[start:end]

    wanted = [TIME, SENSOR, *ACC, *(GYR if has_gyr else ())]
    types: dict[str, pa.DataType] = {c: pa.float64() for c in wanted if c != SENSOR}
    types[SENSOR] = pa.dictionary(pa.int32(), pa.string())
    try:
        table = pacsv.read_csv(
            pa.BufferReader(buf),
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=1 << 24, use_threads=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=wanted,
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        text = raw[start:end]
        raise _scan_for_error(text, names, file, str(exc).splitlines()[0]) from exc
    del buf, raw  # the file's bytes (memory-mapped, or decompressed): read again on an error

    def fail(row: int, field: str, message: str) -> InputError:
        try:
            line: int | None = _line_of_row(_open_bytes(p)[start:end], row)
        except (OSError, InputError):  # the file went away or was damaged meanwhile
            line = None
        return InputError(file, message, line=line if line and line > 0 else None, field=field)

    cols = _columns(table, fail)
    del table  # its buffers are copied out: free them before the per-sensor arrays are made
    _release_arrow_memory()
    meta = _read_sidecar(p, say) if sidecar else {}
    session = _to_session(cols, fail, file, meta, check_placements)
    del cols
    _release_arrow_memory()
    return session


def _release_arrow_memory() -> None:
    """Give the memory arrow has freed back to the system. Its allocator (mimalloc) keeps
    freed pages for reuse; after an hour-long file that was ~330 MB held for nothing
    through the whole review, and copied into every forked orientation process's
    page tables."""
    pa.default_memory_pool().release_unused()


def _numeric(table: pa.Table, c: str, fail: Callable[[int, str, str], InputError]) -> np.ndarray:
    """Column ``c`` as float64 with NaN for empty cells; raises for NaN/inf written out."""
    arr = table.column(c)
    a = arr.to_numpy(zero_copy_only=False) if arr.null_count else arr.to_numpy()
    if not np.isfinite(a).all():
        written = ~np.isfinite(a)
        if arr.null_count:
            written &= ~np.asarray(arr.is_null())
        bad = first_true(written)
        if bad >= 0:
            raise fail(bad, c, f"not a finite number: '{a[bad]}'")
    return a


def _gather(columns: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """``column_stack(columns)[rows]`` without building the big stacked array."""
    out = np.empty((rows.size, len(columns)))
    for j, col in enumerate(columns):
        out[:, j] = col[rows]
    return out


@dataclass
class _Columns:
    """The parsed table's columns as numpy arrays (all rows, every sensor)."""

    time_s: np.ndarray
    acc: list[np.ndarray]
    gyr: list[np.ndarray] | None
    gyr_empty: np.ndarray | None
    """Rows whose three gyro cells are empty (None: no such row)."""
    labels: list[str]
    """Sensor names; ``codes`` holds each row's index into them."""
    codes: np.ndarray


def _columns(table: pa.Table, fail: Callable[[int, str, str], InputError]) -> _Columns:
    """The columns copied out of ``table``, checked: no empty time or accelerometer cell,
    no NaN or inf written out, gyro cells empty on all three axes of a row or on none."""
    for c in (TIME, *ACC):
        if table.column(c).null_count:
            raise fail(first_true(np.asarray(table.column(c).is_null())), c, "empty value")
    time_s = _numeric(table, TIME, fail)
    acc_all = [_numeric(table, c, fail) for c in ACC]
    gyr_all: list[np.ndarray] | None = None
    gyr_empty: np.ndarray | None = None
    if GYR[0] in table.column_names:
        gyr_all = [_numeric(table, c, fail) for c in GYR]
        nulls = [table.column(c).null_count for c in GYR]
        if any(nulls):
            masks = [np.asarray(table.column(c).is_null()) for c in GYR]
            gyr_empty = masks[0] & masks[1] & masks[2]
            part = first_true((masks[0] | masks[1] | masks[2]) & ~gyr_empty)
            if part >= 0:
                c = GYR[[bool(m[part]) for m in masks].index(True)]
                raise fail(part, c, "empty gyroscope cell while the other axes have values")

    sensor = table.unify_dictionaries().column(SENSOR)
    labels = [str(x) for x in sensor.chunk(0).dictionary.to_pylist()] if sensor.num_chunks else []
    codes = np.concatenate(
        [c.indices.to_numpy(zero_copy_only=False) for c in sensor.chunks] or [np.zeros(0, int)]
    )
    return _Columns(time_s, acc_all, gyr_all, gyr_empty, labels, codes)


def _to_session(
    cols: _Columns,
    fail: Callable[[int, str, str], InputError],
    file: str,
    meta: dict[str, object],
    check_placements: bool,
) -> Session:
    time_s, acc_all, gyr_all, gyr_empty = cols.time_s, cols.acc, cols.gyr, cols.gyr_empty
    rows_of = {name: np.flatnonzero(cols.codes == i) for i, name in enumerate(cols.labels)}
    rows_of = {name: rows for name, rows in rows_of.items() if rows.size}
    rank = {p: i for i, p in enumerate(PLACEMENTS)}
    order = sorted(rows_of, key=lambda n: (rank.get(n, len(rank)), int(rows_of[n][0])))
    streams: dict[str, SensorStream] = {}
    for name in order:
        rows = rows_of[name]
        if not _SENSOR_NAME.match(name):
            what = "empty sensor name" if not name else f"bad sensor name {name!r}"
            raise fail(int(rows[0]), SENSOR, f"{what} (use letters, digits, _ . -)")
        t = time_s[rows]
        d = np.diff(t)
        if not (d > 0).all():
            back = first_true(d < 0)
            if back >= 0:
                raise fail(
                    int(rows[back + 1]),
                    TIME,
                    f"time went backwards for sensor {name!r} ({t[back]:.6f} -> {t[back + 1]:.6f})",
                )
            dup = first_true(d == 0)
            raise fail(int(rows[dup + 1]), TIME, f"duplicate time {t[dup]:.6f} for sensor {name!r}")
        gyr: np.ndarray | None = None
        if gyr_all is not None:
            empty = gyr_empty[rows] if gyr_empty is not None else None
            if empty is None or not empty.any():
                gyr = _gather(gyr_all, rows)
            elif not empty.all():
                raise fail(
                    int(rows[first_true(empty)]),
                    GYR[0],
                    f"empty gyroscope cells for sensor {name!r}, which has gyroscope "
                    "values on other rows (leave them empty on every row for an "
                    "accelerometer-only sensor)",
                )
        streams[name] = SensorStream(name, t, _gather(acc_all, rows), gyr)

    if check_placements:
        used = [n for n in PLACEMENTS if n in streams]
        if len(used) < 2:
            have = ", ".join(repr(n) for n in streams)
            raise InputError(
                file,
                f"only sensor(s) {have} present; the analysis needs at least two of "
                "'lumbar', 'sacrum', 'thigh' (lumbar+sacrum give the lumbar angle, "
                "sacrum+thigh the hip angle)",
                field=SENSOR,
            )
    return Session(streams, source=file, meta=meta)


# --------------------------------------------------------------------------- writer


def _rows(session: Session) -> tuple[np.ndarray, np.ndarray, list[SensorStream]]:
    """Merged (time, stream index, row index within stream), ordered by time."""
    streams = list(session.sensors.values())
    for st in streams:
        if not _SENSOR_NAME.match(st.name):
            raise ValueError(f"sensor name {st.name!r} cannot be written (use [A-Za-z0-9_.-])")
    t = np.concatenate([s.time_s for s in streams]) if streams else np.zeros(0)
    which = np.concatenate([np.full(s.samples, i) for i, s in enumerate(streams)])
    within = np.concatenate([np.arange(s.samples) for s in streams])
    order = np.argsort(t, kind="stable")
    return which[order], within[order], streams


def format_rows(session: Session) -> Iterator[str]:
    """CSV text of all samples in time order, in blocks (no header)."""
    which, within, streams = _rows(session)
    texts: list[list[str]] = []
    for s in streams:
        if not (np.isfinite(s.time_s).all() and np.isfinite(s.acc_g).all()):
            raise ValueError(f"sensor {s.name!r} has non-finite time or acceleration")
        if s.gyr_dps is not None and not np.isfinite(s.gyr_dps).all():
            raise ValueError(f"sensor {s.name!r} has non-finite gyroscope values")
        texts.append(format_stream(s))
    block = 65536
    for i0 in range(0, len(which), block):
        w = which[i0 : i0 + block]
        r = within[i0 : i0 + block]
        yield "".join(texts[a][b] for a, b in zip(w.tolist(), r.tolist(), strict=True))


def format_stream(s: SensorStream) -> list[str]:
    """One CSV line (with newline) per sample of one sensor."""
    if s.gyr_dps is None:
        fmt = "%.6f," + s.name + ",%.5f,%.5f,%.5f,,,\n"
        data = np.column_stack([s.time_s, s.acc_g])
    else:
        fmt = "%.6f," + s.name + ",%.5f,%.5f,%.5f,%.3f,%.3f,%.3f\n"
        data = np.column_stack([s.time_s, s.acc_g, s.gyr_dps])
    return [fmt % tuple(row) for row in data.tolist()]


def write_session_csv(session: Session, path: str | Path) -> None:
    """Write ``session`` in the interchange format; gzip if ``path`` ends with ``.gz``."""
    p = Path(path)
    header = ",".join(HEADER) + "\n"
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    with opener(p, "wt", encoding="utf-8", newline="") as fh:  # type: ignore[operator]
        fh.write(header)
        for chunk in format_rows(session):
            fh.write(chunk)
