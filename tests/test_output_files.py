"""Files a command was told to write (``review --csv/--angles-csv/--report``,
``orientation -o``): whole or not at all, an error that names the file, and a target that
is not a regular file (FIFO, device) written into, never replaced.

Failures are real ones on real files: a write part way through is cut by the file size
limit (``RLIMIT_FSIZE``, which also holds for root), a full disk is ``/dev/full``.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from analysis.session_csv import write_session_csv
from hipfirst.cli import main
from tests.test_orientation import session_file
from tests.test_pipeline import make_session


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "clean.csv"
    s, _ = make_session(seed=1201, lead_s=0.0, reps=4)
    write_session_csv(s, path)
    return path


def _size_limit(limit: int) -> Callable[[], None]:
    def limit_files() -> None:  # in the child: a write past ``limit`` bytes fails (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # kept across exec
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_files


def _hipfirst(*argv: str | Path, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hipfirst.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=None if limit is None else _size_limit(limit),
    )


@pytest.mark.parametrize("option", ["--angles-csv", "--csv", "--report", "orientation"])
def test_a_write_cut_part_way_keeps_the_earlier_output_and_names_the_file(
    option: str, recording: Path, tmp_path: Path
) -> None:
    out = tmp_path / ("up.csv" if option == "orientation" else f"out{option}.txt")
    if option == "orientation":
        argv: tuple[str | Path, ...] = ("orientation", recording, "-o", out)
    else:
        argv = ("review", recording, "--quiet", option, out)
    first = _hipfirst(*argv)  # also warms any cache (fonts...) before the limit is set
    assert first.returncode == 0, first.stderr
    good = out.read_bytes()
    assert len(good) > 500
    again = _hipfirst(*argv, limit=len(good) // 2)
    assert out.read_bytes() == good  # before: cut to the limit (e.g. 96861 -> 4096 bytes)
    assert again.returncode == 2
    assert again.stderr == f"hipfirst: error: {out}: cannot write: File too large\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp file left


@pytest.mark.skipif(not os.access("/dev/full", os.W_OK), reason="no writable /dev/full")
def test_a_full_device_is_written_into_not_replaced_and_named(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rep = tmp_path / "reps.csv"
    assert main(["review", str(recording), "--angles-csv", "/dev/full", "--csv", str(rep)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "hipfirst: error: /dev/full: cannot write: No space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # still the device
    assert not rep.exists()  # outputs are written in order; the first failed


def test_orientation_into_a_fifo_writes_through_it(tmp_path: Path) -> None:
    src, rows = session_file(tmp_path)
    fifo = tmp_path / "up.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the writer's open succeeds
    got: list[bytes] = []
    done = threading.Event()

    def drain() -> None:
        while True:
            select.select([fd], [], [], 0.05)
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if chunk:
                got.append(chunk)
            elif done.is_set():
                return
            else:  # no writer (yet): EOF until one opens
                done.wait(0.01)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert main(["orientation", str(src), "-o", str(fifo)]) == 0
    finally:
        done.set()
        reader.join(10)
        os.close(fd)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # before: replaced by a regular file
    lines = b"".join(got).decode().splitlines()
    assert lines[0] == "time_s,sensor,up_x,up_y,up_z" and len(lines) == 1 + rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "up.fifo"]


def test_orientation_keeps_a_symlink_and_the_permissions_of_the_file_it_replaces(
    tmp_path: Path,
) -> None:
    src, rows = session_file(tmp_path)
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "up.csv"
    link.symlink_to(real.name)
    assert main(["orientation", str(src), "-o", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == real.name  # before: link replaced
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # before: 0o644 (umask 022)
    assert len(real.read_text().splitlines()) == 1 + rows
