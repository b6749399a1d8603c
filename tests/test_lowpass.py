"""The numpy one-pole low-pass against scipy's lfilter (the reference it replaces)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from analysis.lowpass import BLOCK, OnePole


@pytest.mark.parametrize("alpha", [0.005, 0.0476, 0.5, 1.0])
@pytest.mark.parametrize("m", [1, 2, 17, BLOCK, BLOCK + 1, 3 * BLOCK - 5, 10_007])
def test_equals_lfilter_with_carried_state(alpha: float, m: int) -> None:
    rng = np.random.default_rng(m)
    x = rng.normal(0.3, 1.0, (4, m)) + np.linspace(0.0, 5.0, m)  # a drift and noise
    z = rng.normal(0.0, 1.0, (4, 1))
    want, want_z = lfilter([alpha], [1.0, alpha - 1.0], x, axis=1, zi=z)
    got, got_z = OnePole(alpha).filter(x, z)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_z, want_z, rtol=1e-12, atol=1e-12)


def test_chunked_equals_one_pass_and_1d_works() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=5000)
    f = OnePole(0.02)
    whole, z_whole = f.filter(x, np.array([0.4]))
    parts, z = [], np.array([0.4])
    for a, b in zip([0, 1, 3, 70, 200, 1999], [1, 3, 70, 200, 1999, 5000], strict=True):
        y, z = f.filter(x[a:b], z)
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z, z_whole, rtol=1e-12, atol=1e-12)


def test_a_nan_spreads_forwards_only_as_in_lfilter() -> None:
    x = np.ones((2, 100))
    x[1, 40] = np.nan
    z = np.full((2, 1), 0.9)
    want, want_z = lfilter([0.1], [1.0, -0.9], x, axis=1, zi=z)
    got, got_z = OnePole(0.1).filter(x, z)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isfinite(got[1, :40]).all() and np.isnan(got[1, 40:]).all()
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_array_equal(np.isnan(got_z), np.isnan(want_z))


def test_alpha_outside_the_filter_range_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        OnePole(0.0)
