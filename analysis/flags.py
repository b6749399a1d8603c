"""Per-rep flags from the rep's metrics; thresholds live in ``PipelineConfig``.

``lumbar_first`` is a coaching rule for hip-hinge technique, not a diagnosis: healthy
people bending freely usually start with the lumbar spine (Laird et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.config import PipelineConfig
from analysis.results import FLAGS

HOLD_MIN_S = 3.0
"""A rep counts as a held hinge (torso drift is checked) when it stays deep this long."""
HOLD_FRACTION = 0.8
"""...deep = rep signal at or above this fraction of its peak excursion."""
SETTLED_FRACTION = 0.95


@dataclass(frozen=True)
class FlagInputs:
    lead_ms: float | None
    lumbar_early_deg: float | None
    """Lumbar excursion (towards its larger side) when the hip reached 15 % of its range."""
    lumbar_early_share: float | None
    lumbar_peak_deg: float | None
    lumbar_min_deg: float | None
    hip_rom_deg: float | None
    thigh_bottom_deg: float | None
    """Thigh tilt at the bottom relative to the rep start (negative = top back)."""
    rep_signal: np.ndarray
    trunk_deg: np.ndarray | None
    grid_hz: float


def torso_drift_deg(
    rep_signal: np.ndarray, trunk_deg: np.ndarray, *, grid_hz: float
) -> float | None:
    """Trunk tilt change from the first second of the settled hold to its last second
    (None: no hold)."""
    known = np.isfinite(rep_signal)
    if not known.any():
        return None
    # from the first measured sample (a held sensor may be NaN)
    rel = rep_signal - rep_signal[known.argmax()]
    top = np.fmax.reduce(rel)  # what np.nanmax does for an array, without its checks
    deep = (rel >= HOLD_FRACTION * top).nonzero()[0]
    if len(deep) == 0 or (deep[-1] - deep[0]) < HOLD_MIN_S * grid_hz:
        return None
    one = round(grid_hz)
    # the hold starts once the descent has settled (95 % of the excursion), not at the
    # 80 % mark where the trunk is still coming down into the hinge
    settled = int((rel >= SETTLED_FRACTION * top).argmax())
    first = trunk_deg[settled : settled + one]
    last = trunk_deg[deep[-1] - one + 1 : deep[-1] + 1]
    return float(np.nanmedian(last) - np.nanmedian(first))


def rep_flags(x: FlagInputs, c: PipelineConfig) -> tuple[str, ...]:
    on: set[str] = set()
    early = x.lumbar_early_deg
    if early is not None and early >= c.lumbar_first_min_deg:
        led = x.lead_ms is not None and x.lead_ms > c.lumbar_first_lead_ms
        share = x.lumbar_early_share is not None and x.lumbar_early_share >= c.lumbar_first_share
        if led or share:
            on.add("lumbar_first")
    if x.lumbar_peak_deg is not None and x.lumbar_peak_deg > c.lumbar_flexion_deg:
        on.add("lumbar_flexion")
    if x.lumbar_min_deg is not None and x.lumbar_min_deg < c.lumbar_extension_deg:
        on.add("lumbar_extension")
    if x.thigh_bottom_deg is not None and np.isfinite(x.thigh_bottom_deg):
        thigh = abs(x.thigh_bottom_deg)
        rom = x.hip_rom_deg or 0.0
        if thigh > c.knee_thigh_deg or (rom > 0 and thigh > c.knee_ratio * rom):
            on.add("knee_dominant")
    if x.trunk_deg is not None:
        drift = torso_drift_deg(x.rep_signal, x.trunk_deg, grid_hz=x.grid_hz)
        if drift is not None and abs(drift) > c.torso_drift_deg:
            on.add("torso_drift")
    return tuple(f for f in FLAGS if f in on)


def early_lumbar(
    hip: np.ndarray | None,
    lum: np.ndarray | None,
    base_h: float,
    base_l: float,
    hip_rom: float | None,
    lpk: float | None,
    lmin: float | None,
    *,
    frac: float,
) -> tuple[float | None, float | None]:
    """Lumbar excursion (towards its larger side) when the hip first reached ``frac`` of its
    range, and its share of the whole excursion (the early lumbopelvic rhythm). None if
    either angle is unknown anywhere before that sample: after a gap, the first sample
    past ``frac`` is not when the hip reached it."""
    if hip is None or lum is None or not hip_rom or hip_rom <= 0 or lpk is None:
        return None, None
    reached = hip - base_h >= frac * hip_rom
    i = int(reached.argmax())  # the first sample that reached it, if any did
    if not reached[i] or not (np.isfinite(hip[: i + 1]).all() and np.isfinite(lum[: i + 1]).all()):
        return None, None
    side = 1.0 if lpk >= -(lmin or 0.0) else -1.0
    moved = max(lpk, -(lmin or 0.0))
    early = side * float(lum[i] - base_l)
    return early, (early / moved if moved > 0 else None)
