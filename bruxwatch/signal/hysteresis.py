"""Double-threshold (hysteresis) switching of a per-sample "above threshold" state.

A run switches on at a sample where `on` holds and stays on while `stay` holds (`on` implies
`stay`: the onset threshold is the higher one). The work is done per run of `stay`, found
with numpy, not per sample; the state is carried across chunks, so any chunking gives the
same result.
"""

from __future__ import annotations

import numpy as np


class Hysteresis:
    """On at `on`, off where `stay` fails; state kept between chunks."""

    def __init__(self) -> None:
        self.inside = False

    def reset(self) -> None:
        self.inside = False

    def process(self, on: np.ndarray, stay: np.ndarray) -> np.ndarray:
        """(n,) bool: inside a run at each sample. `on` and `stay` are (n,) bool."""
        n = on.shape[0]
        if n == 0:
            return on.copy()
        if not self.inside and not on.any():  # at rest: the usual case, nothing switches on
            return on.copy()
        edges = np.flatnonzero(stay[1:] != stay[:-1]) + 1
        bounds = np.concatenate(([0], edges, [n])).tolist()
        firsts = np.flatnonzero(on)  # where a run may start
        inside = np.zeros(n, dtype=bool)
        for k in range(0 if stay[0] else 1, len(bounds) - 1, 2):  # the runs of `stay`
            lo, hi = bounds[k], bounds[k + 1]
            if lo == 0 and self.inside:
                start = 0
            else:
                i = int(np.searchsorted(firsts, lo))
                if i == firsts.shape[0] or firsts[i] >= hi:
                    continue
                start = int(firsts[i])
            inside[start:hi] = True
        self.inside = bool(inside[-1])
        return inside
