"""Pause-hold metrics: exact on constructed signals, and the review's against ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.hold import rep_hold, review_holds, stability_score
from analysis.review import review_session
from analysis.sim import SimConfig, simulate


def test_hold_time_is_the_stretch_within_the_band_of_the_deepest_point() -> None:
    t = np.arange(0.0, 10.0, 0.01)
    # 0-2 s stand, 2-4 s down to 60° (linear), 4-6.5 s pause at 60-61°, 6.5-8.5 s up
    hip = np.interp(t, [0, 2, 4, 6.5, 8.5, 10], [0, 0, 60, 61, 0, 0])
    trunk = 40 + np.where(np.arange(len(t)) % 2 == 0, 1.0, -1.0)  # ±1° wobble: SD 1°
    h = rep_hold(t, hip, trunk, start_s=2.0, end_s=8.5)
    # within 5° of 61°: from hip 56° on the way down (3.87 s) to 56° on the way up (6.66 s)
    down = 2 + 56 / 60 * 2
    up = 6.5 + 5 / 61 * 2
    assert h.hold_s == pytest.approx(up - down, abs=0.02)
    assert h.stability == 75  # 100 - 25 points per degree of SD
    assert rep_hold(t, None, trunk, start_s=2.0, end_s=8.5).hold_s is None
    assert rep_hold(t, hip, None, start_s=2.0, end_s=8.5).stability is None


def test_stability_score_bounds() -> None:
    assert stability_score(np.full(50, 12.0)) == 100
    assert stability_score(np.array([0.0, 8.0] * 20)) == 0
    assert stability_score(np.array([1.0, 2.0, np.nan])) is None


def test_review_holds_match_the_truth_of_a_simulated_hinge_drill() -> None:
    sim = simulate(SimConfig(exercise="hinge", reps=5, seed=1061))
    rv = review_session(sim.session)
    ta = sim.angles
    t = np.asarray(ta.time_s)
    est = review_holds(rv)
    assert len(est) == len(sim.reps) == 5
    for h, tr in zip(est, sim.reps, strict=True):
        true = rep_hold(
            t,
            np.asarray(ta.hip_deg),
            np.asarray(ta.trunk_deg),
            start_s=tr.start_s,
            end_s=tr.end_s,
        )
        assert true.hold_s is not None and true.hold_s > 1.0  # the drill pauses 1-2 s
        assert h.hold_s == pytest.approx(true.hold_s, abs=0.1)
        assert h.stability is not None and true.stability is not None
        assert abs(h.stability - true.stability) <= 6
