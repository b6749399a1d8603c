"""Errors from the device side that a user can act on; shown as one line."""

from __future__ import annotations


class BridgeError(Exception):
    """A device problem with advice for the user in ``str()``."""
