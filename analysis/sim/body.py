"""Sagittal body chain -> exact IMU signals at the lumbar, sacrum and thigh sites.

World frame: x forward, y left, z up. A segment tilt θ (DOMAIN.md: positive when the
segment's top moves forward) is a rotation by +θ about +y. The chain runs from the ankle
(fixed) through shank, thigh, pelvis and lumbar spine; each sensor site is a point on
its segment. Specific force = linear acceleration - gravity (so +1 g up at rest) at the sample
instant; angular rate as the mean over the sample interval that ends at the sample (the
rotation from the previous sample to this one), as an IMU's decimating filter reports it;
both in the sensor frame. Small out-of-plane rocking (roll and yaw) and whole-body
sagittal sway ride on top.

Why the interval mean: on BROAD's real recordings (optical truth, ``bench/broad.py``) a
gyro sample stands for the interval ending at it. Run backwards in time with the rates
one sample off, the estimate's error doubled in fast movement (fast rotation 1.71° against
0.80° forwards). The instantaneous rate, which the simulator gave before, sits half a
sample from either convention and so could not tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from analysis.sim.channels import Sway
from analysis.sim.motion import Lifter

G_MS2 = 9.80665
SHANK_M = 0.43
THIGH_M = 0.45
LUMBAR_CHORD_M = 0.17
NEUTRAL_DEG = {"shank": 2.0, "thigh": -3.0, "pelvis": 10.0, "trunk": -4.0}
"""World tilts of the segments when standing tall (the neutral is never upright)."""

SEGMENT = {"lumbar": "trunk", "sacrum": "pelvis", "thigh": "thigh"}


@dataclass
class Body:
    lifter: Lifter
    sway_sagittal: Sway | None
    rock: dict[str, tuple[Sway, Sway]] | None

    def tilts(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """World tilts (°) of shank, thigh, pelvis, trunk, and the lumbar angle."""
        lf = self.lifter
        hip, lum = lf.hip(t), lf.lumbar(t)
        thigh, shank = lf.thigh(t), lf.shank(t)
        pelvis = hip + thigh
        trunk = pelvis + lum
        sway = self.sway_sagittal(t) if self.sway_sagittal is not None else 0.0
        return {
            "shank": NEUTRAL_DEG["shank"] + shank + sway,
            "thigh": NEUTRAL_DEG["thigh"] + thigh + sway,
            "pelvis": NEUTRAL_DEG["pelvis"] + pelvis + sway,
            "trunk": NEUTRAL_DEG["trunk"] + trunk + sway,
            "lumbar": lum,
        }

    def site(self, placement: str, t: np.ndarray) -> tuple[np.ndarray, Rotation]:
        """Position (m, world) and segment orientation of a sensor site at times ``t``."""
        a = {k: np.radians(v) for k, v in self.tilts(t).items()}

        def along(angle: np.ndarray, length: float) -> np.ndarray:
            return np.column_stack(
                [length * np.sin(angle), np.zeros_like(angle), length * np.cos(angle)]
            )

        def local(angle: np.ndarray, x: float, z: float) -> np.ndarray:
            c, s = np.cos(angle), np.sin(angle)
            return np.column_stack([x * c + z * s, np.zeros_like(angle), -x * s + z * c])

        knee = along(a["shank"], SHANK_M)
        hip = knee + along(a["thigh"], THIGH_M)
        if placement == "thigh":
            pos = knee + along(a["thigh"], 0.5 * THIGH_M) + np.array([0.0, 0.09, 0.0])
        elif placement == "sacrum":
            pos = hip + local(a["pelvis"], -0.11, 0.06)
        elif placement == "lumbar":
            l5 = hip + local(a["pelvis"], -0.04, 0.10)
            l1 = l5 + along(a["pelvis"] + 0.5 * (a["trunk"] - a["pelvis"]), LUMBAR_CHORD_M)
            pos = l1 + local(a["trunk"], -0.05, 0.0)
        else:
            raise ValueError(f"no body site for placement {placement!r}")
        seg = SEGMENT[placement]
        rot = Rotation.from_rotvec(a[seg][:, None] * np.array([0.0, 1.0, 0.0]))
        if self.rock is not None:
            roll, yaw = self.rock[placement]
            rot = (
                Rotation.from_rotvec(np.radians(yaw(t))[:, None] * np.array([0.0, 0.0, 1.0]))
                * Rotation.from_rotvec(np.radians(roll(t))[:, None] * np.array([1.0, 0.0, 0.0]))
                * rot
            )
        return pos, rot

    def imu(
        self, placement: str, t: np.ndarray, mount: Rotation, *, period_s: float, h_s: float = 1e-3
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact accelerometer (g) at times ``t`` and gyro (°/s, mean over the ``period_s``
        before each sample) in the sensor frame."""
        p0, r0 = self.site(placement, t)
        pm, _ = self.site(placement, t - h_s)
        pp, _ = self.site(placement, t + h_s)
        acc_world = (pp - 2 * p0 + pm) / (h_s * h_s) / G_MS2 + np.array([0.0, 0.0, 1.0])
        sensor = r0 * self._mount(placement, t, mount)
        acc = sensor.inv().apply(acc_world)
        # mean body rate over the interval: R(t-T)^T R(t) = exp(T [w]x) in the moving frame
        _, r_before = self.site(placement, t - period_s)
        before = r_before * self._mount(placement, t - period_s, mount)
        w = (before.inv() * sensor).as_rotvec() / period_s
        return acc, np.degrees(w)

    def _mount(self, placement: str, t: np.ndarray, mount: Rotation) -> Rotation:
        """The sensor's mounting on its segment at times ``t``: ``mount`` turned by any
        slip about the segment's flexion axis (+y, the way a positive tilt turns)."""
        slip = self.lifter.mount_slip.get(placement)
        if slip is None:
            return mount
        turn = Rotation.from_rotvec(np.radians(slip(t))[:, None] * np.array([0.0, 1.0, 0.0]))
        return turn * mount


def make_body(lifter: Lifter, rng: np.random.Generator, *, sway: bool) -> Body:
    if not sway:
        return Body(lifter, None, None)
    rock = {
        name: (Sway(rng, amp_deg=1.0), Sway(rng, amp_deg=1.0))
        for name in ("lumbar", "sacrum", "thigh")
    }
    return Body(lifter, Sway(rng, amp_deg=0.6, f_lo_hz=0.05, f_hi_hz=0.3), rock)
