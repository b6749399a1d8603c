"""Live session: sensors (connection manager) -> streaming pipeline -> events, hooks, recording."""

from hipfirst.live.session import LiveHooks, LiveSession, LiveSummary, Recorder

__all__ = ["LiveHooks", "LiveSession", "LiveSummary", "Recorder"]
