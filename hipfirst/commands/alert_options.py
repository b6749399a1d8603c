"""Alert options shared by ``demo`` and ``monitor`` (not a command itself)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from analysis.results import FLAGS
from analysis.session import PLACEMENTS
from firmware_bridge.manager import SensorManager
from hipfirst.alerts import AlertDispatcher, AlertPolicy, HapticOut, open_audio_sink
from hipfirst.alerts.speech import render_speech
from hipfirst.errors import UserError
from hipfirst.live.session import LiveHooks


def add_alert_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("alerts")
    g.add_argument(
        "--audio",
        default="auto",
        metavar="SINK",
        help="auto (sound device, else terminal bell), device, bell, none, file:OUT.wav",
    )
    g.add_argument(
        "--speech",
        choices=("off", "en", "ja"),
        default="off",
        help="spoken cue after the tone (needs espeak-ng)",
    )
    g.add_argument("--no-haptic", action="store_true", help="do not buzz the sensor")
    g.add_argument("--haptic-on", default="lumbar", help="placement that buzzes (lumbar)")
    g.add_argument("--mute", default="", help="faults to keep quiet, e.g. torso_drift")
    g.add_argument("--cooldown", type=float, default=2.0, help="s between cues of one fault")


def practice_count(text: str) -> int:
    """``--practice N`` of ``demo`` and ``monitor``: a whole number, 0 or more."""
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {n}")
    return n


class Alerts:
    def __init__(self, args: argparse.Namespace) -> None:
        muted = frozenset(x.strip() for x in args.mute.split(",") if x.strip())
        unknown = muted - set(FLAGS)
        if unknown:
            raise UserError(
                f"--mute: unknown fault {sorted(unknown)[0]!r}; known: {', '.join(FLAGS)}"
            )
        if args.haptic_on not in PLACEMENTS:
            raise UserError(
                f"--haptic-on: unknown placement {args.haptic_on!r}; one of {', '.join(PLACEMENTS)}"
            )
        if not args.cooldown >= 0:  # NaN too
            raise UserError(f"--cooldown: must be 0 or more seconds, got {args.cooldown}")
        self.policy = AlertPolicy(cooldown_s=args.cooldown, muted=muted)
        self.audio = open_audio_sink(args.audio)
        speech: dict = {}
        if args.speech != "off":
            speech, why = render_speech(args.speech)
            if why:
                print(f"alerts: {why}")
        print(
            f"alerts: audio to {self.audio.description}"
            + ("" if args.no_haptic else f", buzz on the {args.haptic_on} sensor")
        )
        self.speech = speech
        self.haptic = not args.no_haptic
        self.placement = args.haptic_on
        self.dispatcher: AlertDispatcher | None = None

    def hooks_for(self, manager: SensorManager) -> Sequence[LiveHooks]:
        haptic = HapticOut(manager, placement=self.placement) if self.haptic else None
        self.dispatcher = AlertDispatcher(
            policy=self.policy, audio=self.audio, haptic=haptic, speech=self.speech
        )
        return [self.dispatcher]

    def close(self) -> None:
        self.audio.close()


def make_alerts(args: argparse.Namespace) -> Alerts:
    return Alerts(args)
