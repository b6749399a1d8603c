"""Presenting a ``SessionReview``: plain-words verdicts, tables, CSV, plots, HTML."""
