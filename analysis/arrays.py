"""Index searches on 1-D arrays that the per-chunk stages run thousands of times a session:
ndarray methods (no numpy wrapper) and the NaN-aware search only when a NaN is there."""

from __future__ import annotations

import math

import numpy as np


def first_true(mask: np.ndarray) -> int:
    """Index of the first True in ``mask``, or -1."""
    if not len(mask):
        return -1
    i = int(mask.argmax())
    return i if mask[i] else -1


def nanargmax(x: np.ndarray) -> int:
    """``np.nanargmax`` of a non-empty 1-D array, or -1 when every value is NaN. Plain
    ``argmax`` (a NaN would win it) unless it lands on a NaN: most calls, much cheaper."""
    i = int(x.argmax())
    if not math.isnan(x[i]):
        return i
    return -1 if np.isnan(x).all() else int(np.nanargmax(x))


def nanargmin(x: np.ndarray) -> int:
    """``np.nanargmin`` of a non-empty 1-D array, or -1 when every value is NaN (as
    ``nanargmax``)."""
    i = int(x.argmin())
    if not math.isnan(x[i]):
        return i
    return -1 if np.isnan(x).all() else int(np.nanargmin(x))
