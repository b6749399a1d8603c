"""Inclination accuracy of the causal orientation stage on BROAD (optical ground truth).

For each trial in ``../shared/data/broad/`` (BROAD, Laidig et al. 2021, CC BY 4.0; see
that folder's README: one IMU at 285.7 Hz, already converted to g and °/s, with the
optical truth ``up_*`` in the sensor frame) the estimator of ``analysis.orientation``
runs causally over the IMU samples, and the inclination error is the angle between its
up direction and the truth, RMS over the trial's scored ``movement == 1`` samples with
truth present. The ``offline`` column is the non-causal estimate the review uses
(``offline_orientation.smoothed_up``: VQF's offline variant). Prints per-trial RMSE, the
mean over trials and the run time.

``--drop-ms MS`` also removes a run of MS ms of samples every ``--every-s`` seconds (at
seeded random places, as lost BLE packets) and compares the default estimator with
always bridging the gaps and always restarting after them.

Run: ``.venv/bin/python bench/broad.py [--drop-ms 150]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from analysis.offline_orientation import smoothed_up
from analysis.orientation import UpEstimator

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "broad"


@dataclass(frozen=True)
class Trial:
    name: str
    time_s: np.ndarray
    acc_g: np.ndarray
    gyr_dps: np.ndarray
    up_true: np.ndarray
    scored: np.ndarray

    @property
    def rate_hz(self) -> float:
        return 1.0 / float(np.median(np.diff(self.time_s)))


def load_trial(path: Path) -> Trial:
    tab = pacsv.read_csv(path)
    col = {n: tab.column(n).to_numpy(zero_copy_only=False) for n in tab.column_names}

    def xyz(prefix: str, unit: str = "") -> np.ndarray:
        return np.column_stack([col[f"{prefix}_{a}{unit}"] for a in "xyz"]).astype(float)

    truth = xyz("up")
    scored = (np.asarray(col["movement"]) == 1) & np.isfinite(truth).all(axis=1)
    return Trial(
        path.name.removesuffix(".csv.gz"),
        np.asarray(col["time_s"], dtype=float),
        xyz("acc", "_g"),
        xyz("gyr", "_dps"),
        truth,
        scored,
    )


def inclination_rmse_deg(up: np.ndarray, truth: np.ndarray) -> float:
    cos = np.sum(up * truth, axis=1) / np.linalg.norm(truth, axis=1)
    return float(np.sqrt(np.mean(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) ** 2)))


def trial_rmse(path: Path, *, offline: bool = False, **estimator: float) -> float:
    """Inclination RMSE (°) of one trial, the estimator run causally over all its samples
    (``offline``: the review's non-causal estimate instead)."""
    tr = load_trial(path)
    if offline:
        up = smoothed_up(tr.time_s, tr.acc_g, tr.gyr_dps, rate_hz=tr.rate_hz)
    else:
        up = UpEstimator(rate_hz=tr.rate_hz, has_gyro=True, **estimator).update(
            tr.time_s, tr.acc_g, tr.gyr_dps
        )
    return inclination_rmse_deg(up[tr.scored], tr.up_true[tr.scored])


def trials() -> list[Path]:
    return sorted(DATA.glob("*.csv.gz"))


def broad_inclination_rmse() -> str:
    """One-line summary for ``bench/accuracy.py``."""
    found = trials()
    if not found:
        return f"no BROAD trials in {DATA}"
    errs = [trial_rmse(p) for p in found]
    off = [trial_rmse(p, offline=True) for p in found]
    return (
        f"{np.mean(errs):.2f} deg mean over {len(errs)} trials (max {np.max(errs):.2f}); "
        f"offline (the review's) {np.mean(off):.2f} (max {np.max(off):.2f})"
    )


def _dropped(tr: Trial, drop_ms: float, every_s: float, seed: int) -> np.ndarray:
    n, g = len(tr.time_s), round(drop_ms * 1e-3 * tr.rate_hz)
    keep = np.ones(n, dtype=bool)
    count = int((tr.time_s[-1] - tr.time_s[0]) / every_s)
    for s in np.random.default_rng(seed).choice(n - g, size=count, replace=False):
        keep[s : s + g] = False
    return keep


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drop-ms", type=float, default=0.0, help="lose runs of this many ms")
    ap.add_argument("--every-s", type=float, default=2.0, help="one lost run per this many s")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    found = trials()
    if not found:
        print(f"no BROAD trials in {DATA}")
        return
    variants: dict[str, dict[str, float]] = {"default": {}, "offline": {}}
    if args.drop_ms > 0:
        variants |= {"bridge": {"max_fill_s": 1e9}, "restart": {"max_fill_s": 0.0}}
        print(f"{args.drop_ms:g} ms of samples lost every {args.every_s:g} s on average")
    print(f"{'trial':45s}" + "".join(f"{v:>10s}" for v in variants) + "  (inclination RMSE, deg)")
    errs: dict[str, list[float]] = {v: [] for v in variants}
    for i, p in enumerate(found):
        tr = load_trial(p)
        keep = (
            _dropped(tr, args.drop_ms, args.every_s, seed=i)
            if args.drop_ms > 0
            else np.ones(len(tr.time_s), dtype=bool)
        )
        sel = tr.scored[keep]
        for v, kw in variants.items():
            if v == "offline":
                up = smoothed_up(
                    tr.time_s[keep], tr.acc_g[keep], tr.gyr_dps[keep], rate_hz=tr.rate_hz
                )
            else:
                est = UpEstimator(rate_hz=tr.rate_hz, has_gyro=True, **kw)
                up = est.update(tr.time_s[keep], tr.acc_g[keep], tr.gyr_dps[keep])
            errs[v].append(inclination_rmse_deg(up[sel], tr.up_true[keep][sel]))
        print(f"{tr.name:45s}" + "".join(f"{errs[v][-1]:10.2f}" for v in variants))
    print(f"{'mean':45s}" + "".join(f"{np.mean(errs[v]):10.2f}" for v in variants))
    print(f"{'max':45s}" + "".join(f"{np.max(errs[v]):10.2f}" for v in variants))
    print(f"{len(found)} trials, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
