"""Regenerate the two pipeline-level corpus files (valid CSV, unusable session).

    .venv/bin/python tests/corpus/make_pipeline_cases.py

no_still_start.csv: lumbar+sacrum at 50 Hz, swaying 20° at 0.5 Hz from the first sample.
too_short.csv:      lumbar+sacrum at 50 Hz, standing still for 1.0 s only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.session import SensorStream, Session
from analysis.session_csv import write_session_csv

HERE = Path(__file__).parent


def tilt_stream(name: str, t: np.ndarray, tilt_deg: np.ndarray) -> SensorStream:
    """A sensor clipped upright, tilting about its y axis by ``tilt_deg``."""
    th = np.radians(tilt_deg)
    acc = np.column_stack([-np.sin(th), np.zeros_like(th), np.cos(th)])
    gyr = np.column_stack([np.zeros_like(th), np.gradient(tilt_deg, t), np.zeros_like(th)])
    return SensorStream(name, t, acc, gyr)


def main() -> None:
    t = np.arange(0.0, 6.0, 0.02)
    sway = 20.0 * np.sin(2 * np.pi * 0.5 * t)
    moving = Session(
        {n: tilt_stream(n, t + k * 0.003, sway) for k, n in enumerate(("lumbar", "sacrum"))}
    )
    write_session_csv(moving, HERE / "no_still_start.csv")
    t = np.arange(0.0, 1.0, 0.02)
    still = Session(
        {n: tilt_stream(n, t + k * 0.003, 0 * t) for k, n in enumerate(("lumbar", "sacrum"))}
    )
    write_session_csv(still, HERE / "too_short.csv")


if __name__ == "__main__":
    main()
