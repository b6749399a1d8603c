"""The history trend plot: share of flagged reps and median lumbar lead per session."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from hipfirst.report.plots import FLAG_COLOUR, HIP_COLOUR, LABEL_BOX, plt, png

if TYPE_CHECKING:
    from hipfirst.commands.history import Row

MAX_LABELS = 16


def _line(ax: object, x: np.ndarray, y: list[float], style: str, **kw: object) -> None:
    """Connect the sessions that have a value; a session without one leaves no gap."""
    y_arr = np.asarray(y, dtype=float)
    ok = np.isfinite(y_arr)
    ax.plot(x[ok], y_arr[ok], style, **kw)  # type: ignore[attr-defined]


def plot_trend(rows: list[Row], *, lead_ms: float = 100.0) -> bytes:
    """Two panels over sessions (oldest left): % of reps flagged (any fault, and back
    first), and the median lumbar lead. Lower is better on both. Returns PNG bytes."""
    n = len(rows)
    x = np.arange(n)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(min(14.0, 4.0 + 0.8 * min(n, MAX_LABELS)), 5.6), sharex=True
    )
    flagged = [100 * r.flagged / r.reps for r in rows]
    first = [np.nan if r.lumbar_first is None else 100 * r.lumbar_first / r.reps for r in rows]
    _line(ax1, x, flagged, "o-", color=FLAG_COLOUR, label="any fault")
    _line(ax1, x, first, "s--", color="#9467bd", label="started from the lower back", ms=5)
    ax1.set_ylim(-5, 105)
    ax1.set_ylabel("reps flagged (%)")
    ax1.legend(loc="best", fontsize=8, framealpha=0.9)
    ax1.set_title(
        "Is the hinge improving? Lower is better on both panels.", loc="left", fontsize=10
    )
    lead = [np.nan if r.median_lead_ms is None else r.median_lead_ms for r in rows]
    _line(ax2, x, lead, "o-", color=HIP_COLOUR)
    ax2.axhline(0, color="black", lw=0.6)
    ax2.axhline(lead_ms, color=FLAG_COLOUR, ls="--", lw=0.8)
    ax2.text(
        0.995,
        lead_ms,
        f"{lead_ms:g} ms back-first threshold",
        transform=ax2.get_yaxis_transform(),
        ha="right",
        va="bottom",
        fontsize=7.5,
        color=FLAG_COLOUR,
        bbox=LABEL_BOX,
    )
    ax2.set_ylabel("median lumbar lead (ms)\n+ = back moved first")
    finite = [v for v in lead if np.isfinite(v)]
    ax2.set_ylim(min([0.0, *finite]) - 30, max([lead_ms, *finite]) + 40)
    step = max(1, math.ceil(n / MAX_LABELS))
    ticks = x[::step]
    ax2.set_xticks(ticks, [f"{rows[i].date[:10]}\n{rows[i].exercise}" for i in ticks], fontsize=7.5)
    ax2.set_xlim(-0.5, n - 0.5)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.25, lw=0.5)
    fig.tight_layout()
    return png(fig)
