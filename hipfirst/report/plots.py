"""Figures of a review (matplotlib, headless): traces, lumbopelvic loops, per-rep bars."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from analysis.results import SessionReview

FLAG_COLOUR = "#d62728"
OK_COLOUR = "#2ca02c"


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def traces(review: SessionReview) -> Figure:
    """Hip and lumbar angle over the session, reps shaded (red = flagged)."""
    a = review.angles
    fig, ax = plt.subplots(figsize=(11, 3.8))
    if a.hip_deg is not None:
        ax.plot(a.time_s, a.hip_deg, lw=1.0, color="#1f77b4", label="hip flexion")
    if a.lumbar_deg is not None:
        ax.plot(a.time_s, a.lumbar_deg, lw=1.0, color="#ff7f0e", label="lumbar flexion")
    for r in review.reps:
        colour = FLAG_COLOUR if r.flags else OK_COLOUR
        ax.axvspan(r.start_s, r.end_s, color=colour, alpha=0.12, lw=0)
        ax.text(
            (r.start_s + r.end_s) / 2,
            1.0,
            str(r.index),
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color=colour,
        )
        if "lumbar_first" in r.flags and r.lumbar_onset_s is not None and a.lumbar_deg is not None:
            y = float(np.interp(r.lumbar_onset_s, a.time_s, a.lumbar_deg))
            ax.plot([r.lumbar_onset_s], [y], marker="v", color=FLAG_COLOUR, ms=7)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("angle (°, 0 = standing)")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(
        "Hip and lumbar angles (reps shaded; red = flagged; ▼ = back moved first)",
        fontsize=10,
        loc="left",
        pad=16,
    )
    return fig


def loops(review: SessionReview, *, max_reps: int = 24) -> Figure | None:
    """Lumbar vs hip angle per rep (the lumbopelvic loop): a hip-led rep runs along the
    hip axis first; a back-first rep climbs the lumbar axis before moving right."""
    a = review.angles
    if a.hip_deg is None or a.lumbar_deg is None or not review.reps:
        return None
    reps = review.reps[:max_reps]
    cols = min(6, len(reps))
    rows = int(np.ceil(len(reps) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.1 * cols, 2.0 * rows), squeeze=False, sharex=True, sharey=True
    )
    for ax in axes.flat[len(reps) :]:
        ax.axis("off")
    for ax, r in zip(axes.flat, reps, strict=False):
        sel = (a.time_s >= r.start_s - 0.3) & (a.time_s <= r.bottom_s)
        h0 = np.nanmedian(a.hip_deg[sel][:10]) if sel.any() else 0.0
        l0 = np.nanmedian(a.lumbar_deg[sel][:10]) if sel.any() else 0.0
        colour = FLAG_COLOUR if r.flags else OK_COLOUR
        ax.plot(a.hip_deg[sel] - h0, a.lumbar_deg[sel] - l0, color=colour, lw=1.2)
        back = (a.time_s > r.bottom_s) & (a.time_s <= r.end_s)
        ax.plot(a.hip_deg[back] - h0, a.lumbar_deg[back] - l0, color=colour, lw=0.6, ls=":")
        ax.axhline(0, color="grey", lw=0.4)
        ax.set_title(f"rep {r.index}" + (" ✗" if r.flags else ""), fontsize=8, color=colour)
        ax.tick_params(labelsize=7)
    fig.supxlabel("hip flexion from the top (°)", fontsize=8)
    fig.supylabel("lumbar (°)", fontsize=8)
    fig.suptitle(
        "Lumbopelvic loop per rep: descent solid, ascent dotted", fontsize=10, x=0.02, ha="left"
    )
    fig.tight_layout()
    return fig


def bars(review: SessionReview, *, lead_ms: float, flexion_deg: float) -> Figure | None:
    reps = review.reps
    if not reps or all(r.lumbar_lead_ms is None for r in reps):
        return None
    idx = [r.index for r in reps]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.0))
    lead = [r.lumbar_lead_ms or 0.0 for r in reps]
    ax1.bar(
        idx, lead, color=[FLAG_COLOUR if "lumbar_first" in r.flags else "#7f7f7f" for r in reps]
    )
    ax1.axhline(lead_ms, color=FLAG_COLOUR, ls="--", lw=0.8)
    ax1.set_title("lumbar lead per rep (ms; + = back first)", fontsize=10, loc="left")
    ax1.set_xlabel("rep")
    peak = [r.lumbar_peak_deg or 0.0 for r in reps]
    ax2.bar(
        idx, peak, color=[FLAG_COLOUR if "lumbar_flexion" in r.flags else "#7f7f7f" for r in reps]
    )
    ax2.axhline(flexion_deg, color=FLAG_COLOUR, ls="--", lw=0.8)
    ax2.set_title("lumbar peak flexion per rep (°)", fontsize=10, loc="left")
    ax2.set_xlabel("rep")
    fig.tight_layout()
    return fig
