"""Live view: the dashboard renders the state it was given (rich's recorded console), pulls
the newest angles from a real pipeline once per frame, redraws at its own rate; quiet mode
prints plain lines."""

from __future__ import annotations

import asyncio
import io
import math

import pytest
from rich.cells import cell_len
from rich.console import Console

from analysis.config import PipelineConfig
from analysis.results import LiveEvent, RepResult
from analysis.stream import SensorSpec, StreamingPipeline
from firmware_bridge.manager import GapEvent, LinkEvent, SensorStatus
from hipfirst.setflow import SetFlow
from hipfirst.view import Dashboard, QuietLines
from hipfirst.view.dashboard import bar, render, sparkline
from tests.test_pipeline import make_session


def rep(index: int, flags: tuple[str, ...]) -> RepResult:
    return RepResult(index, 1.0, 2.0, 3.0, 70.0, 8.0, -1.0, 1.1, 1.0, 100.0, flags)


def text(dash: Dashboard) -> str:
    c = Console(record=True, width=110, color_system=None)
    c.print(render(dash.state))
    return c.export_text()


def status(name: str, *, state: str, rate_hz: float, got: int, lost: int, battery: int | None):
    st = SensorStatus(placement=name, address="AA", battery_pct=battery, rate_hz=rate_hz)
    st.state, st.samples, st.samples_lost = state, got, lost
    return st


def test_dashboard_shows_angles_reps_verdict_and_sensors() -> None:
    d = Dashboard(exercise="rdl")
    d.on_link(LinkEvent("lumbar", "streaming", 0.5))
    d.on_link(LinkEvent("thigh", "retrying", 0.6))
    d.on_status({"lumbar": status("lumbar", state="streaming", rate_hz=199.6, got=990, lost=10,
                                  battery=64)})  # fmt: skip
    d.on_event(LiveEvent("alert", 4.0, 1, flag="lumbar_first", message="hips back first"))
    d.on_event(LiveEvent("rep_end", 6.0, 1, rep=rep(1, ("lumbar_first",))))
    d.on_event(LiveEvent("rep_start", 7.0, 2))
    assert "in rep" in text(d)
    d.on_event(LiveEvent("rep_end", 9.0, 2, rep=rep(2, ())))
    d.say("Neutral refreshed. Go when ready.")
    d.state.hip_deg, d.state.lumbar_deg = 42.0, 25.5
    out = text(d)
    assert "reps 2" in out and "flagged 1" in out and "in rep" not in out
    assert "42.0°" in out and "25.5°" in out
    assert "rep 2: good: hips first, back steady" in out and "rep 1: hips back first" in out
    assert "Neutral refreshed. Go when ready." in out
    lines = {
        ln.split()[1]: ln
        for ln in out.splitlines()
        if ln.strip("│ ").startswith(("lumbar ", "thigh "))
    }
    assert "streaming" in lines["lumbar"] and "200 Hz" in lines["lumbar"]
    assert "1.0%" in lines["lumbar"] and "64%" in lines["lumbar"]
    assert "retrying" in lines["thigh"] and "0 Hz" in lines["thigh"]


def test_status_updates_rate_loss_battery_and_state() -> None:
    d = Dashboard(exercise="hinge")
    d.on_status({"sacrum": status("sacrum", state="streaming", rate_hz=98.7, got=700, lost=300,
                                  battery=None)})  # fmt: skip
    row = next(ln for ln in text(d).splitlines() if ln.strip("│ ").startswith("sacrum"))
    assert row.split()[1:6] == ["sacrum", "streaming", "99", "Hz", "30.0%"] and "–" in row
    d.on_status({"sacrum": status("sacrum", state="disconnected", rate_hz=0.0, got=700,
                                  lost=300, battery=55)})  # fmt: skip
    row = next(ln for ln in text(d).splitlines() if ln.strip("│ ").startswith("sacrum"))
    assert "disconnected" in row and "55%" in row


def test_lumbar_bar_turns_red_past_the_rounding_and_arching_thresholds() -> None:
    def colour(v: float) -> str:
        return str(bar(v, -30, 40, warn=20.0, neg_warn=-10.0).style)

    assert colour(25.0) == "red" and colour(-12.0) == "red"
    assert colour(5.0) == "green" and colour(-5.0) == "green"


def test_bar_length_follows_the_value() -> None:
    def cells(v: float) -> int:
        return bar(v, 0, 100, width=20).plain.count("█")

    assert (cells(0.0), cells(50.0), cells(100.0), cells(250.0)) == (0, 10, 20, 20)


def test_sparkline_scales_and_leaves_gaps() -> None:
    line = sparkline([0.0, 50.0, 100.0, math.nan, 200.0], 0.0, 100.0).plain
    assert line.rstrip().endswith("▁▅█ █")


def test_not_yet_measured_angles_show_a_dash() -> None:
    d = Dashboard(exercise="hinge")
    d.state.hip_deg = float("nan")
    d.state.lumbar_deg = 7.0
    out = text(d)
    rows = {r.strip("│ ").split()[0]: r for r in out.splitlines() if r.strip("│ ")}
    assert "–" in rows["hip"] and "°" not in rows["hip"]
    assert "7.0°" in rows["lumbar"] and "–" not in rows["lumbar"]
    assert "nan" not in out.lower()


def test_frames_pull_the_newest_angles_from_the_live_pipeline() -> None:
    s, _ = make_session(seed=1700, reps=1)
    pipe = StreamingPipeline(
        PipelineConfig(), sensors={n: SensorSpec(rate_hz=st.rate_hz) for n, st in s.sensors.items()}
    )
    d = Dashboard(exercise="hinge")
    d.attach(type("Session", (), {"pipeline": pipe})())
    # one "frame" per 0.125 s of data, as the 8 Hz redraw would see it
    for k in range(0, int(5.0 / 0.125)):
        t1 = (k + 1) * 0.125
        for n, st in s.sensors.items():
            sel = (st.time_s >= t1 - 0.125) & (st.time_s < t1)
            pipe.push(n, st.time_s[sel], st.acc_g[sel], st.gyr_dps[sel])
        d.pull_angles()
    assert pipe.latest is not None and d.state.time_s == pipe.latest.time_s
    assert d.state.hip_deg == pipe.latest.hip_deg and 5.0 < d.state.hip_deg < 60.0  # descending
    out = text(d)
    assert f"{pipe.latest.hip_deg:6.1f}°" in out
    # the trace: blank before the neutral (2 s), flat while standing, rising in the descent
    hip = list(d.state.hip_trace)
    assert len(hip) == 40 and math.isnan(hip[0]) and hip[-1] > hip[-4] > hip[-8]


def test_run_redraws_at_its_own_rate_and_stops() -> None:
    buf = io.StringIO()
    d = Dashboard(exercise="hinge", console=Console(file=buf, width=100), fps=10.0)

    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(d.run(stop))
        for i in range(50):  # 50 events in 0.5 s: 100 Hz of updates
            d.on_event(LiveEvent("rep_end", i, i + 1, rep=rep(i + 1, ())))
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 2.0)

    asyncio.run(go())
    # 0.5 s at 10 Hz: about 5 frames (never one per event), then a last one with the final state
    assert 2 <= len(d.frame_ms) <= 7
    assert "reps 50" in buf.getvalue()
    with pytest.raises(ValueError, match="fps must be"):
        Dashboard(exercise="hinge", fps=60.0)


def test_quiet_lines_one_per_event_and_prompt() -> None:
    out = io.StringIO()
    q = QuietLines(out=out)
    flow = SetFlow(say=q.say)  # its first prompt, at t = 0
    q.on_link(LinkEvent("sacrum", "streaming", 0.4))
    q.on_link(LinkEvent("sacrum", "connecting", 0.3))  # not a line: only state changes that matter
    q.on_event(LiveEvent("alert", 4.0, 1, flag="lumbar_first", message="hips back"))
    q.on_event(LiveEvent("rep_end", 6.0, 1, rep=rep(1, ("lumbar_first",))))
    q.on_event(LiveEvent("rep_start", 7.0, 2))  # not a line
    q.on_event(LiveEvent("rep_end", 9.5, 2, rep=rep(2, ())))
    q.on_gap(GapEvent("thigh", 9.1, 0.06, 12, 2, "packet loss"))
    q.say("Set 2.")
    lines = out.getvalue().splitlines()
    assert flow.said and "\x1b" not in out.getvalue()
    assert lines == [
        "    0.00 s  say: Stand tall and still for a few seconds...",
        "    0.40 s  sacrum: streaming",
        "    4.00 s  rep 1: ALERT lumbar_first: hips back",
        "    6.00 s  rep 1: hip 70°, lumbar peak 8°: lumbar_first (started from the lower back)",
        "    9.50 s  rep 2: hip 70°, lumbar peak 8°: ok",
        "    9.10 s  thigh: gap of 12 samples (packet loss)",
        "    9.50 s  say: Set 2.",
    ]


@pytest.mark.parametrize("width", [80, 100])
def test_angle_rows_fit_the_terminal_with_value_and_newest_trace_point(width: int) -> None:
    d = Dashboard(exercise="rdl")
    d.state.hip_deg, d.state.lumbar_deg = 42.0, -25.5
    d.state.hip_trace.extend([-10.0] * 39 + [55.0])  # oldest at the bottom, newest half-way
    d.state.lumbar_trace.extend([-30.0] * 39 + [40.0])  # newest at the top
    c = Console(record=True, width=width, color_system=None, file=io.StringIO())
    c.print(render(d.state))
    lines = c.export_text().splitlines()
    assert max(cell_len(ln) for ln in lines) <= width
    rows = {ln.strip("│ ").split()[0]: ln.strip("│ ") for ln in lines if ln.strip("│ ")}
    # the value on the bar's own line (before: wrapped onto the next line at 80 columns)
    assert "42.0°" in rows["hip"] and "-25.5°" in rows["lumbar"]
    assert not any(ln.strip("│ ").startswith(("42.0°", "-25.5°")) for ln in lines)
    # the newest trace point ends the row (before: cut off with "…" at 80 columns)
    assert rows["hip"].endswith("▁▁▁▅") and rows["lumbar"].endswith("▁▁▁█")
    assert "…" not in "".join(lines)
    if width >= 100:  # as designed: a 30-cell bar and all 40 trace points
        assert rows["hip"].endswith("42.0° " + "▁" * 39 + "▅")
        assert len(rows["hip"].split("°")[0]) == len("hip    ") + 30 + len(f" {42.0:6.1f}")


def test_a_rep_whose_lumbar_angle_was_lost_is_not_called_good_live() -> None:
    """``demo --drop-link lumbar@14:4``: the rep in the hole has no lumbar figures; the
    review calls it "no fault seen (not measured: ...)", the live view called it "good:
    hips first, back steady" in green and the quiet line "ok"."""
    lost = RepResult(3, 16.6, 19.3, 20.4, 86.1, None, None, 16.6, None, None, ())
    d = Dashboard(exercise="rdl")
    d.on_event(LiveEvent("rep_end", 20.4, 3, rep=lost))
    out = text(d)
    assert "rep 3: no fault seen (not measured: hips-first order, rounding, arching)" in out
    assert "good" not in out and d.state.last_good is None
    buf = io.StringIO()
    QuietLines(out=buf).on_event(LiveEvent("rep_end", 20.4, 3, rep=lost))
    assert buf.getvalue() == (
        "   20.40 s  rep 3: hip 86°, lumbar peak ?: no fault seen (not measured: "
        "hips-first order, rounding, arching)\n"
    )
