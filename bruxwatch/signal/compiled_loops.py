"""The compiled loops behind `signal.compiled`. This module imports Numba: it is imported only
by `compiled.load`, which falls back to the NumPy/SciPy code without it."""

from __future__ import annotations

import numba
import numpy as np


def _jit(signature: str):
    """Compiled ahead of the first call for `signature`, without the interpreter lock, cached
    on disk by Numba; no fast-math, so the arithmetic is IEEE's, step for step."""
    return numba.njit(signature, nogil=True, cache=True, error_model="numpy", boundscheck=False)


def sos_cascade(sos: np.ndarray, y: np.ndarray, state: np.ndarray) -> None:
    """y (channels, n) C-ordered float64, filtered in place through the sections `sos`
    (sections, 6) with `state` (channels, sections, 2) carried, exactly as
    scipy.signal.sosfilt's loop (transposed direct form II). Channels go two at a time: two
    independent recursions overlap in the processor (about 0.43 s for 7 sections × 2 channels × 8 h
    at 1 kHz, against 0.49 s for SciPy's loop, which takes one channel after the other)."""
    n_channels = y.shape[0]
    for c in range(0, n_channels - 1, 2):
        pair = np.ascontiguousarray(state[c : c + 2].transpose(1, 0, 2))
        _sos_pair(sos, y[c : c + 2], pair)
        state[c : c + 2] = pair.transpose(1, 0, 2)
    if n_channels % 2:
        _sos_single(sos, y[n_channels - 1], state[n_channels - 1])


@_jit("void(float64[:, ::1], float64[:, ::1], float64[:, :, ::1])")
def _sos_pair(sos, y, state):  # pragma: no cover - compiled
    """Two channels y (2, n) in place; state (sections, 2 channels, 2). The channel indices
    are constants here: a loop over channels costs half again as much."""
    n = y.shape[1]
    for i in range(n):
        a = y[0, i]
        b = y[1, i]
        for s in range(sos.shape[0]):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            ya = b0 * a + state[s, 0, 0]
            state[s, 0, 0] = b1 * a - a1 * ya + state[s, 0, 1]
            state[s, 0, 1] = b2 * a - a2 * ya
            yb = b0 * b + state[s, 1, 0]
            state[s, 1, 0] = b1 * b - a1 * yb + state[s, 1, 1]
            state[s, 1, 1] = b2 * b - a2 * yb
            a = ya
            b = yb
        y[0, i] = a
        y[1, i] = b


@_jit("void(float64[:, ::1], float64[::1], float64[:, ::1])")
def _sos_single(sos, y, state):  # pragma: no cover - compiled
    """One channel y (n,) in place; state (sections, 2)."""
    for i in range(y.shape[0]):
        a = y[i]
        for s in range(sos.shape[0]):
            ya = sos[s, 0] * a + state[s, 0]
            state[s, 0] = sos[s, 1] * a - sos[s, 4] * ya + state[s, 1]
            state[s, 1] = sos[s, 2] * a - sos[s, 5] * ya
            a = ya
        y[i] = a


@_jit(
    "void(float64[:, ::1], int64[:, ::1], int64, int64[::1], float64, float64, float64, boolean,"
    " float32[:, ::1])"
)
def moving_sum_of_squares(  # pragma: no cover - compiled
    values, quantized, window, sums, inverse, limit, factor, root, out
):
    """Window sums of quantized squares, as `envelope.ExactMovingSum.process(square=True)`
    (and `MovingRms`'s square root when `root`): quantized (channels, >= window + n) holds the
    last `window` quantized squares ahead and receives this block's after them; sums
    (channels,) is carried; out = sum × factor as float32. The squares are quantized in one
    loop (it vectorizes), the sums run in another."""
    n = values.shape[1]
    for c in range(values.shape[0]):
        row = values[c]
        steps = quantized[c]
        ahead = steps[window : window + n]
        for i in range(n):
            q = (row[i] * row[i]) * inverse
            ahead[i] = np.int64(q if q <= limit else limit)
        total = sums[c]
        result = out[c]
        for i in range(n):
            total += ahead[i] - steps[i]
            mean = np.float32(total * factor)
            result[i] = np.sqrt(mean) if root else mean
        sums[c] = total


@_jit(
    "void(float32[:, ::1], int64[::1], int64[::1], float64[:, ::1], float64[:, ::1], float64[::1],"
    " float64[::1], boolean[:, ::1], boolean, boolean[::1], boolean[::1], float64[::1])"
)
def calibrated_level(  # pragma: no cover - compiled
    envelope,
    starts,
    ends,
    thresholds,
    releases,
    rest,
    scale,
    taking_part,
    all_take_part,
    on,
    stay,
    level,
):
    """The calibrated detection's per-sample work, as `Pipeline._detection_level` does it in
    NumPy: over the channels taking part, `on` = some envelope (channels, n) at or above its
    threshold, `stay` = at or above its release threshold, `level` = the highest % MVC,
    (envelope − rest) × scale (−inf where none takes part). Stretch k, samples
    [starts[k], ends[k]), has thresholds[k] and releases[k] (channels,). One channel at a
    time, over contiguous samples, the mask apart when every channel takes part: those loops
    compile to vector instructions (7x NumPy's four passes; a loop over the channels inside,
    or the mask tested in every one, runs no faster than NumPy)."""
    for k in range(starts.shape[0]):
        lo = starts[k]
        hi = ends[k]
        over = on[lo:hi]  # 1-D views: loops over them vectorize, 2-D indexing does not
        held = stay[lo:hi]
        highest = level[lo:hi]
        for c in range(envelope.shape[0]):
            row = envelope[c, lo:hi]
            t = thresholds[k, c]
            r = releases[k, c]
            low = rest[c]
            factor = scale[c]
            if all_take_part and c == 0:
                for i in range(hi - lo):
                    e = np.float64(row[i])
                    over[i] = e >= t
                    held[i] = e >= r
                    highest[i] = (e - low) * factor
            elif all_take_part:
                for i in range(hi - lo):
                    e = np.float64(row[i])
                    over[i] = over[i] | (e >= t)
                    held[i] = held[i] | (e >= r)
                    pct = (e - low) * factor
                    highest[i] = pct if pct > highest[i] else highest[i]
            else:
                counted = taking_part[c, lo:hi]
                for i in range(hi - lo):
                    e = np.float64(row[i])
                    pct = (e - low) * factor if counted[i] else -np.inf
                    if c == 0:
                        over[i] = counted[i] & (e >= t)
                        held[i] = counted[i] & (e >= r)
                        highest[i] = pct
                    else:
                        over[i] = over[i] | (counted[i] & (e >= t))
                        held[i] = held[i] | (counted[i] & (e >= r))
                        highest[i] = pct if pct > highest[i] else highest[i]


@_jit(
    "void(float32[:, ::1], int64[::1], int64[::1], float32[:, ::1], boolean[:, ::1], boolean,"
    " float32[::1])"
)
def adaptive_level(  # pragma: no cover - compiled
    envelope, starts, ends, inverses, taking_part, all_take_part, level
):
    """The adaptive detection level, as `Pipeline._detection_level` computes it in NumPy: the
    highest envelope × 1/background (float32) over the channels taking part (0 where none
    does). Stretch k, samples [starts[k], ends[k]), has inverses[k] (channels,)."""
    for k in range(starts.shape[0]):
        lo = starts[k]
        hi = ends[k]
        highest = level[lo:hi]
        for c in range(envelope.shape[0]):
            row = envelope[c, lo:hi]
            inverse = inverses[k, c]
            if all_take_part and c == 0:
                for i in range(hi - lo):
                    highest[i] = row[i] * inverse
            elif all_take_part:
                for i in range(hi - lo):
                    ratio = row[i] * inverse
                    highest[i] = ratio if ratio > highest[i] else highest[i]
            else:
                counted = taking_part[c, lo:hi]
                for i in range(hi - lo):
                    ratio = row[i] * inverse if counted[i] else np.float32(0.0)
                    if c == 0:
                        highest[i] = ratio
                    else:
                        highest[i] = ratio if ratio > highest[i] else highest[i]
