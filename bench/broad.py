"""Inclination accuracy of the causal orientation stage on BROAD (optical ground truth).

For each trial in ``../shared/data/broad/`` (CC BY 4.0; see its README) the estimator of
``analysis.orientation`` runs causally over the IMU samples, and the inclination error is
the angle between its up direction and the optical truth ``up_*``, RMS over the trial's
scored ``movement == 1`` samples. Prints per-trial RMSE and the mean over trials.

Run: ``.venv/bin/python bench/broad.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from analysis.orientation import UpEstimator

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "broad"


def trial_rmse(path: Path) -> float:
    tab = pacsv.read_csv(path)
    col = {n: tab.column(n).to_numpy(zero_copy_only=False) for n in tab.column_names}
    t = np.asarray(col["time_s"], dtype=float)
    acc = np.column_stack([col[f"acc_{a}_g"] for a in "xyz"]).astype(float)
    gyr = np.column_stack([col[f"gyr_{a}_dps"] for a in "xyz"]).astype(float)
    truth = np.column_stack([col[f"up_{a}"] for a in "xyz"]).astype(float)
    rate = 1.0 / float(np.median(np.diff(t)))
    est = UpEstimator(rate_hz=rate, has_gyro=True).update(t, acc, gyr)
    scored = (np.asarray(col["movement"]) == 1) & np.isfinite(truth).all(axis=1)
    cos = np.sum(est[scored] * truth[scored], axis=1) / np.linalg.norm(truth[scored], axis=1)
    err = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return float(np.sqrt(np.mean(err**2)))


def trials() -> list[Path]:
    return sorted(DATA.glob("*.csv.gz"))


def broad_inclination_rmse() -> str:
    """One-line summary for ``bench/accuracy.py``."""
    found = trials()
    if not found:
        return f"no BROAD trials in {DATA}"
    errs = [trial_rmse(p) for p in found]
    return f"{np.mean(errs):.2f} deg mean over {len(errs)} trials (max {np.max(errs):.2f})"


def main() -> None:
    t0 = time.perf_counter()
    found = trials()
    if not found:
        print(f"no BROAD trials in {DATA}")
        return
    errs = []
    for p in found:
        e = trial_rmse(p)
        errs.append(e)
        print(f"{p.name.removesuffix('.csv.gz'):45s} {e:5.2f} deg")
    print(f"mean inclination RMSE: {np.mean(errs):.2f} deg over {len(errs)} trials")
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
