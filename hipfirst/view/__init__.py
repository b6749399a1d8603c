"""The live terminal view (rich) and its quiet, line-per-event counterpart."""

from hipfirst.view.dashboard import Dashboard, DashboardState
from hipfirst.view.quiet import QuietLines

__all__ = ["Dashboard", "DashboardState", "QuietLines"]
