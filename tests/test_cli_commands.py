"""The command line lists every command without importing it, and a command imports only
its own module (``hipfirst --help`` must not wait for the BLE stack or scipy.signal)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from hipfirst.cli import COMMANDS, build_parser, main


def _helps(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.help for a in sub._choices_actions}


def test_the_listed_help_is_what_each_command_registers() -> None:
    assert _helps(build_parser()) == COMMANDS  # every module imported and registered
    for name in COMMANDS:
        assert _helps(build_parser(only=name)) == COMMANDS, name


def _loaded_after(code: str) -> set[str]:
    heavy = ("scipy.signal", "bleak", "bumble", "matplotlib", "hipfirst.live")
    probe = f"import sys\n{code}\nprint('loaded:', *(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.splitlines()[-1].split()[1:])


def test_help_and_offline_commands_do_not_load_the_live_stack() -> None:
    # `hipfirst --help` (argparse exits after printing)
    assert (
        _loaded_after(
            "import contextlib\nfrom hipfirst.cli import main\n"
            "with contextlib.suppress(SystemExit):\n    main(['--help'])"
        )
        == set()
    )
    assert (
        _loaded_after("from hipfirst.cli import build_parser\nbuild_parser(only='simulate')")
        == set()
    )
    # review runs the pipeline, which needs neither BLE, the live session nor scipy.signal
    assert (
        _loaded_after("from hipfirst.cli import build_parser\nbuild_parser(only='review')") == set()
    )
    # and the full parser does load them: the probe sees what it should
    assert "bleak" in _loaded_after("from hipfirst.cli import build_parser\nbuild_parser()")


@pytest.mark.parametrize("value", ["-1", "nan"])
def test_a_negative_or_nan_cooldown_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--cooldown", value, "--no-record", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--cooldown" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["demo", "--practice", "-3", "--no-record", "--quiet"], "--practice: must be 0 or more"),
        (["demo", "--haptic-on", "knee", "--no-record", "--quiet"], "unknown placement 'knee'"),
        (["simulate", "--faults", "lumbar_first:-1", "-o", "{tmp}/x.csv"], "must be 0 or more"),
        # a numpy/simulator traceback once the virtual sensors were up
        (["demo", "--faults", "torso_drift:1", "--no-record", "--quiet"], "for rows only"),
        # "2 with faults" and a truth file naming knee_dominant reps, simulated unbent
        (["simulate", "--exercise", "row", "--faults", "knee:2", "-o", "{tmp}/x.csv"], "rows"),
        (["demo", "--exercise", "row", "--faults", "knee:1", "--no-record"], "not simulated"),
        # a drop after the set's end never happened: "0 gaps", no word about it
        (["demo", "--drop-link", "lumbar@1e9:4", "--no-record", "--quiet"], "the set is over"),
        # wrote a lumbar-only session (the review refuses it) as if two sensors were worn
        (["simulate", "--sensors", "lumbar,lumbar", "-o", "{tmp}/x.csv"], "two or three of"),
        (["simulate", "--sensors", "lumbar,sacrum,lumbar", "-o", "{tmp}/x.csv"], "given twice"),
        # demo: a traceback from numpy ("ValueError: expected non-negative integer") after
        # the set had started; simulate: that message, naming no option
        (["demo", "--seed", "-1", "--no-record", "--quiet"], "--seed must be 0 or more, got -1"),
        (["simulate", "--seed", "-5", "-o", "{tmp}/x.csv"], "--seed must be 0 or more, got -5"),
    ],
)
def test_impossible_counts_and_placements_are_usage_errors(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        rc = main([a.format(tmp=tmp_path) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        rc = int(exc.code or 0)
    assert rc == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_recording_paths_are_checked_before_the_sensors_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file where the recordings folder should be, a directory or an existing file as
    ``-o``: the demo connected its sensors, started the set ("Stand tall...") and only
    then failed, with "afile: File exists" or, for a directory, "a recording with this
    name already exists"."""
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    cases = [
        (["--out-dir", str(afile)], f"{afile}: is a file, expected a folder for recordings"),
        (["--out-dir", str(afile / "sub")], f"cannot be made: {afile} is a file"),
        (["-o", str(tmp_path)], f"{tmp_path}: is a directory, expected a recording file name"),
        (["-o", str(afile)], f"{afile}: already exists; a new recording never replaces a file"),
    ]
    for extra, says in cases:
        assert main(["demo", "--quiet", "--audio", "none", *extra]) == 2
        out, err = capsys.readouterr()
        assert says in err and err.count("\n") == 1
        assert "Stand tall" not in out
    assert afile.read_text() == "keep me\n"
    # simulate: "afile: File exists", from mkdir
    assert main(["simulate", "--reps", "1", "-o", str(afile / "x.csv")]) == 2
    assert f"{afile}: is a file, expected a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--rate", "-5"], "--rate must be between 1 and 1000 Hz, got -5.0"),
        (["--seconds", "0"], "--seconds must be more than 0, got 0.0"),
        (["--assign", "lumbar"], "--assign: 'lumbar' is not PLACEMENT=ADDRESS"),
        (["--mute", "bogus"], "--mute: unknown fault 'bogus'"),
        (["--out-dir", "{tmp}/afile"], "afile: is a file, expected a folder for recordings"),
        # scan -1 s looked for no time and said "no supported sensors found"
        (["scan", "--timeout", "-1"], "--timeout must be more than 0 and at most 600 s"),
        (["scan", "--timeout", "nan"], "--timeout must be more than 0 and at most 600 s"),
    ],
)
def test_live_options_are_checked_before_the_scan(
    extra: list[str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Wrong options were found only after the 5 s scan and the sensor assignment (or,
    for --rate / --seconds, not at all); here, with no adapter, the scan's error hid
    them."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-socket")
    monkeypatch.setenv("HIPFIRST_SENSORS_CONFIG", str(tmp_path / "sensors.json"))
    (tmp_path / "afile").write_text("")
    given = [a.format(tmp=tmp_path) for a in extra]
    argv = given if given[0] == "scan" else ["monitor", "--quiet", "--audio", "none", *given]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Bluetooth" not in err
