"""Report plots: per-rep axes name each rep."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from hipfirst.report.plots import _rep_axis


def test_per_rep_axes_tick_each_rep() -> None:
    """A one-rep session's bar chart was labelled 0.64 ... 1.36."""
    for idx in ([1], [1, 2, 3], list(range(1, 13))):
        fig, ax = plt.subplots()
        ax.bar(idx, np.ones(len(idx)))
        _rep_axis(ax, np.array(idx))
        fig.canvas.draw()
        assert list(ax.get_xticks()) == idx
        plt.close(fig)
