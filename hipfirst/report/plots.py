"""Figures of a review (matplotlib, headless): traces, lumbopelvic loops, per-rep bars."""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis.results import RepResult, SessionReview
from hipfirst.report.words import SHORT, rep_unchecked, verdict

FLAG_COLOUR = "#d62728"
OK_COLOUR = "#2ca02c"
UNSURE_COLOUR = "#7f7f7f"
HIP_COLOUR = "#1f77b4"
LUMBAR_COLOUR = "#ff7f0e"
ROW_SPAN_S = 60.0
"""One trace row covers about this much time, so a rep stays a few centimetres wide."""
MAX_ROWS = 6
MAX_BARS = 60
MAX_MARKED_PER_ROW = 20
LABEL_BOX = {"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.0}
MAX_POINTS = 6000
"""Per trace row; more points than pixels only slow the PNG down."""


def png(fig: Figure, *, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _colour(rep: RepResult, complete: bool) -> str:
    if rep.flags:
        return FLAG_COLOUR
    return OK_COLOUR if complete and not rep_unchecked(rep) else UNSURE_COLOUR


def _at(t: float, time_s: np.ndarray, y: np.ndarray) -> float:
    return float(np.interp(t, time_s, y))


def traces(review: SessionReview, *, complete: bool = True) -> Figure:
    """Hip and lumbar angle over the session in rows of about a minute; reps shaded (red =
    flagged), onsets marked (▲ hips start, ▼ back starts). ``complete``: every check could
    run (else clean reps are grey, not green)."""
    a = review.angles
    t = a.time_s
    shown = np.zeros(len(t), dtype=bool)
    for v in (a.hip_deg, a.lumbar_deg, *a.tilts_deg.values()):
        if v is not None:
            shown |= np.isfinite(v)
    t0, t1 = (float(t[shown][0]), float(t[shown][-1])) if shown.any() else (0.0, 1.0)
    rows = max(1, min(MAX_ROWS, math.ceil((t1 - t0) / ROW_SPAN_S - 0.25)))
    span = (t1 - t0) / rows
    fig, axes = plt.subplots(rows, 1, figsize=(11, 1.2 + 2.6 * rows), squeeze=False)
    series: list[tuple[np.ndarray, str, str, str]] = []
    if a.hip_deg is not None:
        series.append((a.hip_deg, HIP_COLOUR, "-", "hip flexion"))
    elif "sacrum" in a.tilts_deg:
        series.append((a.tilts_deg["sacrum"], UNSURE_COLOUR, "--", "pelvis tilt (no hip angle)"))
    if a.lumbar_deg is not None:
        series.append((a.lumbar_deg, LUMBAR_COLOUR, "-", "lumbar flexion (+ round, − arch)"))
    if "thigh" in a.tilts_deg and a.hip_deg is not None:  # a squatted rep shows here
        series.append((a.tilts_deg["thigh"], "#8c564b", ":", "thigh tilt (knee bend shows here)"))
    if not series:  # lumbar + thigh only: the trunk-to-thigh angle the reps come from
        styles = ((UNSURE_COLOUR, "--"), ("#8c564b", ":"), ("#9467bd", "-."))  # told apart
        for (name, v), (colour, ls) in zip(a.tilts_deg.items(), styles, strict=False):
            series.append((v, colour, ls, f"{name} tilt"))
    finite = [v[np.isfinite(v)] for v, *_ in series]
    lo = min((float(f.min()) for f in finite if f.size), default=-5.0)
    hi = max((float(f.max()) for f in finite if f.size), default=5.0)
    label_every = max(1, math.ceil(len(review.reps) / (12 * rows)))
    dense = len(review.reps) > MAX_MARKED_PER_ROW * rows  # markers would only blur the trace
    for k, ax in enumerate(axes[:, 0]):
        a_lo, a_hi = t0 + k * span, t0 + (k + 1) * span
        sel = np.flatnonzero((t >= a_lo - 0.5) & (t <= a_hi + 0.5))
        sel = sel[:: max(1, len(sel) // MAX_POINTS)]
        for v, colour, ls, label in series:
            ax.plot(t[sel], v[sel], lw=1.1, color=colour, ls=ls, label=label)
        for r in review.reps:
            if r.end_s < a_lo or r.start_s > a_hi:
                continue
            mid = (r.start_s + r.end_s) / 2
            label = a_lo <= mid < a_hi and (r.index - 1) % label_every == 0
            _shade_rep(ax, review, r, _colour(r, complete), label=label, onsets=not dense)
        ax.set_xlim(a_lo, a_hi)
        ax.set_ylim(lo - 0.08 * (hi - lo) - 1, hi + 0.08 * (hi - lo) + 1)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylabel("angle (°)")
        ax.grid(alpha=0.25, lw=0.5)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    axes[0, 0].set_title(
        "Angles from the standing posture (0°). Reps shaded: red = flagged, "
        + ("green = clean" if complete else "grey = no fault seen")
        + ("; ▼ back starts moving" if a.lumbar_deg is not None else "")
        + ("; ▲ hips start moving" if a.hip_deg is not None else ""),
        fontsize=10,
        loc="left",
        pad=18,
    )
    fig.tight_layout()
    return fig


def _shade_rep(
    ax: Axes, review: SessionReview, r: RepResult, colour: str, *, label: bool, onsets: bool
) -> None:
    a = review.angles
    ax.axvspan(r.start_s, r.end_s, color=colour, alpha=0.13, lw=0)
    if label:
        text = str(r.index)
        if r.flags and len(review.reps) <= 12:
            text += " " + ", ".join(SHORT.get(f, f) for f in r.flags)
        ax.text(
            (r.start_s + r.end_s) / 2,
            1.01,
            text,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7.5,
            color=colour,
            fontweight="bold" if r.flags else "normal",
        )
    if not onsets:
        return
    if a.lumbar_deg is not None and r.lumbar_onset_s is not None:
        y = _at(r.lumbar_onset_s, a.time_s, a.lumbar_deg)
        first = "lumbar_first" in r.flags
        ax.plot(
            [r.lumbar_onset_s],
            [y],
            marker="v",
            ls="",
            ms=8 if first else 5,
            color=FLAG_COLOUR if first else LUMBAR_COLOUR,
            mec="black" if first else LUMBAR_COLOUR,
            mew=0.6,
        )
    if a.hip_deg is not None and r.hip_onset_s is not None:
        y = _at(r.hip_onset_s, a.time_s, a.hip_deg)
        ax.plot([r.hip_onset_s], [y], marker="^", ls="", ms=5, color=HIP_COLOUR)


def loops(review: SessionReview, *, early_frac: float = 0.15, max_reps: int = 24) -> Figure | None:
    """Lumbar vs hip angle per rep (the lumbopelvic rhythm). A hip-led rep runs right along
    the hip axis first; a back-first rep climbs inside the grey early-descent band before it
    moves right. ▼/▲ mark where the back / the hips started."""
    a = review.angles
    if a.hip_deg is None or a.lumbar_deg is None or not review.reps:
        return None
    hip, lum, t = a.hip_deg, a.lumbar_deg, a.time_s
    reps = pick_reps(review.reps, max_reps=max_reps)
    cols = min(4, len(reps))
    nrows = math.ceil(len(reps) / cols)
    fig, axes = plt.subplots(
        nrows, cols, figsize=(2.9 * cols, 2.5 * nrows + 0.9), squeeze=False, sharey=True
    )
    for ax in axes.flat[len(reps) :]:
        ax.axis("off")
    ends = {r.index: r.end_s for r in review.reps}
    for ax, r in zip(axes.flat, reps, strict=False):
        starts = [x for x in (r.start_s, r.hip_onset_s, r.lumbar_onset_s) if x is not None]
        # from just before the first onset, but never back into the previous rep
        t_from = max(min(starts) - 0.3, ends.get(r.index - 1, -np.inf))
        base = (t >= t_from) & (t <= t_from + 0.1)
        h0 = float(np.nanmedian(hip[base])) if base.any() else _at(t_from, t, hip)
        l0 = float(np.nanmedian(lum[base])) if base.any() else _at(t_from, t, lum)
        colour = _colour(r, True)
        rom = r.hip_rom_deg or float(np.nanmax(hip[(t >= t_from) & (t <= r.bottom_s)]) - h0)
        ax.axvspan(0, early_frac * rom, color="#bbbbbb", alpha=0.35, lw=0)
        down = (t >= t_from) & (t <= r.bottom_s)
        up = (t > r.bottom_s) & (t <= r.end_s)
        ax.plot(hip[down] - h0, lum[down] - l0, color=colour, lw=1.6)
        ax.plot(hip[up] - h0, lum[up] - l0, color=colour, lw=0.8, ls=":")
        if r.lumbar_onset_s is not None:
            x = _at(r.lumbar_onset_s, t, hip) - h0
            ax.plot([x], [_at(r.lumbar_onset_s, t, lum) - l0], "v", color=LUMBAR_COLOUR, ms=7)
        if r.hip_onset_s is not None:
            x = _at(r.hip_onset_s, t, hip) - h0
            ax.plot([x], [_at(r.hip_onset_s, t, lum) - l0], "^", color=HIP_COLOUR, ms=7)
        ax.axhline(0, color="grey", lw=0.5)
        words = verdict(r, short=True, not_checked=rep_unchecked(r))
        lead = "" if r.lumbar_lead_ms is None else f" ({r.lumbar_lead_ms:+.0f} ms)"
        ax.set_title(f"rep {r.index}: {words}{lead}", fontsize=8.5, color=colour)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.25, lw=0.5)
    fig.supxlabel("hip flexion since the rep started (°)", fontsize=9)
    fig.supylabel("lumbar flexion since the rep started (°)", fontsize=9)
    shown = (
        ""
        if len(reps) == len(review.reps)
        else f" ({len(reps)} of {len(review.reps)}, flagged reps first)"
    )
    fig.suptitle(
        f"Which moved first, hips or back? One panel per rep{shown}: descent solid, return "
        "dotted.\n▼ back starts, ▲ hips start. A curve that climbs inside the grey band "
        f"(first {early_frac:.0%} of the hip range) means the back moved before the hips.",
        fontsize=9.5,
        x=0.01,
        ha="left",
    )
    fig.tight_layout()
    return fig


def pick_reps(reps: list[RepResult], *, max_reps: int) -> list[RepResult]:
    """At most ``max_reps`` reps in index order: every flagged rep first, then clean ones."""
    if len(reps) <= max_reps:
        return list(reps)
    chosen = [r for r in reps if r.flags][:max_reps]
    chosen += [r for r in reps if not r.flags][: max_reps - len(chosen)]
    return sorted(chosen, key=lambda r: r.index)


def bars(
    review: SessionReview,
    *,
    lead_ms: float,
    early_deg: float,
    flexion_deg: float,
    extension_deg: float,
) -> Figure | None:
    """Per rep: lumbar lead (ms) and lumbar peak flexion/extension (°), with the thresholds."""
    reps = review.reps
    if not reps or review.angles.lumbar_deg is None:
        return None
    has_lead = any(r.lumbar_lead_ms is not None for r in reps)
    idx = np.array([r.index for r in reps])
    fig, axes = plt.subplots(1, 2 if has_lead else 1, figsize=(11 if has_lead else 6, 3.2))
    axes = np.atleast_1d(axes)
    if has_lead:
        ax = axes[0]
        lead = np.array([np.nan if r.lumbar_lead_ms is None else r.lumbar_lead_ms for r in reps])
        colours = [FLAG_COLOUR if "lumbar_first" in r.flags else UNSURE_COLOUR for r in reps]
        _per_rep(ax, idx, lead, colours)
        ax.axhline(lead_ms, color=FLAG_COLOUR, ls="--", lw=0.9)
        ax.text(
            0.99,
            lead_ms,
            f" {lead_ms:g} ms: back first if the back also moved ≥ {early_deg:g}° early",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=7.5,
            color=FLAG_COLOUR,
            bbox=LABEL_BOX,
            zorder=5,
        )
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(
            "Back lead per rep (ms): above 0 = the back moved first", fontsize=9.5, loc="left"
        )
        _rep_axis(ax, idx)
    ax = axes[-1]
    peak = np.array([np.nan if r.lumbar_peak_deg is None else r.lumbar_peak_deg for r in reps])
    low = np.array([np.nan if r.lumbar_min_deg is None else r.lumbar_min_deg for r in reps])
    _per_rep(
        ax,
        idx,
        np.maximum(peak, 0.0),
        [FLAG_COLOUR if "lumbar_flexion" in r.flags else LUMBAR_COLOUR for r in reps],
        label="rounding (flexion)",
    )
    _per_rep(
        ax,
        idx,
        np.minimum(low, 0.0),
        [FLAG_COLOUR if "lumbar_extension" in r.flags else "#9467bd" for r in reps],
        label="arching (extension)",
    )
    for y, what in ((flexion_deg, "rounding"), (extension_deg, "arching")):
        ax.axhline(y, color=FLAG_COLOUR, ls="--", lw=0.9)
        ax.text(
            0.99,
            y,
            f" {what} flagged beyond {y:+g}°",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom" if y > 0 else "top",
            fontsize=7.5,
            color=FLAG_COLOUR,
            bbox=LABEL_BOX,
            zorder=5,
        )
    top = max(flexion_deg, float(np.nanmax(peak, initial=0.0))) * 1.25
    bottom = min(extension_deg, float(np.nanmin(low, initial=0.0))) * 1.35
    ax.set_ylim(bottom, top)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title(
        "Lower back per rep (°): most rounding up, most arching down", fontsize=9.5, loc="left"
    )
    ax.legend(loc="upper left", fontsize=7.5, framealpha=0.9)
    _rep_axis(ax, idx)
    fig.tight_layout()
    return fig


def _per_rep(
    ax: Axes, idx: np.ndarray, y: np.ndarray, colours: list[str], *, label: str | None = None
) -> None:
    """Bars for a set; dots once bars would be thinner than a line (long sessions).
    A rep whose value was not measured gets nothing, not a zero."""
    ok = np.isfinite(y)
    cs = [c for c, k in zip(colours, ok, strict=True) if k]
    if len(idx) <= MAX_BARS:
        ax.bar(idx[ok], y[ok], width=0.7, color=cs, label=label)
    else:
        ax.scatter(idx[ok], y[ok], s=7, c=cs, label=label, linewidths=0)


def _rep_axis(ax: Axes, idx: np.ndarray) -> None:
    ax.set_xlabel("rep")
    if len(idx) <= 12:  # every rep its own tick (one rep got ticks 0.64 ... 1.36)
        ax.set_xticks(idx)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
    ax.grid(axis="y", alpha=0.25, lw=0.5)
