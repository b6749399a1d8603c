"""``hipfirst demo``: a live set on three virtual sensors through the real bleak client."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from analysis.config import EXERCISES
from analysis.sim import SimResult
from hipfirst.commands import COMMANDS
from hipfirst.commands.alert_options import add_alert_options, make_alerts, practice_count
from hipfirst.commands.faults import parse_faults
from hipfirst.errors import UserError
from hipfirst.hold import HoldCoach
from hipfirst.live.demo import (
    SENSOR_FAULTS,
    DemoOptions,
    demo_sim,
    parse_dropouts,
    parse_sensor_faults,
    run_demo,
)
from hipfirst.live.session import LiveHooks
from hipfirst.recording.naming import check_folder, check_new_recording
from hipfirst.recording.practice import set_totals
from hipfirst.setflow import SetFlow, sentence
from hipfirst.view import Dashboard, QuietLines


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("demo", help=COMMANDS["demo"])
    p.add_argument("--exercise", choices=EXERCISES, default="rdl")
    p.add_argument("--reps", type=int, default=6)
    p.add_argument("--faults", default="lumbar_first:2", help="e.g. lumbar_first:2,rounding:1")
    p.add_argument(
        "--sensor-fault",
        default="",
        metavar="P:FAULT,...",
        help=f"broken virtual sensors to show the set-up checks: {', '.join(SENSOR_FAULTS)} "
        "(e.g. thigh:scale=0.5)",
    )
    p.add_argument(
        "--drop-link",
        default="",
        metavar="P@AT:SECONDS,...",
        help="a virtual sensor loses its link AT seconds into the set for SECONDS "
        "(e.g. lumbar@14:4): its angles go unknown meanwhile, the others keep flowing",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--speed", type=float, default=1.0, help="times real time (1)")
    p.add_argument("--out-dir", type=Path, default=Path("recordings"))
    p.add_argument(
        "-o", "--output", type=Path, help="recording file (default: a new one in --out-dir)"
    )
    p.add_argument("--no-record", action="store_true")
    p.add_argument("--quiet", action="store_true", help="one line per event, no live view")
    p.add_argument(
        "--practice",
        type=practice_count,
        default=0,
        metavar="N",
        help="practice hinges to check the placements before the set (0)",
    )
    add_alert_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.reps <= 200:
        raise UserError("--reps must be between 1 and 200 (a demo runs in real time)")
    if not 0.1 <= args.speed <= 50:
        raise UserError("--speed must be between 0.1 and 50")
    if args.seed < 0:
        raise UserError(f"--seed must be 0 or more, got {args.seed}")
    if not args.no_record:  # before the set, not once the sensors stream
        if args.output is not None:
            check_new_recording(args.output)
        else:
            check_folder(args.out_dir)
    try:
        sensor_faults = parse_sensor_faults(args.sensor_fault)
    except ValueError as exc:
        raise UserError(f"--sensor-fault: {exc}") from exc
    try:
        dropouts = parse_dropouts(args.drop_link)
    except ValueError as exc:
        raise UserError(f"--drop-link: {exc}") from exc
    unknown = (set(sensor_faults) | set(dropouts)) - {"lumbar", "sacrum", "thigh"}
    if unknown:
        raise UserError(f"--sensor-fault/--drop-link: no {sorted(unknown)[0]!r} sensor in the demo "
                        "(lumbar, sacrum, thigh)")  # fmt: skip
    opts = DemoOptions(
        exercise=args.exercise,
        reps=args.reps + args.practice,  # the lifter does the practice hinges too
        faults=parse_faults(args.faults),
        seed=args.seed,
        speed=args.speed,
        out_dir=None if args.no_record else args.out_dir,
        out_file=None if args.no_record else args.output,
        sensor_faults=sensor_faults,
        dropouts=dropouts,
    )
    try:  # before any sensor starts: a fault the exercise cannot have, say
        sim = demo_sim(opts)
    except ValueError as exc:
        raise UserError(f"--faults: {exc}") from exc
    set_s = max(float(st.time_s[-1]) for st in sim.session.sensors.values())
    for placement, (at_s, _) in dropouts.items():
        if at_s >= set_s:  # it never happened, and the set ended with "0 gaps"
            raise UserError(
                f"--drop-link: {placement}@{at_s:g}: the set is over after {set_s:.0f} s"
            )
    return asyncio.run(_demo(opts, args, sim))


async def _demo(opts: DemoOptions, args: argparse.Namespace, sim: SimResult) -> int:
    practice = f" after {args.practice} practice hinges" if args.practice else ""
    print(
        f"demo: a simulated {opts.exercise} set ({args.reps} reps{practice}) on three virtual "
        "sensors (lumbar, sacrum, thigh) over a virtual BLE link, through bleak"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    alerts = make_alerts(args)
    view, view_task, view_stop = None, None, asyncio.Event()
    shown: Dashboard | QuietLines  # quiet: one flushed line per event and prompt
    if args.quiet or not sys.stdout.isatty():
        shown = QuietLines()
    else:
        shown = view = Dashboard(exercise=opts.exercise)
        view_task = asyncio.create_task(view.run(view_stop))
    flow = SetFlow(practice_reps=args.practice, say=shown.say)
    hooks: list[LiveHooks] = [shown, flow]
    if opts.exercise == "hinge":  # pause-hold feedback for the drill
        hooks.append(HoldCoach(say=shown.say))
    try:
        result = await run_demo(opts, hooks=hooks, make_hooks=alerts.hooks_for, stop=stop, sim=sim)
    finally:
        alerts.close()
        view_stop.set()
        if view_task is not None:
            await view_task
    print(set_totals(result.summary))
    if view is not None:  # the quiet lines have said them; the live view is gone
        for note in result.summary.notes:
            print(sentence(note))
    if result.recording is not None:
        print(f"recorded to {result.recording}")
        print(f"review it:  hipfirst review {result.recording}")
    return 0
