"""Arrays with free columns before them: a stage that prepends a few held samples to each
block (ECG removal and the raw input in step with it hold back its `delay`) writes them
there instead of joining a copy of the whole block."""

from __future__ import annotations

import numpy as np


def with_room(shape: tuple[int, int], room: int) -> np.ndarray:
    """An empty float64 array of `shape` (channels, n) with `room` columns before it: the
    last n columns of a (channels, room + n) array."""
    rows, n = shape
    return np.empty((rows, room + n))[:, room:]


def widened(view: np.ndarray, columns: int) -> np.ndarray:
    """The `columns` before `view` (channels, n) and `view` itself: a view of the array that
    `view` is the tail of (`with_room`), which must have that many before it."""
    wide = view.base
    assert wide is not None and wide.ndim == 2 and wide.shape[0] == view.shape[0]
    room = wide.shape[1] - view.shape[1]
    assert columns <= room and np.may_share_memory(wide[:, room:], view)
    return wide[:, room - columns :]
