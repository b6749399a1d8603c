"""``hipfirst orientation SESSION.csv -o OUT.csv``: the causal up-direction estimate."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from analysis.orientation import UpEstimator
from analysis.session_csv import read_session_csv
from hipfirst.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "orientation",
        help="per sensor and sample, the causal estimate of 'up' in the sensor frame",
    )
    p.add_argument("file", type=Path, help="session CSV (any sensor names)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output CSV")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.file.exists():
        raise UserError(f"{args.file}: no such file")
    if not args.output.parent.exists():
        raise UserError(f"{args.output}: directory {args.output.parent} does not exist")
    session = read_session_csv(args.file, check_placements=False)
    parts = []
    for name, st in session.sensors.items():
        est = UpEstimator(rate_hz=st.rate_hz, has_gyro=st.gyr_dps is not None)
        up = est.update(st.time_s, st.acc_g, st.gyr_dps)
        parts.append((st.time_s, name, up))
    t = np.concatenate([p[0] for p in parts])
    order = np.argsort(t, kind="stable")
    names = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])[order]
    up = np.concatenate([p[2] for p in parts])[order]
    t = t[order]
    with args.output.open("w", encoding="utf-8", newline="") as fh:
        fh.write("time_s,sensor,up_x,up_y,up_z\n")
        rows = np.column_stack([t, up]).tolist()
        fh.writelines(
            f"{r[0]:.6f},{n},{r[1]:.6f},{r[2]:.6f},{r[3]:.6f}\n"
            for r, n in zip(rows, names.tolist(), strict=True)
        )
    print(f"wrote {args.output} ({len(t)} rows, {len(parts)} sensors)")
    return 0
