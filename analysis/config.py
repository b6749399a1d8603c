"""Settings of the analysis pipeline, with the reasoning behind every default.

All angles are degrees in the DOMAIN.md convention, all times seconds unless a
name says otherwise. ``PipelineConfig.for_exercise(name)`` gives per-exercise
defaults; any field can be overridden with ``dataclasses.replace``.

About ``lumbar_first``: in free, untrained forward bending healthy people
usually start the movement with the lumbar spine (Laird et al. 2019, BMC
Musculoskeletal Disorders 20:28). The flag is a *coaching rule* for hip-hinge
technique ("hips first, back stays put"), not a diagnosis of anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

EXERCISES: tuple[str, ...] = ("hinge", "rdl", "deadlift", "swing", "row", "good_morning")


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    exercise: str = "hinge"

    # --- common time base -------------------------------------------------
    grid_hz: float = 100.0
    """All angles live on one uniform grid; 100 Hz resolves a 1 s swing to 10 ms."""
    max_lag_s: float = 1.0
    """Live, a sensor silent this long while the others deliver (or 1.5x its packet span
    if longer) is held at its last value so the others keep flowing; held values, and
    values interpolated across a gap longer than this (live or in a recording), are
    unknown: no angle, no alert. 1 s: ten times a BLE link's worst connection-event
    retry, well under a hinge's descent."""

    # --- stillness and neutral -------------------------------------------
    still_smooth_s: float = 0.2
    """Time constant of the low-pass on gyro norm and accelerometer deviation."""
    still_gyr_dps: float = 10.0
    """Quiet standing sways at 1-3 °/s and gyro bias adds a few °/s; a hinge moves at 30+ °/s."""
    still_acc_g: float = 0.03
    """Mean deviation of the accelerometer from its own low-pass while still."""
    neutral_s: float = 2.0
    """Neutral = the first stretch this long where every sensor is still."""
    reanchor: bool = True
    """Re-set neutral after later rests of ``neutral_s`` that are close to it (slow drift, clip
    creep). A rest farther than ``reanchor_max_deg`` from the ORIGINAL neutral is ignored, so a
    held hinge or a different stance never becomes the new zero."""
    reanchor_max_deg: float = 5.0

    # --- flexion axis ----------------------------------------------------
    axis_min_deg: float = 3.0
    """Excursions from neutral smaller than this do not vote for the axis (sway, noise)."""
    axis_establish_deg: float = 8.0
    """The axis is trusted once the segment has moved beyond this for ``axis_establish_s``."""
    axis_establish_s: float = 0.1
    axis_consistent_weight: float = 1.0
    """... or once its axis votes (Σ c cᵀ of its excursions beyond ``axis_min_deg``, see
    ``analysis/tilt.py``) weigh this much and agree on one axis (largest eigenvalue
    ``axis_consistent_ratio`` times the next): a segment that only ever moves a few degrees,
    always about the same axis, has an axis all the same. A good morning's thigh moves 4-6°
    a rep; read as an unsigned angle, its standing sway came out as +0.9° of hip flexion
    (hip RMSE 0.94-1.04° on simulated good mornings, 0.15-0.25° with its axis). Weight 1 is
    ~1.3 s beyond 5°, about two such reps."""
    axis_consistent_ratio: float = 10.0
    axis_update_s: float = 0.25
    """The axis estimate is refreshed on this grid cadence (the same in live and offline runs)."""

    # --- reps -----------------------------------------------------------
    rep_enter_deg: float = 20.0
    """The rep signal (hip flexion, or a proxy) must pass this to count as a rep."""
    rep_exit_deg: float = 12.0
    """...and come back below this to end it (hysteresis; a swing's lockout reaches ~0-10°)."""
    rep_bottom_margin_deg: float = 5.0
    """The bottom is announced once the signal has come back this far from its deepest point."""
    rep_min_s: float = 0.4
    rep_max_s: float = 20.0

    top_hysteresis_deg: float = 0.5
    """The top posture (reference of every departure) moves to a new lowest point of the rep
    signal only if it is this much lower: the orientation estimate settles by a few tenths of
    a degree after a rep, and a back moving first can tilt the pelvis back a little; neither
    should drag the lumbar reference along (measured: it delayed live alerts by up to 170 ms)."""

    # --- onsets -----------------------------------------------------------
    quiet_s: float = 0.5
    """Baseline = median of the angle over this window before the movement."""
    onset_noise_deg: float = 0.5
    """An angle has "left" its baseline where it last was within this band before departing."""
    hip_departure_deg: float = 3.0
    lumbar_departure_deg: float = 3.0
    """Sustained deviation that counts as a real departure (and the live alert threshold)."""
    onset_lookback_s: float = 3.0
    onset_model: str = "minjerk"
    """How a finished rep's onsets are refined. ``"minjerk"``: the rise of each angle from 5 %
    to 20 % of its excursion is extrapolated back to its start with the minimum-jerk profile
    of smooth voluntary movement (Flash & Hogan 1985), so a 10° lumbar movement and a 60° hip
    movement that start together get the same onset. ``"threshold"``: the onset is where the
    angle left the ``onset_noise_deg`` band, which lags more the smaller the movement. Live
    alerts always use the threshold onsets (the excursion is not known yet)."""
    onset_lo_frac: float = 0.05
    onset_hi_frac: float = 0.2
    """The rise measured between these shares of the excursion. Higher shares sit further
    above the angle error, and on the simulator (whose rises ARE minimum-jerk) they cut the
    lumbar-lead error's p95 (``bench/accuracy.py``, seeds 5000-5041 / held-out 6000-6041):
    0.05-0.2 115 / 131 ms, 0.1-0.4 96 / 109, 0.15-0.5 96 / 102, 0.2-0.5 90 / 96 (0.2-0.6
    broke the late-rounding split: 90 ms p95 on the true angles). But they lean further on
    the model: a rise of another smooth shape lasting 1 s gets an onset biased by (0.05-0.2
    / 0.2-0.5) +17 / +28 ms for a raised-cosine velocity, -61 / -114 ms for a velocity
    peaking at 40 % (beta(2, 3)), -74 / -114 ms for a parabolic velocity. Real hinges are
    only roughly minimum-jerk, so the shares stay low until real recordings with optical
    onsets say otherwise."""

    # --- flags ------------------------------------------------------------
    lumbar_first_lead_ms: float = 100.0
    """Back moving >100 ms before the hips is visible on video and coachable; shorter leads are
    within the timing noise of two skin-mounted sensors."""
    lumbar_first_min_deg: float = 3.0
    """...and the back must really have moved early: at least this much by the time the hips
    have done ``lumbar_first_early_hip_frac`` of their range (a twitch is not a lead)."""
    lumbar_first_early_hip_frac: float = 0.15
    lumbar_first_share: float = 0.5
    """...OR, with that early movement, the lumbar spine had already done this share of its
    whole excursion when the hips had done 15 % of theirs. This is the lumbopelvic rhythm of
    the early descent: in a hip-led hinge the spine moves in proportion with the hips (share
    about 0.15), in a back-first one it moves first (0.75-0.95 on simulated back-first
    reps). It catches back-first reps whose onset lead is blurred by noise, and the 3°
    minimum rejects hip-led reps whose small, slow lumbar movement has an uncertain onset.
    ``lumbar_first`` = early lumbar >= ``lumbar_first_min_deg`` AND (lead >
    ``lumbar_first_lead_ms`` OR share >= ``lumbar_first_share``)."""
    live_early_hip_deg: float = 10.0
    """Live alert: the lumbar has departed ``lumbar_departure_deg`` from its pre-rep posture
    while the hips have folded less than this. Decided at the lumbar's crossing, so the
    alert comes as soon as the back has moved 3°, early in the descent."""
    lumbar_flexion_deg: float = 20.0
    """Rounding beyond ~20° from the rep's start posture uses most of the lumbar flexion range
    that a hinge should keep (typical lumbar ROM ~40-60°)."""
    lumbar_extension_deg: float = -10.0
    """Arching more than ~10° beyond the start posture is hyper-extension under load."""
    knee_thigh_deg: float = 45.0
    knee_ratio: float = 0.6
    """Knee dominant: thigh tilt at the bottom beyond ``knee_thigh_deg`` OR beyond ``knee_ratio``
    × hip ROM. A hinge folds at the hip with the thigh near vertical; a squat tilts the thigh."""
    torso_drift_deg: float = 8.0
    """Rows/held hinges: the torso's tilt change across the hold beyond this is drift. The
    torso is the pelvis (trunk tilt minus lumbar flexion) when the lumbar angle is known, so
    a back arching 16-18° in the hold is flagged lumbar_extension only (on the trunk tilt it
    was torso_drift too: the one false drift in ``bench/accuracy.py``, on both seed sets);
    the trunk tilt without a sacrum sensor."""

    @classmethod
    def for_exercise(cls, name: str) -> PipelineConfig:
        """Per-exercise defaults. Unknown names raise ``ValueError``."""
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in EXERCISES:
            raise ValueError(f"unknown exercise {name!r}; known: {', '.join(EXERCISES)}")
        base = cls(exercise=key)
        if key == "swing":
            # Fast, back to back (~1 s per rep); lockout between reps is brief.
            return replace(base, rep_min_s=0.3, rep_max_s=4.0, rep_enter_deg=25.0, quiet_s=0.2)
        if key == "deadlift":
            # Knees bend more in a conventional deadlift; only flag clear squatting.
            return replace(base, knee_thigh_deg=65.0, knee_ratio=0.8)
        if key == "row":
            # The rep unit for rows is the whole held hinge (one "rep" per set); pulls ride on it.
            return replace(base, rep_max_s=180.0)
        if key == "good_morning":
            return replace(base, knee_thigh_deg=35.0, knee_ratio=0.5)
        return base

    def settings(self) -> dict[str, object]:
        """All settings as plain JSON-able values, for reports."""
        return asdict(self)
