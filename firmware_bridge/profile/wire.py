"""Bounds-checked little-endian reading of untrusted bytes from the air.

Every decoder in :mod:`firmware_bridge.profile` reads through :class:`Reader`, which
keeps a running offset and raises :class:`MalformedPacket` (and nothing else) when
the bytes run out, are left over or hold an impossible value.
"""

from __future__ import annotations

import struct


class MalformedPacket(ValueError):
    """Bytes that do not decode as the profile says. Count the packet and drop it."""


class Reader:
    """A cursor over ``data``; each ``take`` checks the remaining length first."""

    __slots__ = ("data", "offset", "what")

    def __init__(self, data: bytes | bytearray | memoryview, what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedPacket(f"{what}: expected bytes, got {type(data).__name__}")
        self.data = bytes(data)
        self.offset = 0
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def take(self, fmt: struct.Struct) -> tuple[int, ...]:
        end = self.offset + fmt.size
        if end > len(self.data):
            raise self.error(
                f"needs {fmt.size} bytes at offset {self.offset}, has {self.remaining}"
            )
        values = fmt.unpack_from(self.data, self.offset)
        self.offset = end
        return values

    def take_bytes(self, n: int) -> bytes:
        if n < 0 or self.offset + n > len(self.data):
            raise self.error(f"needs {n} bytes at offset {self.offset}, has {self.remaining}")
        out = self.data[self.offset : self.offset + n]
        self.offset += n
        return out

    def rest(self) -> bytes:
        out = self.data[self.offset :]
        self.offset = len(self.data)
        return out

    def done(self) -> None:
        """Fail if bytes are left over: a length mismatch means we misread the packet."""
        if self.remaining:
            raise self.error(f"{self.remaining} unexpected trailing bytes at offset {self.offset}")

    def error(self, message: str) -> MalformedPacket:
        return MalformedPacket(f"{self.what}: {message}")


U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
