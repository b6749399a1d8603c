"""The set flow and the alert policy around reps that do not end as reps: a click that
starts the next set, a bent-over rest the pipeline discards, a back-first alert that no rep
followed. Kinematic sessions through the real pipeline (``tests.test_calibration_flow``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.results import LiveEvent
from analysis.stream import LatestAngles
from hipfirst.alerts import AlertDispatcher, AlertPolicy, NullSink
from hipfirst.live.buttons import ButtonEvent
from hipfirst.setflow import SetFlow
from tests.test_calibration_flow import Feed, kinematic
from tests.test_pipeline import _minjerk


def test_a_click_in_the_rest_starts_the_next_set_and_it_stays_started() -> None:
    """The last set's end was more than ``rest_s`` ago (every real rest is): the click's
    "Set 2." was undone by the next angles (REST again), and the first rep said "Set 3."."""
    said: list[str] = []
    f = SetFlow(say=said.append, rest_s=8.0)
    f.on_angles(LatestAngles(0.0, 0.0, 0.0, {}))
    f.on_event(LiveEvent("rep_start", 1.0, 1))
    f.on_event(LiveEvent("rep_end", 3.0, 1))
    f.on_angles(LatestAngles(12.0, 0.0, 0.0, {}))
    assert f.state == "rest"
    f.on_button(ButtonEvent("lumbar", 20.0, 1))
    f.on_angles(LatestAngles(20.1, 0.0, 0.0, {}))
    f.on_event(LiveEvent("rep_start", 22.0, 2))
    assert (f.state, f.set_index) == ("go", 2)
    assert f.marks == [(20.0, "set_start", 2)]
    assert "Set 3." not in said


class _Both(SetFlow):
    """The set flow and an alert dispatcher on the same events, as in a live session."""

    def __init__(self) -> None:
        super().__init__(say=lambda _: None)
        self.dispatcher = AlertDispatcher(policy=AlertPolicy(cooldown_s=2.0), audio=NullSink())
        self.kinds: list[tuple[str, int]] = []

    def on_event(self, event: LiveEvent) -> None:
        super().on_event(event)
        self.dispatcher.on_event(event)
        self.kinds.append((event.kind, event.rep_index))


def _hinges(t: np.ndarray, starts: tuple[float, ...]) -> np.ndarray:
    return sum((_minjerk(t, t0, 1.5, 60) - _minjerk(t, t0 + 2.0, 1.5, 60) for t0 in starts),
               np.zeros_like(t))  # fmt: skip


def test_a_bent_over_rest_is_discarded_and_the_next_reps_cue_is_its_own() -> None:
    """Two hinges, then 25 s bent over with hands on knees, back rounded (longer than a
    rep: discarded, so rep 3 is free again), then stand and a rounded rep 3. The discarded
    "rep 3" got the rounding cue; the real rep 3's was held back as already said, and the
    flow, waiting for that rep's end, never saw the rest nor started set 2."""

    def seg(t: np.ndarray) -> dict[str, np.ndarray]:
        bent = _minjerk(t, 15.0, 1.0, 45) - _minjerk(t, 40.0, 1.0, 45)
        rounded = (_minjerk(t, 16.0, 1.0, 30) - _minjerk(t, 39.0, 1.0, 30)
                   + _minjerk(t, 60.5, 1.0, 30) - _minjerk(t, 62.0, 1.0, 30))  # fmt: skip
        pelvis = 0.85 * (_hinges(t, (4.0, 9.0, 60.0)) + bent)
        return {"lumbar": pelvis + rounded, "sacrum": pelvis, "thigh": -0.15 * pelvis / 0.85}

    feed = Feed(kinematic(seg, t_end=68.0, seed=5), _Both())
    feed.run()
    flow = feed.flow
    assert isinstance(flow, _Both)
    assert ("rep_discard", 3) in flow.kinds
    rounding = [d for d in flow.dispatcher.log if d.flag == "lumbar_flexion"]
    assert [(d.rep, d.delivered) for d in rounding] == [(3, True), (3, True)]
    assert [r.index for r in feed.pipeline.reps] == [1, 2, 3]
    assert any(m.startswith("Rest") for _, m in feed.said_at)
    assert (flow.state, flow.set_index) == ("go", 2)


def test_a_back_first_cue_with_no_rep_after_it_does_not_silence_the_next_rep() -> None:
    """The back rounds 8° with the hips still (a cue, numbered for the coming rep 1), and
    no rep follows; 10 s later rep 1 moves the back 0.4 s before the hips: its cue was held
    back as "already said this rep"."""

    def seg(t: np.ndarray) -> dict[str, np.ndarray]:
        fidget = _minjerk(t, 6.0, 0.8, 8) - _minjerk(t, 7.5, 0.8, 8)
        hip = _minjerk(t, 16.4, 1.5, 60) - _minjerk(t, 18.4, 1.5, 60)
        lead = _minjerk(t, 16.0, 1.0, 12) - _minjerk(t, 18.4, 1.5, 12)
        return {"lumbar": 0.85 * hip + lead + fidget, "sacrum": 0.85 * hip, "thigh": -0.15 * hip}

    feed = Feed(kinematic(seg, t_end=24.0, seed=3), _Both())
    feed.run()
    flow = feed.flow
    assert isinstance(flow, _Both)
    cues = [(d.rep, d.delivered) for d in flow.dispatcher.log if d.flag == "lumbar_first"]
    assert cues == [(1, True), (1, True)]
    assert [(r.index, "lumbar_first" in r.flags) for r in feed.pipeline.reps] == [(1, True)]


def test_a_recalibration_during_the_practice_hinges_does_not_skip_set_1() -> None:
    """A double click after one practice hinge, every axis carried over: the first real
    set was announced as "Set 2" (the practice hinge counted as a set's rep). The pipeline
    here is a stand-in holding only the state the flow reads."""
    from types import SimpleNamespace as NS

    from hipfirst.live.recalibrate import Recalibration

    pipe = NS(
        neutral=NS(found=True, anchors=[(2.0, True)], sensor_best_run=np.zeros(3)),
        tilt=NS(established=np.array([False] * 3)),
        config=NS(neutral_s=2.0, grid_hz=100.0, reanchor_max_deg=5.0),
        layout=NS(sensors=["lumbar", "sacrum", "thigh"]),
    )

    class Session:
        pipeline = pipe

        def recalibrate(self, **_: object) -> None:
            pass

        def add_marker(self, *_: object, **__: object) -> None:
            pass

    said: list[str] = []
    f = SetFlow(practice_reps=2, say=said.append)
    f.attach(Session())
    f.on_angles(LatestAngles(2.0, 0.0, 0.0, {"lumbar": 0.0}))
    assert f.state == "practice"
    f.on_event(LiveEvent("rep_start", 3.0, 1))
    f.on_event(LiveEvent("rep_end", 5.0, 1))
    pipe.tilt.established[:] = True
    f.on_button(ButtonEvent("lumbar", 6.0, 2))  # double click: calibrate again
    pipe.neutral.found, pipe.neutral.anchors = False, []
    f.on_recalibrate(Recalibration(6.0, ["lumbar", "sacrum", "thigh"], None, np.zeros((3, 3))))
    pipe.neutral.found, pipe.neutral.anchors = True, [(9.0, True)]
    f.on_angles(LatestAngles(9.0, 0.0, 0.0, {"lumbar": 0.0}))
    assert (f.state, f.set_index) == ("go", 1)
    assert not any(m.startswith("Set 2") for m in said)


def test_practice_hinges_are_marked_and_the_review_leaves_them_out(tmp_path: Path) -> None:
    """Two practice hinges then the set: the flow marks the practice phase (sidecar
    markers), and the review of the recording counts only the set's reps, renumbered; the
    practice hinges were counted as set reps, flags and all, in review and history."""
    import json

    from analysis.session_csv import write_session_csv
    from hipfirst.cli import main
    from hipfirst.recording.practice import practice_windows
    from tests.test_pipeline import make_session

    marks: list[tuple[str, float]] = []

    s, _ = make_session(seed=1600, reps=3)
    flow = SetFlow(practice_reps=2)
    feed = Feed(s, flow)
    feed.add_marker = lambda kind, t, **_: marks.append((kind, t))  # type: ignore[attr-defined]
    feed.run()
    assert [k for k, _ in marks] == ["practice_start", "practice_end"]
    markers = [{"time_s": t, "kind": k} for k, t in marks]
    assert len(practice_windows(markers)) == 1 and len(feed.pipeline.reps) == 3
    path = tmp_path / "set.csv"
    write_session_csv(s, path)
    side = {"format": "hipfirst-recording/1", "csv": path.name, "exercise": "rdl",
            "markers": [{"time_s": t, "kind": k, "source": "app"} for k, t in marks]}  # fmt: skip
    path.with_suffix(".json").write_text(json.dumps(side))
    out = tmp_path / "r.json"
    assert main(["review", str(path), "--json", "--report", str(tmp_path / "r.html")]) == 0
    assert main(["review", str(path), "--csv", str(out)]) == 0
    rows = out.read_text().splitlines()[1:]
    assert len(rows) == 1 and rows[0].startswith("1,")
