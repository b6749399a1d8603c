"""Truth file of a simulated session: ``NAME.truth.json`` next to the session CSV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import InputError
from analysis.sim.config import SimConfig, TruthAngles, TruthRep

TRUTH_FORMAT = "hipfirst-sim-truth/1"


def truth_path(csv_path: str | Path) -> Path:
    p = Path(csv_path)
    name = p.name.removesuffix(".gz").removesuffix(".csv")
    return p.with_name(name + ".truth.json")


def write_truth(
    path: str | Path, *, config: SimConfig, reps: list[TruthRep], angles: TruthAngles
) -> Path:
    """Rep times, onsets, labels and the true angle series (100 Hz, 0.01° resolution)."""
    data: dict[str, Any] = {
        "format": TRUTH_FORMAT,
        "config": config.to_json(),
        "reps": [r.to_json() for r in reps],
        "angles": {
            "time_s": np.round(angles.time_s, 4).tolist(),
            **{
                k: np.round(getattr(angles, k), 2).tolist()
                for k in ("hip_deg", "lumbar_deg", "trunk_deg", "pelvis_deg", "thigh_deg")
            },
        },
    }
    p = Path(path)
    p.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    return p


def read_truth(path: str | Path) -> tuple[list[TruthRep], TruthAngles]:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        reps = [TruthRep(**{**r, "faults": tuple(r["faults"])}) for r in data["reps"]]
        a = data["angles"]
        angles = TruthAngles(
            *(
                np.asarray(a[k], dtype=float)
                for k in ("time_s", "hip_deg", "lumbar_deg", "trunk_deg", "pelvis_deg", "thigh_deg")
            )
        )
    except OSError as exc:
        raise InputError(str(p), f"cannot read truth file ({exc.strerror})") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(str(p), f"not a hipfirst truth file ({exc})") from exc
    if data.get("format") != TRUTH_FORMAT:
        raise InputError(str(p), f"unknown truth format {data.get('format')!r}", field="format")
    return reps, angles
