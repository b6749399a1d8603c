# Runs under the MicroPython unix port: executes JSON requests against the firmware's
# pure-logic modules and prints JSON answers, so CPython tests can decode the bytes
# with the host codecs. Usage: micropython mpy_driver.py LIB_DIR < requests.json
import json
import sys

sys.path.insert(0, sys.argv[1])

import binascii

import hfclock
import hfcmd
import hfproto
from hfcore import SensorCore


def hx(b):
    return binascii.hexlify(b).decode()


def run_core(req):
    core = SensorCore(**req.get("config", {}))
    out = []
    for step in req["steps"]:
        kind = step[0]
        if kind == "write":
            ack, action, packets = core.handle(binascii.unhexlify(step[1]), step[2])
            out.append({"ack": hx(ack), "action": action, "packets": [hx(p) for p in packets]})
        elif kind == "sample":
            p = core.on_sample(step[1], step[2])
            out.append({"packet": None if p is None else hx(p)})
        elif kind == "poll":
            p = core.poll(step[1])
            out.append({"packet": None if p is None else hx(p)})
        elif kind == "state":
            out.append({"state": hx(core.state(step[1]))})
        elif kind == "gap":
            core.mark_gap()
            out.append({})
        elif kind == "unsubscribed":
            core.subscribed = False
            out.append({})
    return out


def answer(req):
    op = req["op"]
    if op == "pack":
        return hx(
            hfproto.pack_packet(
                req["seq"],
                req["t0_us"],
                req["period_us"],
                req["acc"],
                req["gyr"],
                req["samples"],
                req["count"],
                req["accel_only"],
                req.get("flags", 0),
            )
        )
    if op == "parse":
        try:
            opcode, params = hfcmd.parse(binascii.unhexlify(req["hex"]))
            return {"opcode": opcode, "params": params}
        except hfcmd.CommandError as exc:
            return {"error": exc.args[0], "opcode": exc.args[1]}
    if op == "core":
        return run_core(req)
    if op == "event":
        return hx(hfproto.pack_event(hfproto.EVENT_BUTTON, req["count"], req["t_us"]))
    if op == "name":
        return hfproto.advert_name(req["tail"], req["placement"])
    if op == "clock":
        return run_clock(req)
    if op == "ticks_max":
        import time

        return time.ticks_add(0, -1)
    raise ValueError(op)


def run_clock(req):
    """DeviceClock on a ticks counter wrapping at req["period"] (ticks_diff semantics of
    the MicroPython docs: signed, modulo the period). Reads at the true times req["reads"];
    req["stamps"]: [read index, raw true time] pairs converted with at() after that read."""
    period = req["period"]
    half = period // 2
    box = {"t": req["reads"][0]}

    def ticks():
        return box["t"] % period

    def diff(a, b):
        return ((a - b + half) % period) - half

    clock = hfclock.DeviceClock(ticks, diff)
    out, stamps = [], {}
    for i, raw in req.get("stamps", []):
        stamps.setdefault(i, []).append(raw)
    for i, t in enumerate(req["reads"]):
        box["t"] = t
        out.append([clock.now(), [clock.at(r % period) for r in stamps.get(i, [])]])
    return out


print(json.dumps([answer(r) for r in json.loads(sys.stdin.read())]))
