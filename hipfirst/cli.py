"""``hipfirst`` command line: dispatches to ``hipfirst.commands.<name>``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from analysis.errors import InputError
from hipfirst import __version__
from hipfirst.commands import COMMANDS
from hipfirst.errors import UserError


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command registered by its module; ``only``: just that
    command's module is imported, the others are listed by name and help."""
    parser = argparse.ArgumentParser(
        prog="hipfirst",
        description="Teach the hip hinge with wearable motion sensors.",
    )
    parser.add_argument("--version", action="version", version=f"hipfirst {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"hipfirst.commands.{name}").register(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the first word not an option), if known."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def _bridge_errors() -> tuple[type[BaseException], ...]:
    try:
        from firmware_bridge.errors import BridgeError
    except ImportError:  # pragma: no cover - bridge not installed
        return ()
    return (BridgeError,)


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_in(words) or "")
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (InputError, UserError, *_bridge_errors()) as exc:
        print(f"hipfirst: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"hipfirst: error: {exc.filename}: file not found", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hipfirst: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hipfirst review X --json | head`: the reader went away
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except OSError as exc:  # disk full, permission denied... on a file we were told to write
        name = getattr(exc, "filename", None)
        where = f"{name}: " if name else ""
        print(f"hipfirst: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
