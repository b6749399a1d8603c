"""Was the neutral a standing posture? A log of the still postures after it.

The neutral is the first ``neutral_s`` in which every sensor is still (``calibration.py``),
and sensors sit in any orientation, so one still posture cannot say whether the lifter
stood: a set begun already in its held hinge (the lifter gets into position and holds
still) takes the hinge as the zero, and every hip angle of the session is off by the
hinge. The learned flexion axes do not reveal it either: each axis is signed so that the
segment's dominant excursion from neutral is a hinge (``tilt.py``), and from a hinge the
dominant excursion is standing up, so standing reads as a hinge of the same depth.

What the log uses instead is where the lifter comes to rest. After the set the lifter
stands (to put the weight down, to rest, to stop the recording), and rests between sets
are standing. :class:`PostureLog` keeps every completed still window (``neutral_s`` of
stillness, the neutral finder's windows) after the neutral's own still stretch, grouped
into postures (all sensors within ``near_deg`` of the posture's first window), with the
still time spent in each and near the neutral. :meth:`PostureLog.not_standing` says the
neutral was not standing when all of these hold:

- the session's last still posture differs from the neutral the way standing differs
  from a hinge: the trunk-side sensors (lumbar, sacrum) both turned at least
  ``HINGE_MIN_DEG`` about their flexion axis, the thigh clearly less (sitting down turns
  the thigh most; a slipped sensor turns alone);
- the lifter was still longer in that posture than back at the neutral (after the
  neutral's own stretch).

A normal session ends standing, at the neutral, so the first condition already fails;
a row set whose hold is longer than its standing start is never judged on that.

The two readings it cannot tell apart: the data of a set begun in its held hinge that
ends standing still are the mirror image of a set begun standing whose recording ends
during its hold (a row set stopped mid-set, or the lifter walked off without standing
still after it): the same two postures, each held still once, the same turn between
them. Nothing in the signals breaks the tie (the sensors' mounting is unknown, so
neither posture's inclination is; rising is a descent played backwards). So the verdict
says whether the lifter came back to the standing posture (``NotStanding.returned``:
still there in two or more separate stretches with a move away from it in between
(``LEFT_DEG``): a rest between sets, pauses between reps, and the end), as one does to
standing and not to a hold; a fidget that only breaks the stillness of a hold is no
return. Only then does the review re-measure from it; otherwise it says both readings and
keeps the first posture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HINGE_MIN_DEG = 35.0
"""A hinge turns the pelvis and trunk 40-90° from standing; less is not a hinge start."""
THIGH_SHARE = 0.6
"""In a hinge the thigh tilts 5-30 % of the hip angle (a knee-dominant one up to ~90 %,
but a set is not begun in one); sitting turns the thigh 90° and the pelvis less."""
AXIS_COS = 0.8
"""The turn from the neutral to the later posture is about the segment's flexion axis."""
TRUNK_SIDE = ("lumbar", "sacrum")
LEFT_DEG = 20.0
"""A new still stretch in a posture counts as a return to it (``Posture.runs``) only if
the lifter moved at least this far from it since its last still window (a rep, a rest
elsewhere): a fidget or a shift of weight that only breaks the stillness of an end hold
is not a return. Counted on every shake, a set begun standing that ended in its hinge
read as a held start the lifter came back to standing from, and was re-measured from
the hinge."""
SIGN_MIN_DEG = 5.0
"""A sensor that turned less than this between the two postures takes the trunk side's
sign change (``axes_for_standing``)."""


@dataclass
class Posture:
    """A still posture after the neutral: the first window's mean up vectors (S, 3)."""

    u: np.ndarray
    first_s: float
    """End time of its first still window."""
    still_s: float
    runs: int = 1
    """Separate still stretches spent in it (the lifter came back to it ``runs - 1`` times)."""


@dataclass(frozen=True)
class NotStanding:
    """The neutral looked like a hinge: the later posture ``standing`` looked like standing."""

    neutral_s: float
    """End of the neutral's still window."""
    standing_s: float
    """End of the first still window of the standing posture."""
    standing_u: np.ndarray
    """(S, 3) mean up vectors of that window: the neutral to use instead."""
    turned_deg: dict[str, float]
    """Per sensor: how far the standing posture is from the neutral."""
    still_s: float
    """Still time in the standing posture after the neutral."""
    neutral_still_s: float
    """Still time back at the neutral after its own still stretch."""
    runs: int
    """Separate still stretches in the standing posture."""
    returned: bool
    """The lifter came back to the standing posture: it was still there in two or more
    separate stretches (rests between sets, pauses between reps, the end). Without that
    the session may as well have begun standing and ended bent over and still (a row set
    whose recording stopped during its hold): only then is it re-measured."""


class PostureLog:
    def __init__(
        self, n_sensors: int, *, window_s: float, near_deg: float = 10.0, max_postures: int = 64
    ) -> None:
        self.window_s = window_s
        self.cos_near = float(np.cos(np.radians(near_deg)))
        self.max_postures = max_postures
        self.p0: np.ndarray | None = None
        self.p0_s = 0.0
        self._in_p0_run = False
        self.p0_still_s = 0.0
        self.postures: list[Posture] = []
        self.last: int | None = None
        """Index of the posture of the newest still window after the neutral's stretch
        (None while the lifter has not been still since, or was last still at the
        neutral)."""
        self._s = n_sensors
        self._cos_left = float(np.cos(np.radians(LEFT_DEG)))
        self._left = True
        """The lifter moved ``LEFT_DEG`` away from ``postures[last]`` since its newest
        still window (see ``moved``)."""

    def start(self, t: float, u0: np.ndarray, *, held: bool) -> None:
        """The neutral (``(S, 3)``), found at ``t``. ``held``: the windows that continue its
        still stretch are the same posture and are not logged (a neutral given from
        outside is not a still stretch)."""
        self.p0 = np.array(u0, dtype=float)
        self.p0_s = t
        self._in_p0_run = held

    def watching(self) -> bool:
        """``moved`` has something to check: the lifter was last still in a posture other
        than the neutral and has not been seen to leave it yet."""
        return self.last is not None and not self._left

    def moved(self, up: np.ndarray) -> None:
        """Samples ``(S, m, 3)`` (unit up vectors) since the newest still window: did the
        lifter leave that posture (any sensor ``LEFT_DEG`` from it)?"""
        if self.last is None or self._left or up.shape[1] == 0:
            return
        cos = (up * self.postures[self.last].u[:, None, :]).sum(axis=2)
        self._left = bool((cos < self._cos_left).any())

    def add(self, t: float, mean: np.ndarray, *, new_run: bool) -> None:
        """One completed still window (its mean up vectors ``(S, 3)``, ending at ``t``);
        ``new_run``: it is the first window of its still stretch."""
        if self.p0 is None:
            return
        if new_run:
            self._in_p0_run = False
        if self._in_p0_run:
            return
        if _min_cos(mean, self.p0) >= self.cos_near:
            self.p0_still_s += self.window_s
            self.last = None
            return
        for i, p in enumerate(self.postures):
            if _min_cos(mean, p.u) >= self.cos_near:
                p.still_s += self.window_s
                p.runs += new_run and (i != self.last or self._left)
                self.last = i
                self._left = False
                return
        if len(self.postures) >= self.max_postures:
            # forget the posture held least (never the newest one's)
            drop = min(
                (i for i in range(len(self.postures)) if i != self.last),
                key=lambda i: self.postures[i].still_s,
            )
            del self.postures[drop]
            if self.last is not None and self.last > drop:
                self.last -= 1
        self.postures.append(Posture(np.array(mean, dtype=float), t, self.window_s))
        self.last = len(self.postures) - 1
        self._left = False

    def not_standing(self, sensors: Sequence[str], axes: np.ndarray) -> NotStanding | None:
        """The verdict on what has been logged so far (see the module doc). ``axes``:
        ``(S, 3)`` flexion axes (NaN rows: not learned; the turn is then not checked)."""
        if self.p0 is None or self.last is None:
            return None
        q = self.postures[self.last]
        if q.still_s <= self.p0_still_s:
            return None
        cos = np.clip((q.u * self.p0).sum(axis=1), -1.0, 1.0)
        turned = np.degrees(np.arccos(cos))
        idx = {n: i for i, n in enumerate(sensors)}
        trunk = [idx[n] for n in TRUNK_SIDE if n in idx]
        if not trunk or any(turned[i] < HINGE_MIN_DEG for i in trunk):
            return None
        if "thigh" in idx and turned[idx["thigh"]] > THIGH_SHARE * min(turned[i] for i in trunk):
            return None
        for i in trunk:
            a = axes[i]
            if np.isfinite(a).all():
                c = np.cross(self.p0[i], q.u[i])
                if abs(float(a @ c)) < AXIS_COS * float(np.linalg.norm(c)):
                    return None  # not a turn in the sagittal plane
        return NotStanding(
            neutral_s=self.p0_s,
            standing_s=q.first_s,
            standing_u=q.u.copy(),
            turned_deg={n: round(float(turned[i]), 1) for n, i in idx.items()},
            still_s=q.still_s,
            neutral_still_s=self.p0_still_s,
            runs=q.runs,
            returned=q.runs >= 2,
        )


def _min_cos(a: np.ndarray, b: np.ndarray) -> float:
    """The cosine of the largest angle between matching rows of ``a`` and ``b``."""
    return float(np.min((a * b).sum(axis=1)))


def axes_for_standing(p0: np.ndarray, standing_u: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """The flexion axes ``(S, 3)`` learned against the neutral ``p0``, signed for the
    neutral ``standing_u`` instead: from there the hinge (``p0``) is the dominant
    excursion, which ``AxisTilt`` makes a positive turn about the axis; against a neutral
    in a hinge it had signed standing up that way, the opposite turn. A sensor that hardly
    turned between the two (under ``SIGN_MIN_DEG``: a good morning's thigh) takes the sign
    change of the trunk-side sensors."""
    out = np.array(axes, dtype=float)
    c = np.cross(standing_u, p0)
    sin = np.linalg.norm(c, axis=1)
    ok = np.isfinite(out).all(axis=1)
    dot = np.where(ok, (np.nan_to_num(out) * c).sum(axis=1), 0.0)
    clear = ok & (sin >= np.sin(np.radians(SIGN_MIN_DEG)))
    flips = [dot[i] < 0 for i in np.flatnonzero(clear)]
    flip_rest = bool(flips) and sum(flips) * 2 > len(flips)
    for i in np.flatnonzero(ok):
        if (dot[i] < 0) if clear[i] else flip_rest:
            out[i] = -out[i]
    return out


def _turned(v: NotStanding, sensors: Sequence[str]) -> str:
    return ", ".join(
        f"{n} {v.turned_deg[n]:.0f}°" for n in sensors if n in v.turned_deg and n != "thigh"
    )


def live_note(v: NotStanding, sensors: Sequence[str]) -> str:
    """The live session's words at its end (it cannot re-measure what it has shown)."""
    if not v.returned:
        return _either(v, sensors) + ". Stand tall and still for 3 s at the start of every set"
    return (
        "no standing start: the angles were relative to the first still posture, which "
        f"looked like a hinge ({_turned(v, sensors)} away from where you stood still later, "
        "and came back to); stand tall and still for 3 s at the start of every set. The "
        "review of the recording measures from the standing posture"
    )


def not_standing_note(v: NotStanding, sensors: Sequence[str]) -> str:
    """The review's words: re-measured from the standing posture (``v.returned``), or
    the two readings it cannot tell apart."""
    if not v.returned:
        return (
            _either(v, sensors)
            + "; measured from the first. Stand tall and still for 3 s at the start of every set"
        )
    return (
        f"no standing start: the first still posture (to {v.neutral_s:.1f} s) looked like a "
        f"hinge, {_turned(v, sensors)} away from the posture you stood still in later (first "
        f"at {v.standing_s:.1f} s, {v.still_s:.0f} s in all, {v.runs} times); angles are "
        "measured from that standing posture. Stand tall and still for 3 s at the start of "
        "every set"
    )


def _either(v: NotStanding, sensors: Sequence[str]) -> str:
    return (
        f"no standing start? The first still posture (to {v.neutral_s:.1f} s) and the last "
        f"(from {v.standing_s:.1f} s) differ as a hinge and standing do "
        f"({_turned(v, sensors)}): if the set began in its hinge, every angle is off by "
        "about that much; if the recording ended during a hold, they are right"
    )
