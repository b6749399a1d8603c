"""Errors shown to the user as one line with a non-zero exit."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix (bad option, missing file...). ``str()`` is the message."""
