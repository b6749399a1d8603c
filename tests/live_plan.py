"""A live-session hook that acts at planned session times, as a lifter would (press a
button, ...), shared by the button tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from analysis.stream import LatestAngles
from hipfirst.live import LiveHooks, LiveSession

T = TypeVar("T")


class Planned(LiveHooks, Generic[T]):
    """``plan``: ``(session time, what)``; once the live angles reach a time, ``act(what)``
    is started. ``sent`` records the session clock (``manager.now_s()``) of each action;
    ``tasks`` the started coroutines (await them before the test ends)."""

    def __init__(self, plan: list[tuple[float, T]]) -> None:
        self.plan = sorted(plan, key=lambda p: p[0])
        self.session: LiveSession | None = None
        self.sent: list[tuple[float, T]] = []
        self.tasks: list[asyncio.Task[Any]] = []

    def act(self, what: T) -> Coroutine[Any, Any, object]:
        raise NotImplementedError

    def attach(self, session: object) -> None:
        assert isinstance(session, LiveSession)
        self.session = session

    def on_angles(self, latest: LatestAngles) -> None:
        while self.plan and latest.time_s >= self.plan[0][0]:
            _, what = self.plan.pop(0)
            assert self.session is not None
            self.sent.append((self.session.manager.now_s(), what))
            self.tasks.append(asyncio.ensure_future(self.act(what)))
