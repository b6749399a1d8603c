"""The index searches in ``analysis.arrays`` agree with numpy's own on every kind of input
the stages hand them: NaN first, NaN last, ties, all NaN, empty masks."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.arrays import first_true, nanargmax, nanargmin


@pytest.mark.parametrize("seed", range(40))
def test_nan_searches_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=int(rng.integers(1, 30))).astype(float)  # ties on purpose
    x[rng.random(x.size) < 0.3] = np.nan
    if np.isnan(x).all():
        assert nanargmax(x) == -1 and nanargmin(x) == -1
    else:
        assert nanargmax(x) == int(np.nanargmax(x))
        assert nanargmin(x) == int(np.nanargmin(x))


def test_nan_searches_when_every_value_is_nan() -> None:
    assert nanargmax(np.full(5, np.nan)) == -1
    assert nanargmin(np.full(1, np.nan)) == -1


def test_nan_at_the_extreme_position_is_skipped() -> None:
    assert nanargmax(np.array([np.nan, 1.0, 2.0, 2.0])) == 2
    assert nanargmin(np.array([0.0, np.nan, -1.0])) == 2


def test_first_true() -> None:
    assert first_true(np.zeros(0, bool)) == -1
    assert first_true(np.zeros(7, bool)) == -1
    assert first_true(np.array([False, False, True, True])) == 2
    assert first_true(np.array([True])) == 0
