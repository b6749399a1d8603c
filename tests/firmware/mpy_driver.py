# Runs under the MicroPython unix port: executes JSON requests against the firmware's
# pure-logic modules and prints JSON answers, so CPython tests can decode the bytes
# with the host codecs. Usage: micropython mpy_driver.py LIB_DIR < requests.json
import json
import sys

sys.path.insert(0, sys.argv[1])

import binascii

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
    raise ValueError(op)


print(json.dumps([answer(r) for r in json.loads(sys.stdin.read())]))
