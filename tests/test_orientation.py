"""The causal up-direction estimator: exact rotations, chunking, gaps, accel-only, CLI, BROAD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from analysis.orientation import UpEstimator
from analysis.session import SensorStream, Session
from analysis.session_csv import write_session_csv
from hipfirst.cli import main

BROAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "broad"


def rocking(seed: int, *, seconds: float = 30.0, rate: float = 100.0, bias_dps: float = 0.4):
    """A sensor in a random mounting tilting ±40° about a horizontal axis (0.3 Hz), after 3 s
    still; exact specific force (no translation) and gyro with bias and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / rate)
    theta = np.radians(40.0) * np.sin(2 * np.pi * 0.3 * np.clip(t - 3.0, 0, None))
    mount = Rotation.random(random_state=rng)
    seg = Rotation.from_rotvec(theta[:, None] * np.array([0.0, 1.0, 0.0]))
    sensor = seg * mount
    up_true = sensor.inv().apply([0.0, 0.0, 1.0])
    acc = up_true + rng.normal(0, 0.003, (len(t), 3))
    w = np.gradient(theta, t)
    gyr = mount.inv().apply(np.degrees(w)[:, None] * np.array([0.0, 1.0, 0.0]))
    gyr += rng.normal(0, 0.1, gyr.shape) + bias_dps * rng.standard_normal(3)
    return t, acc, gyr, up_true


def incl_err_deg(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(est * truth, axis=1), -1, 1)))


def test_tracks_tilt_from_the_first_sample_in_any_mounting() -> None:
    for seed in range(1300, 1305):
        t, acc, gyr, truth = rocking(seed)
        est = UpEstimator(rate_hz=100.0, has_gyro=True).update(t, acc, gyr)
        err = incl_err_deg(est, truth)
        assert err[:10].max() < 1.0  # starts at gravity, not at the identity
        assert np.sqrt(np.mean(err**2)) < 1.0, seed


def test_gyro_matters_in_motion() -> None:
    t, acc, gyr, truth = rocking(1305)
    # the same motion plus a linear acceleration the accelerometer cannot tell from tilt
    shake = 0.3 * np.sin(2 * np.pi * 1.1 * t)[:, None] * np.array([1.0, 0.0, 0.0])
    acc2 = acc + shake
    with_gyro = incl_err_deg(UpEstimator(rate_hz=100.0, has_gyro=True).update(t, acc2, gyr), truth)
    acc_only = incl_err_deg(UpEstimator(rate_hz=100.0, has_gyro=False).update(t, acc2, None), truth)
    assert np.sqrt(np.mean(with_gyro**2)) < 2.0
    assert np.sqrt(np.mean(acc_only**2)) > 3 * np.sqrt(np.mean(with_gyro**2))


def test_chunks_equal_one_call() -> None:
    t, acc, gyr, _ = rocking(1306, seconds=12.0)
    whole = UpEstimator(rate_hz=100.0, has_gyro=True).update(t, acc, gyr)
    est = UpEstimator(rate_hz=100.0, has_gyro=True)
    rng = np.random.default_rng(0)
    parts, i = [], 0
    while i < len(t):
        j = min(len(t), i + int(rng.integers(1, 40)))
        parts.append(est.update(t[i:j], acc[i:j], gyr[i:j]))
        i = j
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-9)
    # accel-only too
    a1 = UpEstimator(rate_hz=100.0, has_gyro=False).update(t, acc, None)
    e2 = UpEstimator(rate_hz=100.0, has_gyro=False)
    a2 = np.concatenate(
        [e2.update(t[k : k + 7], acc[k : k + 7], None) for k in range(0, len(t), 7)]
    )
    np.testing.assert_allclose(a2, a1, atol=1e-12)


def test_short_gaps_are_bridged_long_gaps_restart_from_gravity() -> None:
    t, acc, gyr, truth = rocking(1307, seconds=20.0)
    keep = np.ones(len(t), dtype=bool)
    keep[800:815] = False  # 150 ms lost mid-movement: bridged
    keep[1200:1300] = False  # 1 s lost: restarted
    est = UpEstimator(rate_hz=100.0, has_gyro=True)
    out = est.update(t[keep], acc[keep], gyr[keep])
    assert est.gaps_filled == 1 and est.restarts == 1
    err = incl_err_deg(out, truth[keep])
    assert np.sqrt(np.mean(err**2)) < 1.5
    # without the bridge the filter would run 15 samples short of the rotation
    naive = UpEstimator(rate_hz=100.0, has_gyro=True, max_fill_s=0.0)
    err_naive = incl_err_deg(naive.update(t[keep], acc[keep], gyr[keep]), truth[keep])
    after = slice(785, 830)
    assert err[after].mean() < err_naive[after].mean()


def test_cli_writes_one_row_per_sample(tmp_path: Path) -> None:
    t, acc, gyr, _ = rocking(1308, seconds=5.0)
    s = Session(
        {
            "lumbar": SensorStream("lumbar", t, acc, gyr),
            "thigh": SensorStream("thigh", t, acc, None),
        }
    )
    src, out = tmp_path / "s.csv", tmp_path / "up.csv"
    write_session_csv(s, src)
    assert main(["orientation", str(src), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "time_s,sensor,up_x,up_y,up_z"
    assert len(lines) == 1 + 2 * len(t)
    v = np.array([[float(x) for x in ln.split(",")[2:]] for ln in lines[1:]])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert main(["orientation", str(tmp_path / "none.csv"), "-o", str(out)]) == 2


@pytest.mark.skipif(not BROAD.exists(), reason="BROAD reference data not present")
def test_broad_slow_rotation_trial_against_optical_truth() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from broad import trial_rmse

    assert trial_rmse(BROAD / "01_undisturbed_slow_rotation_A.csv.gz") < 1.0
