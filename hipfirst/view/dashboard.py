"""Live dashboard: angle bars and traces, reps, last verdict, prompts, alerts, sensors.

``Dashboard`` is a ``LiveHooks``: events only update a small :class:`DashboardState`
(cheap, in the event loop); ``run(stop)`` redraws it at ``fps`` (8 Hz by default) in its
own task, decoupled from the sample rate, pulling the newest angles from the pipeline once
per frame. ``render(state)`` is a pure function of the state (tested). Each frame's cost
(build + draw + write) is kept in ``frame_ms``; ``bench/view_render.py`` prints it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from dataclasses import dataclass, field

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analysis.results import LiveEvent
from firmware_bridge.manager import LinkEvent, SensorStatus
from hipfirst.live.session import LiveHooks
from hipfirst.recording.practice import in_practice, practice_windows
from hipfirst.report.words import rep_unchecked, verdict

TRACE_LEN = 40
"""Points in the angle traces (one per frame: 5 s at 8 Hz)."""
BAR_WIDTH = 30
"""Cells of an angle bar when the terminal is wide enough (the value follows it)."""
LABEL_WIDTH = len("lumbar")
VALUE_WIDTH = len(" -123.4°")
SPARKS = "▁▂▃▄▅▆▇█"
HIP_RANGE_DEG = (-10.0, 120.0)
LUMBAR_RANGE_DEG = (-30.0, 40.0)


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
    hip_trace: deque[float] = field(default_factory=lambda: deque(maxlen=TRACE_LEN))
    lumbar_trace: deque[float] = field(default_factory=lambda: deque(maxlen=TRACE_LEN))
    reps: int = 0
    flagged: int = 0
    last_verdict: str = "–"
    last_good: bool | None = None
    prompt: str = ""
    in_rep: bool = False
    alerts: deque[str] = field(default_factory=lambda: deque(maxlen=3))
    sensors: dict[str, SensorRow] = field(default_factory=dict)


def _or_nan(v: float | None) -> float:
    return math.nan if v is None else v


def bar(
    value: float | None,
    lo: float,
    hi: float,
    *,
    width: int = BAR_WIDTH,
    warn: float | None = None,
    neg_warn: float | None = None,
) -> Text:
    """A horizontal bar with a zero mark; red beyond the warning thresholds."""
    if value is None or not math.isfinite(value):  # not measured, or no neutral yet (NaN)
        return Text("–".center(width + VALUE_WIDTH), style="dim")
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


def sparkline(
    values: deque[float] | list[float], lo: float, hi: float, *, width: int = TRACE_LEN
) -> Text:
    """One block character per value, scaled to ``lo..hi``; a gap where not measured. The
    newest ``width`` values, right-aligned in ``width`` cells."""
    top = len(SPARKS) - 1
    out = []
    for v in list(values)[max(0, len(values) - width) :]:
        if not math.isfinite(v):
            out.append(" ")
            continue
        frac = (min(max(v, lo), hi) - lo) / (hi - lo)
        out.append(SPARKS[round(frac * top)])
    return Text("".join(out).rjust(width), style="cyan")


def angle_widths(columns: int) -> tuple[int, int]:
    """(bar cells, trace points) for an angle row ``columns`` wide (label, bar, value,
    trace): ``(BAR_WIDTH, TRACE_LEN)`` when they fit, else both shrunk in proportion so the
    row fits on one line; the trace may go (0) before the bar does."""
    room = columns - LABEL_WIDTH - 1 - VALUE_WIDTH - 1
    if room >= BAR_WIDTH + TRACE_LEN:
        return BAR_WIDTH, TRACE_LEN
    bar_w = max(1, room * BAR_WIDTH // (BAR_WIDTH + TRACE_LEN))
    trace_w = room - bar_w
    return (bar_w, trace_w) if trace_w >= 4 else (max(1, room + 1), 0)


@dataclass
class AngleRows:
    """The hip and lumbar rows (label, bar, value, trace), sized to the width they are
    drawn in: each row is one line, never wrapped; a narrow terminal gets a shorter bar
    and the newest part of the trace."""

    state: DashboardState
    flexion_deg: float
    extension_deg: float

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        bar_w, trace_w = angle_widths(options.max_width)
        s = self.state
        rows = (
            ("hip", s.hip_deg, s.hip_trace, HIP_RANGE_DEG, None, None),
            (
                "lumbar",
                s.lumbar_deg,
                s.lumbar_trace,
                LUMBAR_RANGE_DEG,
                self.flexion_deg,
                self.extension_deg,
            ),
        )
        for label, value, trace, (lo, hi), warn, neg_warn in rows:
            line = Text(f"{label:<{LABEL_WIDTH}} ") + bar(
                value, lo, hi, width=bar_w, warn=warn, neg_warn=neg_warn
            )
            if trace_w:
                line += Text(" ") + sparkline(trace, lo, hi, width=trace_w)
            line.no_wrap = True
            line.overflow = "crop"
            yield line


def render(
    state: DashboardState, *, flexion_deg: float = 20.0, extension_deg: float = -10.0
) -> Group:
    head = Text(f"{state.exercise}  ", style="bold") + Text(
        f"t {state.time_s:6.1f} s   reps {state.reps}   flagged {state.flagged}"
        + ("   in rep" if state.in_rep else "")
    )
    angles = AngleRows(state, flexion_deg, extension_deg)
    style = {None: "dim", True: "green", False: "red"}[state.last_good]
    last = Text("last rep: ", style="bold") + Text(state.last_verdict, style=style)
    sensors = Table(box=None, padding=(0, 1), show_edge=False)
    for col in ("sensor", "state", "rate", "loss", "battery"):
        sensors.add_column(col, justify="left" if col in ("sensor", "state") else "right")
    for name, row in state.sensors.items():
        sensors.add_row(
            name,
            Text(row.state, style="green" if row.state == "streaming" else "yellow"),
            f"{row.rate_hz:.0f} Hz",
            f"{row.loss_pct:.1f}%",
            "–" if row.battery_pct is None else f"{row.battery_pct}%",
        )
    parts: list[Text | Table | AngleRows] = [head]
    if state.prompt:
        parts.append(Text(state.prompt, style="bold cyan"))
    parts += [angles, last]
    if state.alerts:
        parts.append(Text("\n".join(state.alerts), style="bold red"))
    parts.append(sensors)
    return Group(Panel(Group(*parts), title="hipfirst", title_align="left"))


class Dashboard(LiveHooks):
    def __init__(self, *, exercise: str, console: Console | None = None, fps: float = 8.0) -> None:
        if not 0.5 <= fps <= 10.0:
            raise ValueError(f"fps must be 0.5-10 (a terminal needs no more), got {fps}")
        self.state = DashboardState(exercise=exercise)
        self.console = console or Console()
        self.fps = fps
        self.session: object | None = None
        """The LiveSession (for the newest angles); set by ``attach``."""
        self.frame_ms: deque[float] = deque(maxlen=10_000)
        """Wall time of each frame drawn by ``run``: pull + render + write to the terminal."""

    def attach(self, session: object) -> None:
        self.session = session

    def say(self, text: str) -> None:
        """Show a prompt (from ``SetFlow`` or ``HoldCoach``) on the prompt line."""
        self.state.prompt = text

    # --- LiveHooks: update the state only, never draw here ----------------
    def on_event(self, event: LiveEvent) -> None:
        s = self.state
        if event.kind == "rep_start":
            s.in_rep = True
        elif event.kind == "rep_discard":
            s.in_rep = False
        elif event.kind == "alert" and event.flag:
            s.alerts.append(f"rep {event.rep_index}: {event.message or event.flag}")
        elif event.kind == "rep_end" and event.rep is not None:
            s.in_rep = False
            # a rep whose lumbar (or hip) angle was not known through it is not "good"
            missing = rep_unchecked(event.rep)
            said = verdict(event.rep, not_checked=missing)
            s.last_good = False if event.rep.flags else (None if missing else True)
            if self._in_practice(event.time_s):  # not the set's: the summary, review agree
                s.last_verdict = f"practice hinge: {said}"
                return
            s.reps += 1
            s.flagged += bool(event.rep.flags)
            s.last_verdict = f"rep {event.rep.index}: {said}"

    def _in_practice(self, time_s: float) -> bool:
        """In a practice phase the set flow marked (``--practice N``) on the session."""
        markers = getattr(getattr(self.session, "summary", None), "markers", None)
        return in_practice(time_s, practice_windows(markers))

    def on_link(self, event: LinkEvent) -> None:
        self.state.sensors.setdefault(event.sensor, SensorRow()).state = event.kind

    def on_status(self, status: dict[str, SensorStatus]) -> None:
        for name, st in status.items():
            row = self.state.sensors.setdefault(name, SensorRow())
            row.state = st.state or row.state
            row.rate_hz = st.rate_hz
            row.nominal_rate_hz = st.nominal_rate_hz
            row.loss_pct = 100.0 * st.loss_fraction
            row.battery_pct = st.battery_pct

    # --- drawing ------------------------------------------------------------
    def pull_angles(self) -> None:
        """Take the pipeline's newest angles (once per frame) and extend the traces."""
        pipe = getattr(self.session, "pipeline", None)
        latest = getattr(pipe, "latest", None)
        if latest is None:
            return
        s = self.state
        s.time_s = latest.time_s
        s.hip_deg = latest.hip_deg
        s.lumbar_deg = latest.lumbar_deg
        s.hip_trace.append(_or_nan(s.hip_deg))
        s.lumbar_trace.append(_or_nan(s.lumbar_deg))

    async def run(self, stop: asyncio.Event) -> None:
        """Redraw until ``stop`` is set (run it as a task next to the session). Frames are
        drawn here, in the event loop, at ``fps``; rich's own refresh thread is off."""
        period = 1.0 / self.fps
        with Live(
            render(self.state), console=self.console, auto_refresh=False, transient=False
        ) as live:
            with contextlib.suppress(asyncio.CancelledError):
                while not stop.is_set():
                    t0 = time.perf_counter()
                    self.pull_angles()
                    live.update(render(self.state), refresh=True)
                    spent = time.perf_counter() - t0
                    self.frame_ms.append(1000.0 * spent)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), max(0.0, period - spent))
            self.pull_angles()
            live.update(render(self.state), refresh=True)
