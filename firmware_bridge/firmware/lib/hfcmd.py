# Control-characteristic command parsing for the hipfirst firmware (pure logic).
# Mirrors the validation of the host codec firmware_bridge/profile/control.py: every
# write is one command; anything malformed is rejected with a result code, never raised.
import struct

from hfproto import (
    ACC_RANGE_G,
    BAD_COMMAND,
    GYR_RANGE_DPS,
    OP_BACKFILL,
    OP_HAPTIC,
    OP_SET_PLACEMENT,
    OP_SET_RANGES,
    OP_SET_RATE,
    OP_START,
    OP_STOP,
    OP_TIME_SYNC,
    UNKNOWN_OPCODE,
)

HAPTIC_MAX_SEGMENTS = 8
HAPTIC_MAX_SEGMENT_MS = 10000
PLACEMENT_MAX_BYTES = 15
_PLACEMENT_OK = b"abcdefghijklmnopqrstuvwxyz0123456789_"


class CommandError(Exception):
    """A rejected write; ``args[0]`` is the result code, ``args[1]`` the opcode."""


def _need(data, n):
    if len(data) != n:
        raise CommandError(BAD_COMMAND, data[0])


def parse(data):
    """Bytes of one control write -> ``(opcode, params tuple)``; raises CommandError."""
    if len(data) == 0:
        raise CommandError(UNKNOWN_OPCODE, 0)
    op = data[0]
    if op in (OP_START, OP_STOP):
        _need(data, 1)
        return op, ()
    if op == OP_SET_RATE:
        _need(data, 3)
        rate = struct.unpack_from("<H", data, 1)[0]
        if rate < 16:
            raise CommandError(BAD_COMMAND, op)
        return op, (rate,)
    if op == OP_SET_RANGES:
        _need(data, 3)
        if data[1] not in ACC_RANGE_G or data[2] not in GYR_RANGE_DPS:
            raise CommandError(BAD_COMMAND, op)
        return op, (data[1], data[2])
    if op == OP_HAPTIC:
        if len(data) < 3:
            raise CommandError(BAD_COMMAND, op)
        intensity, n = data[1], data[2]
        if intensity > 100 or not 1 <= n <= HAPTIC_MAX_SEGMENTS:
            raise CommandError(BAD_COMMAND, op)
        _need(data, 3 + 2 * n)
        pattern = struct.unpack_from("<%dH" % n, data, 3)
        for ms in pattern:
            if ms > HAPTIC_MAX_SEGMENT_MS:
                raise CommandError(BAD_COMMAND, op)
        return op, (intensity, tuple(pattern))
    if op == OP_TIME_SYNC:
        _need(data, 5)
        return op, (struct.unpack_from("<I", data, 1)[0],)
    if op == OP_SET_PLACEMENT:
        name = bytes(data[1:])
        if len(name) > PLACEMENT_MAX_BYTES:
            raise CommandError(BAD_COMMAND, op)
        for ch in name:
            if ch not in _PLACEMENT_OK:
                raise CommandError(BAD_COMMAND, op)
        return op, (name.decode(),)
    if op == OP_BACKFILL:
        _need(data, 4)
        from_seq, count = struct.unpack_from("<HB", data, 1)
        if count == 0:
            raise CommandError(BAD_COMMAND, op)
        return op, (from_seq, count)
    raise CommandError(UNKNOWN_OPCODE, op)
