"""Walk a recorded session in time blocks, as its samples would arrive live."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from analysis.session import Session


def in_blocks(session: Session, step_s: float) -> Iterator[tuple[float, list[tuple[str, slice]]]]:
    """At ``t`` = ``step_s``, 2 ``step_s``, ... until past the last sample: ``(t, parts)``,
    ``parts`` each sensor's samples up to ``t`` not handed out yet (empty ones left out)."""
    t_end = max(float(st.time_s[-1]) for st in session.sensors.values())
    cur = dict.fromkeys(session.sensors, 0)
    k = 0
    while True:
        k += 1
        t = k * step_s
        parts = []
        for n, st in session.sensors.items():
            j = int(np.searchsorted(st.time_s, t, side="right"))
            if j > cur[n]:
                parts.append((n, slice(cur[n], j)))
                cur[n] = j
        yield t, parts
        if t >= t_end:
            return
