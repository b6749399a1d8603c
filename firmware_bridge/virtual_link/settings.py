"""Connection settings that route the manager's bleak client and scanner over a virtual link."""

from __future__ import annotations

from typing import Any

from firmware_bridge.manager.link import LinkSettings
from firmware_bridge.virtual_link.bleak_client import BumbleBleakClient
from firmware_bridge.virtual_link.bleak_scanner import BumbleBleakScanner
from firmware_bridge.virtual_link.link import VirtualLink


def virtual_link_settings(link: VirtualLink, **overrides: Any) -> LinkSettings:
    """``LinkSettings`` whose bleak client and scanner run on ``link``; ``overrides`` are
    any other ``LinkSettings`` fields (``rate_hz``, ``scan_timeout_s``, ...)."""
    return LinkSettings(
        client_backend=BumbleBleakClient,
        client_kwargs={"link": link},
        scanner_kwargs={"backend": BumbleBleakScanner, "link": link},
        **overrides,
    )
