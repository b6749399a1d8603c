"""What the simulated lifter does: reps of each exercise, with labelled faults.

Angles follow DOMAIN.md: hip flexion = pelvis tilt - thigh tilt, lumbar flexion = trunk
tilt - pelvis tilt, all relative to the standing neutral. The thigh tilts back by a share
of the hip angle (``k_thigh``: small in a hinge, large when the lifter squats the hinge)
and the shank tilts forward with the knees.

Faults (per rep, ranges drawn at random):
- ``lumbar_first``: the lumbar spine starts flexing 150-450 ms (swing: 150-300 ms) before
  the hips, by 8-14°;
- ``lumbar_flexion``: late rounding, 21-28° extra from 55 % of the descent;
- ``lumbar_extension``: arching to -13..-18° (hinges: from a quarter of the descent;
  swing: hyper-extension into the lockout);
- ``knee_dominant``: the thigh tilts 75-100 % of the hip angle;
- ``torso_drift`` (rows): the torso rises 10-15° across the held hinge.
Good reps flex the lumbar spine 2-9° in step with the hips (onset within ±25 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.sim.channels import Channel
from analysis.sim.config import SIM_EXERCISES, SimConfig, fault_name


@dataclass(frozen=True)
class Style:
    rom_deg: tuple[float, float]
    down_s: tuple[float, float]
    hold_s: tuple[float, float]
    up_s: tuple[float, float]
    rest_s: tuple[float, float]
    k_thigh: float
    k_shank: float
    lumbar_deg: tuple[float, float]


STYLES: dict[str, Style] = {
    "hinge": Style((55, 75), (1.5, 2.2), (1.0, 2.0), (1.3, 1.8), (1.5, 2.5), 0.12, 0.08, (2, 6)),
    "rdl": Style((70, 90), (1.8, 2.5), (0.2, 0.5), (1.2, 1.6), (1.5, 2.5), 0.15, 0.10, (3, 8)),
    "deadlift": Style((85, 100), (1.5, 2.0), (0.3, 0.8), (1.2, 1.6), (2.0, 3.0), 0.3, 0.25, (4, 9)),
    "good_morning": Style(
        (60, 80), (2.0, 2.5), (0.2, 0.4), (1.5, 2.0), (1.5, 2.5), 0.08, 0.05, (3, 7)
    ),
    "swing": Style((60, 75), (0.4, 0.5), (0.0, 0.0), (0.4, 0.5), (0.35, 0.5), 0.22, 0.15, (3, 6)),
    "row": Style((65, 80), (1.5, 2.0), (0.0, 0.0), (1.5, 2.0), (2.0, 3.0), 0.15, 0.10, (2, 5)),
}


@dataclass
class PlannedRep:
    index: int
    set_index: int
    hip_onset_s: float
    bottom_s: float
    up_start_s: float
    end_s: float
    lumbar_onset_s: float
    k_thigh: float
    faults: tuple[str, ...] = ()


@dataclass
class Lifter:
    hip: Channel = field(default_factory=Channel)
    lumbar: Channel = field(default_factory=Channel)
    thigh: Channel = field(default_factory=Channel)
    shank: Channel = field(default_factory=Channel)
    reps: list[PlannedRep] = field(default_factory=list)
    duration_s: float = 0.0
    still_windows: list[tuple[float, float]] = field(default_factory=list)
    rests: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) of each standing rest between sets."""
    mount_slip: dict[str, Channel] = field(default_factory=dict)
    """Per placement: the mounting's turn about the segment's flexion axis (°) over time."""


def plan(cfg: SimConfig, rng: np.random.Generator) -> Lifter:
    """The whole session's movements."""
    if cfg.exercise not in SIM_EXERCISES:
        raise ValueError(f"unknown exercise {cfg.exercise!r}; known: {', '.join(SIM_EXERCISES)}")
    if cfg.reps < 1 or cfg.sets < 1:
        raise ValueError("reps and sets must be at least 1")
    faults = {fault_name(k): int(v) for k, v in cfg.faults.items() if int(v) > 0}
    if "torso_drift" in faults and cfg.exercise != "row":
        raise ValueError("torso_drift is simulated for rows only")
    if "knee_dominant" in faults and cfg.exercise == "row":
        # the row's held hinge never bent the knees more: the truth said it did
        raise ValueError("knee_dominant is not simulated for rows (the hold keeps its knees)")
    if cfg.start not in ("standing", "hinge"):
        raise ValueError(f"unknown start {cfg.start!r}; known: standing, hinge")
    style = STYLES[cfg.exercise]
    body = Lifter()
    in_hinge = cfg.start == "hinge"
    t = 0.0 if in_hinge else cfg.still_start_s
    body.still_windows.append((0.0, cfg.still_start_s))
    index = 0
    for s in range(cfg.sets):
        labels = _assign(faults, cfg.reps, rng)
        for r in range(cfg.reps):
            index += 1
            settled = cfg.still_start_s if in_hinge and index == 1 else None
            if cfg.exercise == "row":
                t = _row(body, style, cfg, rng, t, index, s, labels[r], settled)
            else:
                t = _hinge_rep(body, style, cfg, rng, t, index, s, labels[r], settled)
        if s + 1 < cfg.sets:
            body.still_windows.append((t, t + cfg.rest_s))
            body.rests.append((t, t + cfg.rest_s))
            t += cfg.rest_s
    body.still_windows.append((t, t + cfg.still_end_s))
    body.duration_s = t + cfg.still_end_s
    _slips(body, cfg)
    return body


def _slips(body: Lifter, cfg: SimConfig) -> None:
    for slip in cfg.slips:
        if slip.sensor not in cfg.sensors:
            raise ValueError(f"slip of {slip.sensor!r}: no such sensor in {cfg.sensors}")
        if not 1 <= slip.rest <= len(body.rests):
            raise ValueError(
                f"slip in rest {slip.rest}: the session has {len(body.rests)} rest(s) (sets - 1)"
            )
        r0, r1 = body.rests[slip.rest - 1]
        if slip.after_s < 0 or r0 + slip.after_s + slip.dur_s > r1:
            raise ValueError(f"slip {slip.after_s} s into a {r1 - r0:g} s rest does not fit in it")
        ch = body.mount_slip.setdefault(slip.sensor, Channel())
        ch.move(t0_s=r0 + slip.after_s, dur_s=slip.dur_s, delta_deg=slip.deg)


def _assign(faults: dict[str, int], reps: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Spread the faults over distinct reps while there are enough reps."""
    labels: list[list[str]] = [[] for _ in range(reps)]
    free = list(rng.permutation(reps))
    for name, count in faults.items():
        for _ in range(min(count, reps)):
            if not free:
                free = list(rng.permutation(reps))
            i = free.pop()
            while name in labels[i] and free:
                i = free.pop()
            if name not in labels[i]:
                labels[i].append(name)
    return [tuple(x) for x in labels]


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(*lo_hi))


def _hinge_rep(
    body: Lifter,
    style: Style,
    cfg: SimConfig,
    rng: np.random.Generator,
    t: float,
    index: int,
    set_index: int,
    faults: tuple[str, ...],
    settled_s: float | None = None,
) -> float:
    """One rep from the top posture at ``t``; with ``settled_s`` the lifter is already in
    its bottom posture at ``t`` and holds it still that long (no descent, no fault)."""
    swing = cfg.exercise == "swing"
    rom, down, hold = _u(rng, style.rom_deg), _u(rng, style.down_s), _u(rng, style.hold_s)
    up, rest = _u(rng, style.up_s), _u(rng, style.rest_s)
    if settled_s is not None:
        return _from_bottom(body, style, rng, t, index, set_index, rom, settled_s + hold, up, rest)
    lead = 0.0
    if "lumbar_first" in faults:
        lead = float(rng.uniform(0.15, 0.30 if swing else 0.45))
    hip_on = t + lead  # the back starts at ``t``; for a swing the lockout lasts that much longer
    k_thigh = style.k_thigh
    k_shank = style.k_shank
    if "knee_dominant" in faults:
        k_thigh = float(
            rng.uniform(0.88, 1.0) if cfg.exercise == "deadlift" else rng.uniform(0.75, 0.9)
        )
        k_shank = 0.8 * k_thigh
    bottom = hip_on + down
    up_on = bottom + hold
    end = up_on + up
    for ch, k in ((body.hip, 1.0), (body.thigh, -k_thigh), (body.shank, k_shank)):
        ch.move(t0_s=hip_on, dur_s=down, delta_deg=k * rom)
        ch.move(t0_s=up_on, dur_s=up, delta_deg=-k * rom)
    lum = body.lumbar
    if "lumbar_first" in faults:
        amp = float(rng.uniform(8, 14))
        lum_on = hip_on - lead
        lum.move(t0_s=lum_on, dur_s=lead + 0.5 * down, delta_deg=amp)
        lum.move(t0_s=up_on, dur_s=up, delta_deg=-amp)
    elif "lumbar_extension" in faults:
        amp = -float(rng.uniform(13, 18))
        if swing:
            lum_on = up_on + 0.55 * up
            lum.move(t0_s=lum_on, dur_s=0.45 * up, delta_deg=amp)
            lum.move(t0_s=end + 0.1, dur_s=max(0.2, rest - 0.1), delta_deg=-amp)
        else:
            lum_on = hip_on + 0.25 * down
            lum.move(t0_s=lum_on, dur_s=0.75 * down, delta_deg=amp)
            lum.move(t0_s=up_on, dur_s=up, delta_deg=-amp)
    else:
        amp = _u(rng, style.lumbar_deg)
        lum_on = hip_on + float(np.clip(rng.normal(0, 0.012), -0.025, 0.025))
        lum.move(t0_s=lum_on, dur_s=down, delta_deg=amp)
        lum.move(t0_s=up_on, dur_s=up, delta_deg=-amp)
    if "lumbar_flexion" in faults:
        extra = float(rng.uniform(21, 28))
        t0 = hip_on + 0.55 * down
        lum.move(t0_s=t0, dur_s=bottom - t0 + 0.5 * hold + 0.05, delta_deg=extra)
        lum.move(t0_s=up_on, dur_s=up, delta_deg=-extra)
    body.reps.append(
        PlannedRep(index, set_index, hip_on, bottom, up_on, end, lum_on, k_thigh, faults)
    )
    return end + rest


def _from_bottom(
    body: Lifter,
    style: Style,
    rng: np.random.Generator,
    t: float,
    index: int,
    set_index: int,
    rom: float,
    hold_s: float,
    up_s: float,
    rest_s: float,
) -> float:
    """A hinge rep begun in its bottom posture (held from ``t`` for ``hold_s``): only the
    way up. The posture is the channels' starting value, so it holds from time 0."""
    amp = _u(rng, style.lumbar_deg)
    up_on = t + hold_s
    end = up_on + up_s
    for ch, k in ((body.hip, 1.0), (body.thigh, -style.k_thigh), (body.shank, style.k_shank)):
        ch.base_deg += k * rom
        ch.move(t0_s=up_on, dur_s=up_s, delta_deg=-k * rom)
    body.lumbar.base_deg += amp
    body.lumbar.move(t0_s=up_on, dur_s=up_s, delta_deg=-amp)
    body.reps.append(PlannedRep(index, set_index, t, t, up_on, end, t, style.k_thigh))
    return end + rest_s


def _row(
    body: Lifter,
    style: Style,
    cfg: SimConfig,
    rng: np.random.Generator,
    t: float,
    index: int,
    set_index: int,
    faults: tuple[str, ...],
    settled_s: float | None = None,
) -> float:
    """Hinge down, hold while pulling ``row_pulls`` times, stand up. With ``settled_s`` the
    lifter is already in the hinge at ``t`` and holds it still that long before the pulls
    (no descent; ``lumbar_first`` is dropped)."""
    rom, down, up = _u(rng, style.rom_deg), _u(rng, style.down_s), _u(rng, style.up_s)
    if settled_s is not None:
        faults = tuple(f for f in faults if f != "lumbar_first")
    lead = float(rng.uniform(0.15, 0.45)) if "lumbar_first" in faults else 0.0
    hip_on = t + lead
    bottom = hip_on + down if settled_s is None else t
    pulls = max(1, cfg.row_pulls)
    pull_s = 1.6
    settle = 0.0 if settled_s is None else settled_s
    hold = 0.6 + pulls * pull_s + settle
    up_on = bottom + hold
    end = up_on + up
    k = style.k_thigh
    drift = -float(rng.uniform(10, 15)) if "torso_drift" in faults else 0.0
    p_start = bottom + settle + 0.3  # the pulls (and any hold fault) begin here
    for ch, kk in ((body.hip, 1.0), (body.thigh, -k), (body.shank, style.k_shank)):
        if settled_s is None:
            ch.move(t0_s=hip_on, dur_s=down, delta_deg=kk * rom)
        else:
            ch.base_deg += kk * rom
        if drift:
            ch.move(t0_s=p_start, dur_s=hold - settle - 0.6, delta_deg=kk * drift)
        ch.move(t0_s=up_on, dur_s=up, delta_deg=-kk * (rom + drift))
    lum = body.lumbar
    if "lumbar_first" in faults:
        amp = float(rng.uniform(8, 14))
        lum_on = hip_on - lead
        lum.move(t0_s=lum_on, dur_s=lead + 0.5 * down, delta_deg=amp)
    else:
        amp = _u(rng, style.lumbar_deg)
        lum_on = hip_on + float(np.clip(rng.normal(0, 0.012), -0.025, 0.025))
        if settled_s is None:
            lum.move(t0_s=lum_on, dur_s=down, delta_deg=amp)
        else:
            lum_on = t
            lum.base_deg += amp
    extra = 0.0
    if "lumbar_flexion" in faults:
        extra = float(rng.uniform(21, 28))
    elif "lumbar_extension" in faults:
        extra = -float(rng.uniform(13, 18)) - amp
    if extra:
        lum.move(t0_s=p_start, dur_s=0.5 * (hold - settle), delta_deg=extra)
    lum.move(t0_s=up_on, dur_s=up, delta_deg=-(amp + extra))
    # each pull: the lats pull the trunk a little into extension and the hips rock
    for p in range(pulls):
        p0 = p_start + p * pull_s
        wob = float(rng.uniform(0.8, 1.6))
        lum.move(t0_s=p0, dur_s=0.6, delta_deg=-wob)
        lum.move(t0_s=p0 + 0.9, dur_s=0.7, delta_deg=wob)
        rock = float(rng.uniform(0.5, 1.2))
        body.hip.move(t0_s=p0, dur_s=0.6, delta_deg=-rock)
        body.hip.move(t0_s=p0 + 0.9, dur_s=0.7, delta_deg=rock)
    if settled_s is not None:
        hip_on = t
    body.reps.append(PlannedRep(index, set_index, hip_on, bottom, up_on, end, lum_on, k, faults))
    return end + _u(rng, style.rest_s)
