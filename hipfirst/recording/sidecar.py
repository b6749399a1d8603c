"""The recording's JSON sidecar (``SAME_NAME.json``), rewritten atomically.

The CSV alone is enough for review; the sidecar adds what the CSV cannot carry:
exercise, placements and devices (address, firmware), sample rates, calibration
windows, alerts raised live, gaps, markers (set start/end and recalibrate requests from a
sensor button or a key: ``time_s``, ``kind``, ``source``, ``sensor``...), software version,
whether the data is simulated, and whether the recording was closed cleanly (``complete``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import InputError
from analysis.session_csv import sidecar_path
from hipfirst import __version__

FORMAT = "hipfirst-recording/1"


@dataclass
class RecordingMeta:
    """What is known when a recording starts; ``extra`` is copied into the sidecar as is."""

    exercise: str | None = None
    placements: list[str] = field(default_factory=list)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per placement: ``address``, ``name``, ``firmware``, ``driver``..."""
    sample_rates_hz: dict[str, float] = field(default_factory=dict)
    simulated: bool = False
    software: str = f"hipfirst {__version__}"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        return {**extra, **d}


def write_sidecar(csv_path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` next to ``csv_path`` atomically (temp file, fsync, rename, fsync dir)."""
    target = sidecar_path(csv_path)
    text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False, default=_plain) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; a sidecar is as public as its CSV
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def read_sidecar(csv_path: str | Path) -> dict[str, Any] | None:
    """The sidecar of ``csv_path`` as a dict, or None if absent or unreadable."""
    p = sidecar_path(csv_path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_markers(csv_path: str | Path) -> list[dict[str, Any]]:
    """The sidecar's markers in time order (``[]`` without a sidecar or markers); a marker
    without a finite ``time_s`` or a ``kind``/``source`` string is an ``InputError``."""
    data = read_sidecar(csv_path)
    raw = [] if data is None else data.get("markers", [])
    name = sidecar_path(csv_path).name
    if not isinstance(raw, list):
        raise InputError(name, "not a list", field="markers")
    out = []
    for i, m in enumerate(raw):
        where = f"markers[{i}]"
        if not isinstance(m, dict):
            raise InputError(name, "not an object", field=where)
        t = m.get("time_s")
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise InputError(name, f"not a finite number: {t!r}", field=f"{where}.time_s")
        for key in ("kind", "source"):
            if not isinstance(m.get(key), str) or not m[key]:
                bad = f"missing or not text: {m.get(key)!r}"
                raise InputError(name, bad, field=f"{where}.{key}")
        out.append(dict(m))
    return sorted(out, key=lambda m: m["time_s"])


def _plain(obj: object) -> object:
    """numpy scalars and arrays to plain JSON values."""
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
