"""Live dashboard: angle bars, rep counter, last verdict, sensors (state, rate, loss, battery).

``Dashboard`` is a ``LiveHooks``: events update a small :class:`DashboardState`; a task
redraws it at ``fps`` (8 Hz by default), decoupled from the 200 Hz data, reading the newest
angles from the pipeline. ``render(state)`` is a pure function of the state (tested).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analysis.results import LiveEvent
from firmware_bridge.manager import LinkEvent, SensorStatus
from hipfirst.live.session import LiveHooks
from hipfirst.report.words import verdict


@dataclass
class SensorRow:
    state: str = "idle"
    rate_hz: float = 0.0
    nominal_rate_hz: float | None = None
    loss_pct: float = 0.0
    battery_pct: int | None = None


@dataclass
class DashboardState:
    exercise: str = ""
    time_s: float = 0.0
    hip_deg: float | None = None
    lumbar_deg: float | None = None
    reps: int = 0
    flagged: int = 0
    last_verdict: str = "–"
    prompt: str = ""
    in_rep: bool = False
    alerts: deque[str] = field(default_factory=lambda: deque(maxlen=3))
    sensors: dict[str, SensorRow] = field(default_factory=dict)


def bar(
    value: float | None,
    lo: float,
    hi: float,
    *,
    width: int = 30,
    warn: float | None = None,
    neg_warn: float | None = None,
) -> Text:
    """A horizontal bar with a zero mark; red beyond the warning thresholds."""
    if value is None or value != value:  # not measured, or not yet (no neutral): NaN
        return Text("–".center(width + 8), style="dim")
    frac = (min(max(value, lo), hi) - lo) / (hi - lo)
    zero = round((0 - lo) / (hi - lo) * width)
    pos = round(frac * width)
    cells = [" "] * width
    a, b = sorted((zero, pos))
    for i in range(a, min(b, width)):
        cells[i] = "█"
    if 0 <= zero < width:
        cells[zero] = "│" if cells[zero] == " " else cells[zero]
    bad = (warn is not None and value > warn) or (neg_warn is not None and value < neg_warn)
    return Text("".join(cells), style="red" if bad else "green") + Text(f" {value:6.1f}°")


def render(
    state: DashboardState, *, flexion_deg: float = 20.0, extension_deg: float = -10.0
) -> Group:
    head = Text(f"{state.exercise}  ", style="bold") + Text(
        f"t {state.time_s:6.1f} s   reps {state.reps}   flagged {state.flagged}"
    )
    angles = Table.grid(padding=(0, 1))
    angles.add_row("hip", bar(state.hip_deg, -10, 120))
    angles.add_row(
        "lumbar",
        bar(state.lumbar_deg, -30, 40, warn=flexion_deg, neg_warn=extension_deg),
    )
    last = Text("last rep: ", style="bold") + Text(
        state.last_verdict, style="red" if "good" not in state.last_verdict else "green"
    )
    sensors = Table(box=None, padding=(0, 1), show_edge=False)
    for col in ("sensor", "state", "rate", "loss", "battery"):
        sensors.add_column(col, justify="left" if col in ("sensor", "state") else "right")
    for name, row in state.sensors.items():
        style = "green" if row.state == "streaming" else "yellow"
        rate = f"{row.rate_hz:.0f} Hz"
        sensors.add_row(
            name,
            Text(row.state, style=style),
            rate,
            f"{row.loss_pct:.1f}%",
            "–" if row.battery_pct is None else f"{row.battery_pct}%",
        )
    parts = [head]
    if state.prompt:
        parts.append(Text(state.prompt, style="bold cyan"))
    parts += [angles, last]
    if state.alerts:
        parts.append(Text("\n".join(state.alerts), style="bold red"))
    parts.append(sensors)
    return Group(Panel(Group(*parts), title="hipfirst", title_align="left"))


class Dashboard(LiveHooks):
    def __init__(self, *, exercise: str, console: Console | None = None, fps: float = 8.0) -> None:
        self.state = DashboardState(exercise=exercise)
        self.console = console or Console()
        self.fps = fps
        self.session: object | None = None
        """The LiveSession (for the newest angles); set by ``attach``."""

    def attach(self, session: object) -> None:
        self.session = session

    def say(self, text: str) -> None:
        """Show a set-up prompt (from ``SetFlow``)."""
        self.state.prompt = text

    def on_event(self, event: LiveEvent) -> None:
        s = self.state
        if event.kind == "rep_start":
            s.in_rep = True
        elif event.kind == "alert" and event.flag:
            s.alerts.append(f"rep {event.rep_index}: {event.message or event.flag}")
        elif event.kind == "rep_end" and event.rep is not None:
            s.in_rep = False
            s.reps += 1
            s.flagged += bool(event.rep.flags)
            s.last_verdict = f"rep {event.rep.index}: {verdict(event.rep)}"

    def on_link(self, event: LinkEvent) -> None:
        self.state.sensors.setdefault(event.sensor, SensorRow()).state = event.kind

    def on_status(self, status: dict[str, SensorStatus]) -> None:
        for name, st in status.items():
            row = self.state.sensors.setdefault(name, SensorRow())
            row.rate_hz = st.rate_hz
            row.nominal_rate_hz = st.nominal_rate_hz
            row.loss_pct = 100.0 * st.loss_fraction
            row.battery_pct = st.battery_pct

    def _pull_angles(self) -> None:
        pipe = getattr(self.session, "pipeline", None)
        latest = getattr(pipe, "latest", None)
        if latest is not None:
            self.state.time_s = latest.time_s
            self.state.hip_deg = latest.hip_deg
            self.state.lumbar_deg = latest.lumbar_deg

    async def run(self, stop: asyncio.Event) -> None:
        """Redraw until ``stop`` is set (run it as a task next to the session)."""
        with Live(
            render(self.state), console=self.console, refresh_per_second=self.fps, transient=False
        ) as live:
            with contextlib.suppress(asyncio.CancelledError):
                while not stop.is_set():
                    self._pull_angles()
                    live.update(render(self.state))
                    await asyncio.sleep(1.0 / self.fps)
            self._pull_angles()
            live.update(render(self.state))
