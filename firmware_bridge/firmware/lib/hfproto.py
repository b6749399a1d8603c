# hipfirst open sensor profile, version 1: wire constants and packers for MicroPython.
# Pure logic (struct only), runs on the device and on the unix port in CI.
# The layout is specified in firmware_bridge/PROFILE.md; the host decoders in
# firmware_bridge/profile/ are the reference the tests check these bytes against.
import struct

SERVICE_UUID = "68690001-0aac-446a-8884-59668ae0fff1"
IMU_UUID = "68690002-0aac-446a-8884-59668ae0fff1"
CONTROL_UUID = "68690003-0aac-446a-8884-59668ae0fff1"
STATUS_UUID = "68690004-0aac-446a-8884-59668ae0fff1"

VERSION = 1
FLAG_ACCEL_ONLY = 0x01
FLAG_BACKFILL = 0x02
FLAG_GAP_BEFORE = 0x04

OP_START = 0x01
OP_STOP = 0x02
OP_SET_RATE = 0x03
OP_SET_RANGES = 0x04
OP_HAPTIC = 0x05
OP_TIME_SYNC = 0x06
OP_SET_PLACEMENT = 0x07
OP_BACKFILL = 0x08

OK = 0
UNKNOWN_OPCODE = 1
BAD_COMMAND = 2
WRONG_STATE = 3
UNAVAILABLE = 4
UNSUPPORTED = 5

CAP_ACCEL_ONLY = 0x01
CAP_BACKFILL = 0x02
CAP_HAPTIC = 0x04

KIND_ACK = 0x01
KIND_STATE = 0x02

# range code -> full scale (g, deg/s); one LSB = full scale / 32768
ACC_RANGE_G = {0: 2, 1: 4, 2: 8, 3: 16}
GYR_RANGE_DPS = {0: 125, 1: 250, 2: 500, 3: 1000, 4: 2000}

HEADER_FMT = "<BBHIHBB"
HEADER_BYTES = 12
SEQ_MODULO = 1 << 16
TIME_MODULO_US = 1 << 32
MAX_COUNT = 255


def sample_bytes(accel_only: bool) -> int:
    return 6 if accel_only else 12


def max_samples(att_mtu: int, accel_only: bool) -> int:
    """Samples that fit one notification (payload = ATT MTU - 3)."""
    n = (att_mtu - 3 - HEADER_BYTES) // sample_bytes(accel_only)
    return max(0, min(MAX_COUNT, n))


def pack_packet(seq, t0_us, period_us, acc_code, gyr_code, samples, count, accel_only, flags=0):
    """One IMU notification. ``samples`` is a flat sequence of int16 values,
    6 per sample (ax ay az gx gy gz) or 3 when ``accel_only``; ``count`` samples are used."""
    per = 3 if accel_only else 6
    if not 1 <= count <= MAX_COUNT or len(samples) < count * per:
        raise ValueError("bad sample count")
    flags = (flags | FLAG_ACCEL_ONLY) if accel_only else (flags & ~FLAG_ACCEL_ONLY)
    out = bytearray(HEADER_BYTES + count * per * 2)
    struct.pack_into(
        HEADER_FMT,
        out,
        0,
        VERSION,
        flags,
        seq % SEQ_MODULO,
        t0_us % TIME_MODULO_US,
        period_us,
        count,
        (acc_code & 0x0F) | ((gyr_code & 0x0F) << 4),
    )
    off = HEADER_BYTES
    for i in range(count * per):
        v = samples[i]
        if v > 32767:
            v = 32767
        elif v < -32768:
            v = -32768
        struct.pack_into("<h", out, off, v)
        off += 2
    return bytes(out)


def set_flag(packet, flag):
    """The same packet with ``flag`` added to its flags byte (used to mark backfill)."""
    b = bytearray(packet)
    b[1] |= flag
    return bytes(b)


def pack_ack(opcode, result, value, device_time_us):
    return struct.pack("<BBBIQ", KIND_ACK, opcode & 0xFF, result, value & 0xFFFFFFFF, device_time_us)


def pack_state(streaming, period_us, acc_code, gyr_code, caps, next_seq, device_time_us, placement):
    name = placement.encode()
    return struct.pack(
        "<BBHBBBHQB",
        KIND_STATE,
        1 if streaming else 0,
        period_us,
        acc_code,
        gyr_code,
        caps,
        next_seq % SEQ_MODULO,
        device_time_us,
        len(name),
    ) + name


def advert_name(addr_tail, placement):
    """``hipfirst-XXXX`` plus ``-placement`` once one is set (PROFILE.md, Advertising)."""
    base = "hipfirst-%02X%02X" % (addr_tail[0], addr_tail[1])
    return base + "-" + placement if placement else base


KIND_EVENT = 0x03
EVENT_BUTTON = 0x01


def pack_event(event, count, device_time_us):
    """Status notification for a device event (e.g. the button marking a set)."""
    return struct.pack("<BBHQ", KIND_EVENT, event, count & 0xFFFF, device_time_us)
