"""UUIDs between Bumble's form and bleak's (lower-case 128-bit string).

Bumble prints 16-bit UUIDs as ``UUID-16:180F (Battery)`` and 128-bit ones in
upper case; bleak always compares ``0000180f-0000-1000-8000-00805f9b34fb``. Going
through the 128-bit little-endian bytes is exact for all three sizes.
"""

from __future__ import annotations

import uuid

from bumble.core import UUID as BumbleUUID


def to_bleak(value: BumbleUUID) -> str:
    """Bumble UUID -> bleak's normalised string."""
    return str(uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def to_bumble(value: str) -> BumbleUUID:
    """bleak-style string (any case, 16/32/128-bit) -> Bumble UUID."""
    text = value.strip().lower()
    if len(text) in (4, 8):
        text = f"{int(text, 16):08x}-0000-1000-8000-00805f9b34fb"
    return BumbleUUID.from_bytes(bytes(reversed(uuid.UUID(text).bytes)))
