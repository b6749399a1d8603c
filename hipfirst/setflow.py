"""Guided set-up and set flow: stand still -> neutral -> (practice hinges) -> go; rests.

``SetFlow`` is a ``LiveHooks``. It does no signal processing of its own: it reads the
streaming pipeline's state (``neutral.found``, ``neutral.sensor_best_run``,
``neutral.anchors``, ``tilt.established``, the newest tilts) and the checks in
:mod:`analysis.placement_check`, and says what to do next through ``say`` (print, speech,
the dashboard's prompt line). States (``flow.state``):

``stand``     "Stand tall and still"; after ``stand_wait_s`` without a neutral it names the
              sensor that is not still (or says everyone is moving).
``practice``  neutral captured (1 g / frozen check on the raw samples, which the live
              session hands to ``on_samples``), then ``practice_reps`` slow hinges; at
              their end the placement checks run and the sensor that looks wrong is named.
``go``        the set. After ``rest_s`` without a rep:
``rest``      "Rest: stand tall and still"; the pipeline re-anchors the neutral on a still
              standing rest (within ``reanchor_max_deg`` of the first one). The flow says
              "Neutral refreshed" when it did, or names the sensor that slipped / says the
              stance differs when it refused. The next rep starts the next set.
``fix``       a placement problem was found (at the neutral, after the practice hinges, or a
              sensor that slipped in a rest). Once the named sensor is handled (re-clipped:
              its gyro passes ``handled_dps``, or a single button click says "done"), the
              live session re-calibrates (``session.recalibrate(relearn=[named])``): back
              to ``stand`` for a new neutral, practice hinges again if an axis has to be
              learned again, then go. After a slip in a rest, a rep without re-clipping
              carries on with the next set.

Sensor buttons (``on_button``, e.g. a Movella DOT): a single click marks the set: in
``go`` it ends the set (-> ``rest``), in ``rest`` it starts the next one (-> ``go``); in
``fix`` it re-calibrates. A double click re-calibrates in any state. Every mark is logged
(``marks``: ``set_start`` / ``set_end``; and ``session.add_marker``, which records those and
``recalibrate`` with the click's ``source`` and ``sensor`` in the recording, crash-safe).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from analysis.placement_check import check_neutral, check_practice, rest_offsets, unsteady_sensors
from analysis.results import LiveEvent
from analysis.stream import LatestAngles, StreamingPipeline
from firmware_bridge.manager import SampleBlock
from hipfirst.live.buttons import ButtonEvent
from hipfirst.live.recalibrate import Recalibration
from hipfirst.live.session import LiveHooks

STAND = "Stand tall and still for a few seconds..."
NEUTRAL = "Neutral captured."
GO = "Go!"
PLACEMENT_OK = "Placement looks right. " + GO
FIX = "Fix that, then stand tall and still: the neutral is found again."
RECALIBRATING = "Calibrating again: stand tall and still for a few seconds..."
REST = "Rest: stand tall and still; the neutral refreshes while you stand."
REFRESHED = "Neutral refreshed. Go when ready."
KEPT = "This rest is not your starting stance, so the first neutral is kept: stand tall."


def sentence(text: str) -> str:
    """A check's message as a sentence to say: capital first, full stop unless it asks."""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


HANDLED_DPS = 150.0
"""A sensor turning faster than this (raw gyro) is being handled: re-clipped, not worn."""
HANDLED_ACC_G = 0.5
"""Without a gyro: the accelerometer off 1 g by more than this."""
_NAMED = re.compile(r"\bthe (\w+) sensor\b", re.IGNORECASE)


def named_sensors(problems: list[str]) -> set[str]:
    """The sensors the problems name (``"the thigh sensor ..."`` -> ``{"thigh"}``)."""
    return {m.group(1).lower() for p in problems for m in _NAMED.finditer(p)}


def practice_prompt(n: int) -> str:
    return f"Now {n} slow practice hinge{'s' if n != 1 else ''}: push the hips back."


class SetFlow(LiveHooks):
    def __init__(
        self,
        *,
        practice_reps: int = 0,
        say: Callable[[str], None] = print,
        rest_s: float = 8.0,
        stand_wait_s: float = 6.0,
        handled_dps: float = HANDLED_DPS,
        handled_samples: int = 5,
    ) -> None:
        self.practice_reps = practice_reps
        self.say = say
        self.rest_s = rest_s
        self.stand_wait_s = stand_wait_s
        self.handled_dps = handled_dps
        self.handled_samples = handled_samples
        self.state = "stand"
        self.said: list[str] = []
        self.problems: list[str] = []
        """Placement problems found so far (plain words, naming the sensor)."""
        self.set_index = 1
        self.refreshes: list[float] = []
        """Times (session clock) of the neutral refreshes the flow announced."""
        self.marks: list[tuple[float, str, int]] = []
        """(time_s, ``set_start`` / ``set_end``, set number) for every button mark."""
        self.recalibrations = 0
        self._session: object | None = None
        self._fix_sensors: set[str] = set()
        self._fix_from_rest = False
        self._handled = 0
        self._practice_from = 0
        self._t0: float | None = None
        self._next_nag = stand_wait_s
        self._acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._tilts: dict[str, list[float]] = {}
        self._reps = 0
        self._set_reps = 0  # reps in sets, practice hinges not counted
        self._now_s = 0.0  # the newest session time seen
        self._practicing = False  # a practice phase is marked open (``practice_start``)
        self._in_rep = False
        self._last_end: float | None = None
        self._anchor_mark = 0
        self._rest_tilts: list[tuple[float, dict[str, float]]] = []
        self._rest_status: str | None = None
        self._tell(STAND)

    # --- LiveHooks --------------------------------------------------------
    @property
    def _pipeline(self) -> StreamingPipeline | None:
        """The session's pipeline (a recalibration swaps it)."""
        return getattr(self._session, "pipeline", None)

    def attach(self, session: object) -> None:
        self._session = session

    def on_samples(self, block: SampleBlock) -> None:
        """Raw samples: kept while waiting for the neutral (the 1 g check); watched in
        ``fix`` for the named sensor being handled."""
        if self.state == "fix":
            self._watch_handling(block)
            return
        if self.state != "stand":
            return
        buf = self._acc.setdefault(block.sensor, [])
        buf.append((np.asarray(block.time_s, float), np.asarray(block.acc_g, float)))
        keep_from = float(block.time_s[-1]) - self._neutral_s() - 1.0
        while len(buf) > 1 and buf[0][0][-1] < keep_from:
            buf.pop(0)

    def on_angles(self, latest: LatestAngles) -> None:
        self._now_s = max(self._now_s, latest.time_s)
        if self._t0 is None:
            self._t0 = latest.time_s
        if self.state == "stand":
            self._stand(latest)
        elif self.state == "practice":
            for name, v in latest.tilts_deg.items():
                self._tilts.setdefault(name, []).append(v)
        elif self.state == "go" and self._resting(latest.time_s):
            self.state = "rest"
            self._rest_status = None
            self._tell(REST)
        if self.state == "rest":
            self._rest(latest)

    def on_event(self, event: LiveEvent) -> None:
        self._now_s = max(self._now_s, event.time_s)
        if event.kind == "rep_discard":
            self._in_rep = False  # no rep_end will come (a bent-over rest): rests count again
            return
        if event.kind == "rep_start":
            self._in_rep = True
            if self.state == "rest" or (self.state == "fix" and self._fix_from_rest):
                self.set_index += 1
                self.state = "go"
                self._tell(f"Set {self.set_index}.")
            return
        if event.kind != "rep_end":
            return
        self._in_rep = False
        self._reps += 1
        self._set_reps += self.state != "practice"
        self._last_end = event.time_s
        self._anchor_mark = len(self._anchors())
        if self.state == "practice" and self._reps - self._practice_from >= self.practice_reps:
            self._end_practice()

    def on_recalibrate(self, rec: Recalibration) -> None:
        """The session dropped the neutral: start over from "stand tall and still"."""
        self.recalibrations += 1
        self.state = "stand"
        self._t0 = None
        self._next_nag = self.stand_wait_s
        self._acc.clear()
        self._tilts.clear()
        self._in_rep = False
        self._last_end = None
        self._anchor_mark = 0
        self._rest_tilts.clear()
        self._rest_status = None
        self._fix_sensors = set()
        self._fix_from_rest = False
        self._tell(RECALIBRATING)

    def on_note(self, text: str) -> None:
        self._tell(sentence(text))

    def on_button(self, press: ButtonEvent) -> None:
        if press.clicks >= 2:
            self._log_mark("recalibrate", press.time_s, "button", press.sensor)
            self._recalibrate(set(), reason=f"{press.sensor} button double click")
        else:
            self.mark_set(press.time_s, source="button", sensor=press.sensor)

    # --- set marks ----------------------------------------------------------
    def mark_set(
        self, time_s: float, *, source: str = "app", sensor: str | None = None
    ) -> str | None:
        """A set mark (a button click: ``source="button"``, ``sensor`` its placement): ends
        the set in ``go``, starts the next in ``rest``, re-calibrates in ``fix``. Returns
        the mark made, if any."""
        if self.state == "fix":
            self._log_mark("recalibrate", time_s, source, sensor)
            self._recalibrate(self._fix_sensors, reason="ready after a fix")
            return None
        if self.state == "go":
            kind = "set_end"
            self.state = "rest"
            self._rest_status = None
            self._anchor_mark = len(self._anchors())
            self._tell(f"Set {self.set_index} done. {REST}")
        elif self.state == "rest":
            kind = "set_start"
            self.set_index += 1
            self.state = "go"
            self._last_end = None  # else the last set's end reads as a rest straight away
            self._tell(f"Set {self.set_index}.")
        else:
            return None
        self.marks.append((time_s, kind, self.set_index))
        self._log_mark(kind, time_s, source, sensor)
        return kind

    def _log_mark(self, kind: str, time_s: float, source: str, sensor: str | None) -> None:
        add = getattr(self._session, "add_marker", None)
        if callable(add):
            add(kind, time_s, source=source, sensor=sensor, set=self.set_index)

    # --- states -------------------------------------------------------------
    def _stand(self, latest: LatestAngles) -> None:
        pipe = self._pipeline
        if pipe is None:  # no pipeline attached: angles appear once the neutral is known
            found = latest.hip_deg is not None and bool(np.isfinite(latest.hip_deg))
        else:
            found = pipe.neutral.found
        if found:
            self._neutral_captured()
            return
        assert self._t0 is not None
        if pipe is not None and latest.time_s - self._t0 >= self._next_nag:
            self._next_nag += self.stand_wait_s
            best_s = pipe.neutral.sensor_best_run / pipe.config.grid_hz
            runs = {n: float(r) for n, r in zip(pipe.layout.sensors, best_s, strict=True)}
            for msg in unsteady_sensors(runs, need_s=self._neutral_s()):
                self._tell(sentence(msg))

    def _neutral_captured(self) -> None:
        window = self._neutral_window()
        problems = check_neutral(window) if window else []
        self.problems += problems
        self._acc.clear()
        self._tell(NEUTRAL)
        for p in problems:
            self._tell(sentence(p))
        if problems:
            self._fix(problems)
        elif self.practice_reps and not self._axes_ready():
            self.state = "practice"
            self._practice_from = self._reps
            if not self._practicing:
                self._practicing = True
                self._log_mark("practice_start", self._now_s, "app", None)
            self._tell(practice_prompt(self.practice_reps))
        else:
            self._practice_over()
            self.state = "go"
            if self.recalibrations and self._set_reps:  # re-calibrated between sets
                self.set_index += 1
                self._tell(f"Set {self.set_index}. {GO}")
            else:
                self._tell(GO)

    def _practice_over(self) -> None:
        """The set begins: close the practice phase under way, if any."""
        if not self._practicing:
            return
        self._log_mark("practice_end", self._now_s, "app", None)
        self._practicing = False

    def _end_practice(self) -> None:
        tilts = {n: np.asarray(v, dtype=float) for n, v in self._tilts.items()}
        problems = check_practice(tilts)
        if self._pipeline is not None:
            pipe = self._pipeline
            for name, ok in zip(pipe.layout.sensors, pipe.tilt.established, strict=True):
                if not ok and not any(f"the {name} sensor" in p for p in problems):
                    problems.append(
                        f"the {name} sensor's flexion axis was not learned in the practice "
                        "hinges: hinge deeper, and check it is clipped on firmly"
                    )
        self.problems += problems
        self._tilts.clear()
        for p in problems:
            self._tell(sentence(p))
        if problems:
            self._fix(problems)
        else:
            self._practice_over()
            self.state = "go"
            self._tell(PLACEMENT_OK)  # after practice hinges: counted as set 1

    def _rest(self, latest: LatestAngles) -> None:
        self._rest_tilts.append((latest.time_s, dict(latest.tilts_deg)))
        keep_from = latest.time_s - self._neutral_s()
        while self._rest_tilts and self._rest_tilts[0][0] < keep_from:
            self._rest_tilts.pop(0)
        anchors = self._anchors()
        if len(anchors) <= self._anchor_mark:
            return
        self._anchor_mark = len(anchors)
        t, accepted = anchors[-1]  # the newest still stretch decides what to say
        status = "refreshed" if accepted else "kept"
        if status == self._rest_status:
            return
        self._rest_status = status
        if accepted:
            self.refreshes.append(t)
            self._tell(REFRESHED)
            return
        series = {
            n: np.array([d.get(n, np.nan) for _, d in self._rest_tilts]) for n in latest.tilts_deg
        }
        max_deg = 5.0 if self._pipeline is None else self._pipeline.config.reanchor_max_deg
        offsets = rest_offsets(series, max_deg=max_deg)
        slipped = [m for m in offsets if "slipped" in m]
        for m in offsets or [KEPT]:  # the flow re-calibrates: no need to start again
            self._tell(sentence(m.replace(" and start again", "") if slipped else m))
        if slipped:
            self._fix(slipped, from_rest=True)

    def _fix(self, problems: list[str], *, from_rest: bool = False) -> None:
        """Wait for the named sensors to be re-clipped (or a click), then re-calibrate."""
        self.state = "fix"
        self._fix_sensors = named_sensors(problems)
        self._fix_from_rest = from_rest
        self._handled = 0
        self._tell(FIX)

    def _watch_handling(self, block: SampleBlock) -> None:
        if self._fix_sensors and block.sensor not in self._fix_sensors:
            return
        if block.gyr_dps is not None:
            g = np.asarray(block.gyr_dps, dtype=float)
            fast = np.sqrt((g * g).sum(axis=1)) > self.handled_dps
        else:
            a = np.asarray(block.acc_g, dtype=float)
            fast = np.abs(np.sqrt((a * a).sum(axis=1)) - 1.0) > HANDLED_ACC_G
        self._handled += int(np.count_nonzero(fast))
        if self._handled >= self.handled_samples:
            self._recalibrate(self._fix_sensors, reason=f"re-clipped: {block.sensor}")

    def _recalibrate(self, relearn: set[str], *, reason: str) -> None:
        recalibrate = getattr(self._session, "recalibrate", None)
        if callable(recalibrate):  # the session calls on_recalibrate when it applies it
            recalibrate(relearn=sorted(relearn), reason=reason)
            self._handled = -(10**9)  # once per fix

    def _axes_ready(self) -> bool:
        """After a recalibration: every flexion axis carried over (no practice needed)."""
        pipe = self._pipeline
        return bool(self.recalibrations and pipe is not None and pipe.tilt.established.all())

    # --- helpers ------------------------------------------------------------
    def _tell(self, text: str) -> None:
        self.said.append(text)
        self.say(text)

    def _resting(self, time_s: float) -> bool:
        end = self._last_end
        return not self._in_rep and end is not None and time_s - end > self.rest_s

    def _anchors(self) -> list[tuple[float, bool]]:
        return [] if self._pipeline is None else list(self._pipeline.neutral.anchors)

    def _neutral_s(self) -> float:
        return 2.0 if self._pipeline is None else self._pipeline.config.neutral_s

    def _neutral_window(self) -> dict[str, np.ndarray]:
        """The raw accelerometer samples of the neutral stretch, per sensor."""
        anchors = self._anchors()
        if not self._acc or not anchors:
            return {}
        t_end = anchors[0][0]
        out = {}
        for name, blocks in self._acc.items():
            t = np.concatenate([b[0] for b in blocks])
            a = np.concatenate([b[1] for b in blocks])
            sel = (t >= t_end - self._neutral_s()) & (t <= t_end)
            if sel.any():
                out[name] = a[sel]
        return out
