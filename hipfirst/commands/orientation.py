"""``hipfirst orientation SESSION.csv -o OUT.csv``: the causal up-direction estimate.

Writes ``time_s,sensor,up_x,up_y,up_z``: for every sample of every sensor, the unit
vector pointing up (against gravity) in that sensor's axes, as the live pipeline sees it
at that sample (causal: only earlier samples are used). Rows are in time order like the
session CSV. See :mod:`analysis.orientation` for the estimator.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from analysis.errors import InputError
from analysis.orientation import UpEstimator
from analysis.session_csv import read_session_csv, sidecar_path
from hipfirst.commands import COMMANDS
from hipfirst.errors import UserError
from hipfirst.outfile import open_output
from hipfirst.recording import read_sidecar

HEADER = "time_s,sensor,up_x,up_y,up_z"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "orientation",
        help=COMMANDS["orientation"],
        description=__doc__.splitlines()[2].strip() if __doc__ else None,
    )
    p.add_argument("file", type=Path, help="session CSV (any sensor names)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output CSV")
    p.set_defaults(func=run)


def _check(src: Path, out: Path) -> None:
    if not src.exists():
        raise UserError(f"{src}: no such file")
    if src.is_dir():
        raise UserError(f"{src}: is a directory, expected a session CSV")
    if out.is_dir():
        raise UserError(f"{out}: is a directory, expected a file name")
    if not out.parent.is_dir():
        raise UserError(f"{out}: directory {out.parent} does not exist")
    if out.exists() and out.resolve() == src.resolve():
        raise UserError(f"{out}: is the input file; choose another output name")
    if out.exists() and out.resolve() == sidecar_path(src).resolve():
        raise UserError(f"{out}: is the input's sidecar; choose another output name")


def estimate_up(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(sensor, time_s, up (n, 3)) per sensor of the session CSV at ``path``."""
    # a recording cut by a crash ends in a torn line; its sidecar says so (as in review)
    torn = (read_sidecar(path) or {}).get("complete") is False
    session = read_session_csv(path, check_placements=False, allow_torn_tail=torn)
    out = []
    for name, st in session.sensors.items():
        if st.samples < 2:
            raise InputError(
                str(path),
                f"sensor {name!r} has only {st.samples} sample; its rate is unknown",
                field="sensor",
            )
        est = UpEstimator(rate_hz=st.rate_hz, has_gyro=st.gyr_dps is not None)
        out.append((name, st.time_s, est.update(st.time_s, st.acc_g, st.gyr_dps)))
    return out


def write_up_csv(parts: list[tuple[str, np.ndarray, np.ndarray]], out: Path) -> int:
    """Write the rows merged in time order, numbers rounded to 6 decimals, empty where not
    finite (see :func:`hipfirst.outfile.open_output`: a failure leaves no torn file)."""
    t = np.concatenate([p[1] for p in parts])
    order = np.argsort(t, kind="stable")
    sensor = np.concatenate([np.full(len(p[1]), i, dtype=np.int32) for i, p in enumerate(parts)])
    up = np.concatenate([p[2] for p in parts])[order]
    cols = {
        "time_s": pa.array(np.round(t[order], 6)),
        "sensor": pa.DictionaryArray.from_arrays(sensor[order], [p[0] for p in parts]),
    }
    for k, axis in enumerate("xyz"):
        v = np.round(up[:, k], 6)
        cols[f"up_{axis}"] = pa.array(v, mask=~np.isfinite(v))
    table = pa.table(cols)
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with open_output(out, binary=True) as fh:
        fh.write((HEADER + "\n").encode())
        pacsv.write_csv(table, fh, write_options=options)
    return len(t)


def run(args: argparse.Namespace) -> int:
    _check(args.file, args.output)
    parts = estimate_up(args.file)
    rows = write_up_csv(parts, args.output)
    print(f"wrote {args.output} ({rows} rows, {len(parts)} sensors)")
    return 0
