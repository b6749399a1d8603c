"""Sets begun in a held hinge (no standing start) against the same sets begun standing.

A lifter who gets into position and holds still before the set gives the pipeline a
hinge as its first still posture. ``analysis/stance.py`` looks for a later standing
posture: the review says so (a note), and re-measures from that posture when the lifter
came back to it. Over simulated sessions of every exercise this prints, per group, how
many were told (note) and how many re-measured, the hip and lumbar angle RMSE against
the truth and the reps found (a true rep found when a found one overlaps it):

- begun in a held hinge (``SimConfig(start="hinge")``: the first rep begins in its bottom
  posture, held still 3 s);
- the same sessions begun standing (the same seeds): every note is a false one;
- rows begun standing whose recording stops 8 s into the last hold: the mirror image of a
  held start (``analysis/stance.py``): a note is expected there, a re-measure is wrong.

Run: ``.venv/bin/python bench/held_start.py [--seeds 10] [--end-s 2]`` (30 s).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from analysis.config import PipelineConfig
from analysis.review import review_session
from analysis.session import SensorStream, Session
from analysis.sim import SimConfig, SimResult, simulate

EXERCISES = ("row", "deadlift", "rdl", "good_morning", "hinge", "swing")
FIRST_SEED = 9100
"""Tests use 9011-9013 for held starts; these seeds are never used there."""


def scenarios(seeds: int) -> list[dict[str, Any]]:
    out = []
    for ex in EXERCISES:
        for i in range(seeds):
            seed = FIRST_SEED + i
            out.append(
                {
                    "exercise": ex,
                    "reps": 1 if ex == "row" else 5,
                    "sets": 1 + i % 2,
                    "rest_s": (20.0, 60.0, 90.0)[i % 3],
                    "seed": seed,
                    "rate_hz": (100.0, 50.0, 200.0)[i % 3],
                    "mounting": "random" if i % 4 < 2 else None,
                }
            )
    return out


def cut_in_last_hold(sim: SimResult) -> Session:
    """The session up to 8 s into its last rep's hold (a row recording stopped mid-set)."""
    cut = sim.reps[-1].bottom_s + 8.0
    streams = {}
    for n, st in sim.session.sensors.items():
        k = st.time_s < cut
        gyr = None if st.gyr_dps is None else st.gyr_dps[k]
        streams[n] = SensorStream(n, st.time_s[k], st.acc_g[k], gyr)
    return Session(streams, source=sim.session.source, meta=sim.session.meta)


def run(sc: dict[str, Any], group: str, end_s: float) -> tuple[bool, bool, float, float, int, int]:
    """(told, re-measured, hip RMSE, lumbar RMSE, reps matched, true reps); errors over
    the truth grid where the review has angles."""
    start = "hinge" if group == "hinge" else "standing"
    sim = simulate(SimConfig(**sc, start=start, still_end_s=end_s))
    session = cut_in_last_hold(sim) if group == "cut" else sim.session
    rv = review_session(session, config=PipelineConfig.for_exercise(sc["exercise"]))
    told = any(m.startswith("no standing start") for m in rv.missing)
    moved = bool(rv.settings.get("neutral_from_standing_s"))
    ta = sim.angles
    errs = []
    for est, true in ((rv.angles.hip_deg, ta.hip_deg), (rv.angles.lumbar_deg, ta.lumbar_deg)):
        e = np.interp(ta.time_s, rv.angles.time_s, est, left=np.nan, right=np.nan) - true
        errs.append(float(np.sqrt(np.nanmean(e**2))))
    matched = 0
    truth = [r for r in sim.reps if group != "cut" or r is not sim.reps[-1]]
    for tr in truth:
        if any(min(tr.end_s, r.end_s) - max(tr.start_s, r.start_s) > 0 for r in rv.reps):
            matched += 1
    return told, moved, errs[0], errs[1], matched, len(truth)


GROUPS = {
    "hinge": "sets begun in a held hinge",
    "standing": "the same sets begun standing",
    "cut": "rows begun standing, the recording stopped 8 s into the last hold",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="sessions per exercise (10)")
    ap.add_argument(
        "--end-s",
        type=float,
        default=2.0,
        help="standing still at the end of the session, s (2, the simulator's default: "
        "too short for a still window after a swing set)",
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    for group, title in GROUPS.items():
        print(f"{title}:")
        told_n = moved_n = total = m_all = r_all = 0
        hips: list[float] = []
        lums: list[float] = []
        for sc in scenarios(args.seeds):
            if group == "cut" and sc["exercise"] != "row":
                continue
            told, moved, hip, lum, matched, reps = run(sc, group, args.end_s)
            total += 1
            told_n += told
            moved_n += moved
            hips.append(hip)
            lums.append(lum)
            m_all += matched
            r_all += reps
            mark = "re-measured" if moved else "note only" if told else "-"
            print(
                f"  seed {sc['seed']} {sc['exercise']:<12} sets {sc['sets']}: {mark:<11} "
                f"hip RMSE {hip:6.2f}, lumbar {lum:5.2f} deg, reps {matched}/{reps}",
                flush=True,
            )
        print(
            f"  {told_n}/{total} told (note), {moved_n}/{total} re-measured from a standing "
            f"posture; hip RMSE median {np.median(hips):.2f} (max {np.max(hips):.2f}), "
            f"lumbar median {np.median(lums):.2f} (max {np.max(lums):.2f}) deg; "
            f"reps found {m_all}/{r_all}"
        )
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
