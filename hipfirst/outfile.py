"""Writing a file a command was told to write (``--csv OUT``, ``-o OUT``...): whole or not
at all, and an error that names the file.

A regular file (or a new name) is written to a temporary file in the same directory,
fsynced and renamed over the target, so a failure part way (disk full, file size limit)
leaves any earlier output untouched and no partial file. A target that exists and is not
a regular file (a FIFO, ``/dev/null``, a terminal) is written into directly: it is never
replaced. A symbolic link is followed: the file it points to is replaced, the link kept.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from hipfirst.errors import UserError


def _failed(target: Path, exc: OSError) -> UserError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return UserError(f"{target}: cannot write: {' '.join(reason.split())}")


def _fsync_dir(path: Path) -> None:
    """Make the rename durable; best effort (some file systems refuse a directory fd)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _new_temp(real: Path, mode: int | None) -> tuple[Path, int]:
    """A fresh hidden file next to ``real``: created as ``open()`` would create the target
    (0o666 less the umask), or with ``mode``, the permissions of the file it replaces."""
    while True:
        tmp = real.with_name(f".{real.name}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.fchmod(fd, mode)
            except OSError:
                os.close(fd)
                tmp.unlink(missing_ok=True)
                raise
        return tmp, fd


@contextlib.contextmanager
def open_output(target: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """``with open_output(path) as fh: fh.write(...)``: ``fh`` is a text (UTF-8, newlines
    as written) or binary file; when the block ends the output is in place, whole. Any
    ``OSError`` while opening, writing or renaming is a :class:`UserError` naming
    ``target``; the temporary file is removed. Keep the block to the writing only."""
    kw: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
    mode = "wb" if binary else "w"
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _failed(target, exc) from exc
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            with open(target, mode, **kw) as fh:
                yield fh
        except OSError as exc:
            raise _failed(target, exc) from exc
        return
    real = Path(os.path.realpath(target))
    tmp: Path | None = None
    try:
        tmp, fd = _new_temp(real, None if st is None else stat.S_IMODE(st.st_mode))
        try:
            fh = open(fd, mode, **kw)  # noqa: SIM115 - closed by the with below
        except BaseException:
            os.close(fd)
            raise
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, real)
        tmp = None
    except OSError as exc:
        raise _failed(target, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    _fsync_dir(real.parent)
