"""Errors about input data that a user can fix; shown as one line, no traceback."""

from __future__ import annotations


class InputError(Exception):
    """Bad input data. ``str()`` is a complete one-line message for the user.

    Name the file, and where known the line and field:
    ``InputError("rec.csv", "time went backwards for sensor 'thigh'", line=812, field="time_s")``
    → ``rec.csv:812: time_s: time went backwards for sensor 'thigh'``
    """

    def __init__(
        self, file: str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = file if line is None else f"{file}:{line}"
        text = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        super().__init__(text)
