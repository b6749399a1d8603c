"""Is every sensor where it should be? Checks on the standing neutral, practice hinges, rests.

Pure numpy on the pipeline's own outputs (still runs, segment tilts) and raw accelerometer
samples, so the live set-up flow and a recorded session give the same answers. Every
message names the sensor and says what to do; an empty list means "looks right".

- before the neutral (``unsteady_sensors``): a sensor that is never still while the others
  are is loose, dangling or in a hand;
- at the neutral (``check_neutral``): every sensor reads about 1 g and is not frozen (a
  real accelerometer always has some noise; the same value every sample is a stuck sensor
  or a replayed packet);
- during practice hinges (``check_practice``), from each segment's signed tilt (DOMAIN.md
  signs): the pelvis (sacrum) and trunk (lumbar) lean forward a lot, the thigh tilts back a
  little. A thigh sensor that moves like the sacrum is on the pelvis, not the thigh; a trunk
  that moves clearly less than the pelvis means lumbar and sacrum are swapped; a sensor that
  does not move is loose or on the wrong person;
- at a standing rest (``rest_offsets``): every segment is back near 0° tilt; one sensor
  well off while the others are at 0° has slipped; all of them off means the lifter is not
  standing tall.

What cannot be checked: whether a single sensor is "upright". Sensors may be clipped in any
orientation (DOMAIN.md), so one still pose says nothing about how the sensor sits on the
segment; the placement becomes observable only once the segments move (practice hinges).
A sensor clipped upside down is not an error: the pipeline learns each axis from movement.
"""

from __future__ import annotations

import numpy as np

MOVED_DEG = 5.0
"""A segment in a practice hinge moves at least this much (the thigh ~5-15°, pelvis 40°+)."""
SWAP_DEG = 8.0
"""The trunk (lumbar sensor) may move this much less than the pelvis before we call a swap."""
ONE_G_TOLERANCE_G = 0.15
FROZEN_G = 1e-5
"""Below this standard deviation (g) on every axis a still accelerometer is frozen: real
MEMS noise is 0.5-5 mg even when the sensor lies on a table."""


def unsteady_sensors(still_run_s: dict[str, float], *, need_s: float) -> list[str]:
    """Sensors that have not yet been still for ``need_s`` (their longest still stretch so
    far, in seconds). Names them when the others have been still; one message when nobody
    has (the lifter is moving, not a placement problem)."""
    short = [n for n, s in still_run_s.items() if s < need_s]
    if not short:
        return []
    if len(short) == len(still_run_s):
        return [f"every sensor is moving: stand tall and still for {need_s:g} s"]
    return [
        f"the {n} sensor has not been still for {need_s:g} s while the others were "
        f"(longest {still_run_s[n]:.1f} s): is it clipped on firmly, not dangling?"
        for n in short
    ]


def check_neutral(acc_g: dict[str, np.ndarray]) -> list[str]:
    """Problems with the standing-still samples (per sensor, (n, 3) in g)."""
    out = []
    for name, a in acc_g.items():
        arr = np.asarray(a, dtype=float).reshape(-1, 3)
        if len(arr) == 0:
            continue
        norm = float(np.median(np.linalg.norm(arr, axis=1)))
        if not 1.0 - ONE_G_TOLERANCE_G <= norm <= 1.0 + ONE_G_TOLERANCE_G:
            out.append(
                f"the {name} sensor reads {norm:.2f} g standing still (expected 1 g): "
                "check that it is switched on and clipped firmly"
            )
        elif len(arr) >= 10 and float(arr.std(axis=0).max()) < FROZEN_G:
            out.append(
                f"the {name} sensor sends the same reading every sample (frozen): "
                "switch it off and on again"
            )
    return out


def check_practice(tilt_deg: dict[str, np.ndarray]) -> list[str]:
    """Problems seen in practice hinges, from each sensor's signed tilt series (same time
    base). Empty when the placements look right."""
    out = []
    ex = {n: float(np.nanmax(np.abs(t))) if np.any(np.isfinite(t)) else 0.0
          for n, t in tilt_deg.items()}  # fmt: skip
    for name, amp in ex.items():
        if amp < MOVED_DEG:
            out.append(
                f"the {name} sensor hardly moved ({amp:.0f}°) during the practice hinges: "
                "is it clipped on tight, and on you?"
            )
    if "thigh" in tilt_deg and "sacrum" in tilt_deg and ex["thigh"] >= MOVED_DEG:
        th, sa = np.asarray(tilt_deg["thigh"]), np.asarray(tilt_deg["sacrum"])
        ok = np.isfinite(th) & np.isfinite(sa)
        if ok.sum() > 10:
            corr = float(np.corrcoef(th[ok], sa[ok])[0, 1])
            ratio = ex["thigh"] / max(ex["sacrum"], 1e-6)
            # a "thigh" sensor on the pelvis tilts as far as the sacrum, sign flipped (the
            # thigh's sign, DOMAIN.md); a knee-dominant hinge moves the real thigh 3-8x as far
            # as the pelvis, in anti-phase too: told to re-clip a sensor that was right
            if abs(corr) > 0.9 and 0.6 < ratio < 1.6:
                out.append(
                    "the thigh sensor moves like the sacrum sensor: is it on the side of the "
                    "thigh, half-way down (not on the hip or the belt)?"
                )
    # the trunk leans at least as far as the pelvis in a hinge (the lumbar spine flexes a
    # little or holds); 8° less than the pelvis is more arching than anyone practises with
    if "lumbar" in ex and "sacrum" in ex and ex["lumbar"] < ex["sacrum"] - SWAP_DEG:
        out.append(
            "the lumbar sensor moves less than the sacrum sensor: are the two swapped? "
            "(lumbar goes higher up the back, at the bottom of the rib cage)"
        )
    return out


def rest_offsets(tilt_deg: dict[str, np.ndarray], *, max_deg: float) -> list[str]:
    """Problems with a still standing rest, from each segment's tilt (relative to the
    neutral) over the rest. Every segment should be within ``max_deg`` of 0°."""
    off = {
        n: float(np.nanmedian(t))
        for n, t in tilt_deg.items()
        if np.any(np.isfinite(np.asarray(t, dtype=float)))
    }
    bad = {n: v for n, v in off.items() if abs(v) > max_deg}
    if not bad:
        return []
    if len(bad) == len(off) and len(off) > 1:
        parts = ", ".join(f"{n} {v:+.0f}°" for n, v in bad.items())
        return [f"you are not standing as at the start ({parts}): stand tall and still"]
    return [
        f"the {n} sensor reads {abs(v):.0f}° off its starting angle standing, the others "
        "0°: has it slipped? Re-clip it and start again"
        for n, v in bad.items()
    ]
