"""The live session with a set begun in its held hinge: it says so when the session ends
(it cannot re-measure what it has shown), and the review of its recording measures from
the standing posture (``analysis/stance.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.config import PipelineConfig
from analysis.review import review_session
from analysis.session_csv import read_session_csv
from analysis.sim import SimConfig, simulate
from hipfirst.live.demo import DemoOptions, run_demo
from hipfirst.setflow import SetFlow


def _sim(start: str, sets: int = 2):  # type: ignore[no-untyped-def]
    return simulate(
        SimConfig(exercise="row", reps=1, sets=sets, rest_s=20.0, seed=9011, start=start,
                  clock_offset_s=0.0, clock_drift_ppm=0.0, still_start_s=4.0, still_end_s=6.0)
    )  # fmt: skip


async def test_live_session_says_it_at_the_end_and_its_recording_reviews_from_standing(
    tmp_path: Path,
) -> None:
    sim = _sim("hinge")
    out = tmp_path / "held.csv"
    said: list[str] = []
    flow = SetFlow(say=said.append)
    opts = DemoOptions(exercise="row", reps=1, faults={}, seed=9011, speed=8.0, out_file=out)
    res = await run_demo(opts, hooks=[flow], sim=sim)
    assert len(res.summary.notes) == 1 and res.summary.notes[0].startswith("no standing start")
    assert said[-1].startswith("No standing start:") and "stand tall" in said[-1]

    rv = review_session(read_session_csv(out), config=PipelineConfig.for_exercise("row"))
    assert any(m.startswith("no standing start") for m in rv.missing)
    # the recording's clock is not the simulator's (the lifter waited for the sensors):
    # the hold and the standing end, against their true hip angles
    a = rv.angles
    assert a.hip_deg is not None
    hold = np.nanmedian(a.hip_deg[a.time_s < a.time_s[0] + 3.0])
    end = np.nanmedian(a.hip_deg[a.time_s > a.time_s[-1] - 3.0])
    assert hold == pytest.approx(sim.angles.hip_deg[0], abs=1.5)  # 69.7°: it read 0°
    assert end == pytest.approx(0.0, abs=1.5)  # it read 69°


async def test_a_row_set_begun_standing_ends_without_a_note(tmp_path: Path) -> None:
    said: list[str] = []
    opts = DemoOptions(exercise="row", reps=1, faults={}, seed=9011, speed=8.0, out_file=None)
    res = await run_demo(opts, hooks=[SetFlow(say=said.append)], sim=_sim("standing", 1))
    assert [e.kind for e in res.summary.events].count("rep_end") == 1
    assert res.summary.notes == [] and not any("standing start" in s for s in said)
