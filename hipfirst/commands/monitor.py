"""``hipfirst monitor --exercise rdl``: the live session on real sensors."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
from pathlib import Path

from analysis.config import EXERCISES, PipelineConfig
from firmware_bridge.assignments import parse_assign
from firmware_bridge.manager import LinkSettings, SensorManager
from hipfirst.commands import COMMANDS
from hipfirst.commands.alert_options import add_alert_options, make_alerts, practice_count
from hipfirst.errors import UserError
from hipfirst.hold import HoldCoach
from hipfirst.live import LiveSession
from hipfirst.live.targets import find_targets
from hipfirst.recording import DEFAULT_DIR, RecordingMeta, SessionRecorder, recording_path
from hipfirst.recording.naming import check_folder
from hipfirst.recording.practice import set_totals
from hipfirst.setflow import SetFlow, sentence
from hipfirst.view import Dashboard, QuietLines


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("monitor", help=COMMANDS["monitor"])
    p.add_argument("--exercise", choices=EXERCISES, default="hinge")
    p.add_argument("--assign", metavar="P=ADDR,...", help="e.g. lumbar=AA:BB:..,thigh=..")
    p.add_argument("--rate", type=float, default=200.0, help="sample rate in Hz (200)")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_DIR, help="where recordings go")
    p.add_argument("--no-record", action="store_true", help="do not record the set")
    p.add_argument("--quiet", action="store_true", help="one line per event, no live view")
    p.add_argument(
        "--practice",
        type=practice_count,
        default=2,
        metavar="N",
        help="practice hinges to check the placements before the set (2)",
    )
    add_alert_options(p)
    p.set_defaults(func=run)


async def _monitor(args: argparse.Namespace) -> int:
    alerts = make_alerts(args)  # --mute, --audio... said wrong before the scan, not after
    try:
        targets, _found = await find_targets(assign_text=args.assign)
    except BaseException:
        alerts.close()
        raise
    manager = SensorManager(targets, settings=LinkSettings(rate_hz=args.rate))
    view = None if args.quiet or not sys.stdout.isatty() else Dashboard(exercise=args.exercise)
    shown: Dashboard | QuietLines = view or QuietLines()  # quiet: one flushed line per event
    view_stop = asyncio.Event()
    view_task = None
    try:
        session = LiveSession(
            manager,
            config=PipelineConfig.for_exercise(args.exercise),
            hooks=[
                shown,
                SetFlow(practice_reps=args.practice, say=shown.say),
                *([HoldCoach(say=shown.say)] if args.exercise == "hinge" else []),
                *alerts.hooks_for(manager),
            ],
            rate_hz=args.rate,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
        manager.start()
        await manager.wait_streaming(timeout_s=30.0)  # the manager queues samples meanwhile
        session.use_stream_rates()  # each sensor's own rate and gyro, not --rate for all
        if not args.no_record:
            session.recorder = SessionRecorder(
                recording_path(args.exercise, directory=args.out_dir),
                meta=RecordingMeta(
                    exercise=args.exercise,
                    placements=[t.placement for t in targets],
                    devices={
                        t.placement: {"address": t.address, "driver": t.driver.kind}
                        for t in targets
                    },
                ),
            )
            print(f"recording to {session.recorder.path}")
        view_task = asyncio.create_task(view.run(view_stop)) if view else None
        summary = await session.run(stop=stop, duration_s=args.seconds)
    finally:
        alerts.close()
        view_stop.set()
        if view_task is not None:
            await view_task
        await manager.stop()
    print(set_totals(summary))  # practice hinges left out, as in demo and review
    if view is not None:  # the quiet lines have said them; the live view is gone
        for note in summary.notes:
            print(sentence(note))
    return 0


def check_options(args: argparse.Namespace) -> None:
    """Before the scan and the set, not once the sensors stream."""
    if not 1 <= args.rate <= 1000:  # NaN too
        raise UserError(f"--rate must be between 1 and 1000 Hz, got {args.rate}")
    if args.seconds is not None and not 0 < args.seconds < math.inf:
        raise UserError(f"--seconds must be more than 0, got {args.seconds}")
    if args.assign:
        parse_assign(args.assign)
    if not args.no_record:
        check_folder(args.out_dir)


def run(args: argparse.Namespace) -> int:
    check_options(args)
    return asyncio.run(_monitor(args))
