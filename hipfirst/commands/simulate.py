"""``hipfirst simulate``: write a simulated session (CSV + sidecar + truth file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.session_csv import sidecar_path, write_session_csv
from analysis.sim import SIM_EXERCISES, SimConfig, simulate, truth_path, write_truth
from hipfirst.commands import COMMANDS
from hipfirst.commands.faults import parse_faults
from hipfirst.errors import UserError
from hipfirst.recording import RecordingMeta, recording_path, write_sidecar
from hipfirst.recording.naming import check_folder

MAX_REPS = 1000
"""Reps one simulation may hold (about 2.5 hours of hinges)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("simulate", help=COMMANDS["simulate"])
    p.add_argument("--exercise", choices=SIM_EXERCISES, default="rdl")
    p.add_argument("--reps", type=int, default=8)
    p.add_argument("--sets", type=int, default=1)
    p.add_argument("--faults", default="", help="e.g. lumbar_first:3,rounding:1")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=100.0, help="sample rate in Hz (100)")
    p.add_argument("--sensors", default="lumbar,sacrum,thigh")
    p.add_argument("--accel-only", action="store_true", help="devices without a gyroscope")
    p.add_argument("--drop-rate", type=float, default=0.0, help="share of samples lost")
    p.add_argument(
        "--start",
        choices=("standing", "hinge"),
        default="standing",
        help="hinge: no standing start, the set begins in its held hinge (standing)",
    )
    p.add_argument("-o", "--output", type=Path, help="CSV path (default: recordings/<time>_<ex>)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reps < 1 or args.sets < 1:
        raise UserError("--reps and --sets must be at least 1")
    if args.reps * args.sets > MAX_REPS:
        raise UserError(
            f"--reps x --sets: at most {MAX_REPS} reps (each holds ~0.7 MB while simulated; "
            "100000 reps grew past 24 GB)"
        )
    if args.seed < 0:
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    if not 10 <= args.rate <= 1000:
        raise UserError("--rate must be between 10 and 1000 Hz")
    if not 0 <= args.drop_rate < 0.5:
        raise UserError("--drop-rate must be between 0 and 0.5")
    sensors = tuple(s.strip() for s in args.sensors.split(",") if s.strip())
    unknown = [s for s in sensors if s not in ("lumbar", "sacrum", "thigh")]
    if unknown or len(set(sensors)) < 2:
        raise UserError("--sensors: two or three of lumbar, sacrum, thigh")
    twice = sorted({s for s in sensors if sensors.count(s) > 1})
    if twice:
        raise UserError(f"--sensors: {twice[0]} given twice")
    cfg = SimConfig(
        exercise=args.exercise,
        reps=args.reps,
        sets=args.sets,
        faults=parse_faults(args.faults),
        seed=args.seed,
        rate_hz=args.rate,
        sensors=sensors,
        accel_only=args.accel_only,
        drop_rate=args.drop_rate,
        start=args.start,
    )
    try:
        res = simulate(cfg)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    out = args.output or recording_path(args.exercise)
    check_folder(out.parent)  # mkdir said only "afile: File exists"
    out.parent.mkdir(parents=True, exist_ok=True)
    # X.csv.gz shares its sidecar and truth file with X.csv: never write over another's
    for taken in (out, sidecar_path(out), truth_path(out)):
        if taken.exists():
            raise UserError(f"{taken}: already exists")
    write_session_csv(res.session, out)
    meta = RecordingMeta(
        exercise=args.exercise,
        placements=list(sensors),
        sample_rates_hz={s: args.rate for s in sensors},
        simulated=True,
        extra={"simulator": cfg.to_json(), "complete": True},
    )
    write_sidecar(out, {"format": "hipfirst-recording/1", "csv": out.name, **meta.to_json()})
    truth = write_truth(truth_path(out), config=cfg, reps=res.reps, angles=res.angles)
    faulty = sum(1 for r in res.reps if r.faults)
    print(f"wrote {out} ({len(res.reps)} reps, {faulty} with faults; truth in {truth.name})")
    return 0
