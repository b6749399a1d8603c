"""Is every sensor where it should be? Checks on the standing neutral and practice hinges.

Pure numpy on the pipeline's own outputs, so the live set-up flow and a recorded session
give the same answers:

- at neutral: every sensor reads about 1 g (a sensor reading far from 1 g is broken, asleep
  or sending garbage);
- during practice hinges, from each segment's signed tilt (DOMAIN.md signs): the pelvis
  (sacrum) and trunk (lumbar) lean forward a lot; the thigh tilts back a little. A thigh
  sensor that moves like the sacrum is on the pelvis, not the thigh; a trunk that moves less
  than the pelvis means lumbar and sacrum are swapped; a sensor that does not move is loose
  or on the wrong person.
"""

from __future__ import annotations

import numpy as np

MOVED_DEG = 5.0
"""A segment in a practice hinge moves at least this much (the thigh ~5-15°, pelvis 40°+)."""
SWAP_DEG = 8.0


def check_neutral(acc_g: dict[str, np.ndarray]) -> list[str]:
    """Problems with the standing-still samples (per sensor, (n, 3) in g)."""
    out = []
    for name, a in acc_g.items():
        norm = float(np.median(np.linalg.norm(np.asarray(a, dtype=float), axis=1)))
        if not 0.85 <= norm <= 1.15:
            out.append(
                f"the {name} sensor reads {norm:.2f} g standing still (expected 1 g): "
                "check that it is switched on and clipped firmly"
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
        th, sa = tilt_deg["thigh"], tilt_deg["sacrum"]
        ok = np.isfinite(th) & np.isfinite(sa)
        if ok.sum() > 10:
            corr = float(np.corrcoef(th[ok], sa[ok])[0, 1])
            ratio = ex["thigh"] / max(ex["sacrum"], 1e-6)
            if abs(corr) > 0.9 and ratio > 0.6:  # the thigh's sign is flipped (DOMAIN.md)
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
