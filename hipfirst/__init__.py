"""hipfirst app: command line and live session."""

__version__ = "0.1.0"
