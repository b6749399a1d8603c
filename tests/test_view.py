"""Live view: the dashboard renders the state it was given; quiet mode prints lines."""

from __future__ import annotations

import pytest
from rich.console import Console

from analysis.results import LiveEvent, RepResult
from firmware_bridge.manager import LinkEvent, SensorStatus
from hipfirst.commands.monitor import PrintHooks
from hipfirst.view import Dashboard
from hipfirst.view.dashboard import render


def rep(index: int, flags: tuple[str, ...]) -> RepResult:
    return RepResult(index, 1.0, 2.0, 3.0, 70.0, 8.0, -1.0, 1.1, 1.0, 100.0, flags)


def text(dash: Dashboard) -> str:
    c = Console(record=True, width=100, color_system=None)
    c.print(render(dash.state))
    return c.export_text()


def test_dashboard_shows_angles_reps_verdict_and_sensors() -> None:
    d = Dashboard(exercise="rdl")
    d.on_link(LinkEvent("lumbar", "streaming", 0.5))
    d.on_link(LinkEvent("thigh", "retrying", 0.6))
    st = SensorStatus(placement="lumbar", address="AA", battery_pct=64, rate_hz=199.6)
    st.samples, st.samples_lost = 990, 10
    d.on_status({"lumbar": st})
    d.on_event(LiveEvent("alert", 4.0, 1, flag="lumbar_first", message="hips back first"))
    d.on_event(LiveEvent("rep_end", 6.0, 1, rep=rep(1, ("lumbar_first",))))
    d.on_event(LiveEvent("rep_end", 9.0, 2, rep=rep(2, ())))
    d.state.hip_deg, d.state.lumbar_deg = 42.0, 25.5
    out = text(d)
    assert "reps 2" in out and "flagged 1" in out
    assert "42.0°" in out and "25.5°" in out
    assert "rep 2: good" in out and "rep 1: hips back first" in out
    lines = {
        ln.split()[1]: ln
        for ln in out.splitlines()
        if ln.strip("│ ").startswith(("lumbar ", "thigh "))
    }
    assert "streaming" in lines["lumbar"] and "200 Hz" in lines["lumbar"]
    assert "1.0%" in lines["lumbar"] and "64%" in lines["lumbar"]
    assert "retrying" in lines["thigh"]


def test_lumbar_bar_turns_red_past_the_rounding_and_arching_thresholds() -> None:
    from hipfirst.view.dashboard import bar

    def colour(v: float) -> str:
        return str(bar(v, -30, 40, warn=20.0, neg_warn=-10.0).style)

    assert colour(25.0) == "red" and colour(-12.0) == "red"
    assert colour(5.0) == "green" and colour(-5.0) == "green"


def test_not_yet_measured_angles_show_a_dash() -> None:
    d = Dashboard(exercise="hinge")
    d.state.hip_deg = float("nan")
    assert "–" in text(d)


def test_quiet_mode_prints_one_line_per_event(capsys: pytest.CaptureFixture) -> None:
    h = PrintHooks()
    h.on_link(LinkEvent("sacrum", "streaming", 0.4))
    h.on_event(LiveEvent("alert", 4.0, 1, flag="lumbar_first", message="hips back first"))
    h.on_event(LiveEvent("rep_end", 6.0, 1, rep=rep(1, ("lumbar_first",))))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "\x1b" not in "".join(lines)
    assert "ALERT lumbar_first" in lines[1] and "hip 70°" in lines[2]
