"""Moving RMS (or moving mean) over (channels, samples) with state carried between chunks.

The running window sum is kept in exact integer arithmetic: each value (a square for the RMS)
is quantized to a fixed grid (`quantum`, far below any sEMG resolution), and the sum is updated
as S[n] = S[n-1] + q[n] − q[n−W] with int64 cumulative sums. Integer addition is exact and
associative, so the envelope never drifts over a night and is bit-identical whatever the
chunking; int64 prefix sums are also several times faster than float ones.
"""

from __future__ import annotations

import numpy as np

from bruxwatch.signal import compiled

SQUARE_QUANTUM = 2.0**-12
"""Grid of squared values (units², e.g. µV²): 0.00024 µV², negligible against a 1 µV² floor."""

MEAN_QUANTUM = 2.0**-12
"""Grid of values averaged directly (envelope streams, in ADC counts or µV)."""

_MAX_STEPS = 2.0**62
"""Largest quantized value accepted; larger inputs saturate instead of overflowing int64."""


class ExactMovingSum:
    """Causal sum of the last `window` quantized values per channel, exact across chunks.

    Its work space is kept from call to call and grows to the longest chunk seen: the
    quantized values with the `window` before them ahead (int64), and one float64 row per
    channel for the squares, reused for the window sums. A whole night scored in blocks
    then allocates only each block's float32 result (no page faults for the rest).
    """

    def __init__(self, window: int, n_channels: int, quantum: float) -> None:
        if window < 1:
            raise ValueError("moving window must be at least one sample")
        self.window = int(window)
        self.quantum = float(quantum)
        self._limit = _MAX_STEPS / self.window
        self._sum = np.zeros(n_channels, dtype=np.int64)
        self._quantized = np.zeros((n_channels, self.window), dtype=np.int64)
        self._scratch = np.empty((n_channels, 0))
        self._last = 0  # quantized values of the last call, after the `window` ahead of them

    def reset(self) -> None:
        self._quantized[:, : self.window] = 0
        self._last = 0
        self._sum[:] = 0

    def _space(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The work arrays for a chunk of n values: quantized (rows, window + n), with the
        last `window` values before the chunk ahead, and scratch (rows, n) float64."""
        w, rows = self.window, self._sum.shape[0]
        history = self._quantized[:, self._last : self._last + w]
        if self._quantized.shape[1] < w + n:
            grown = np.empty((rows, w + n), dtype=np.int64)
            grown[:, :w] = history
            self._quantized, self._scratch = grown, np.empty((rows, n))
        else:
            self._quantized[:, :w] = history  # numpy copies overlapping ranges safely
        self._last = n
        return self._quantized[:, : w + n], self._scratch[:, :n]

    def process(
        self, values: np.ndarray, *, square: bool = False, scale: float = 1.0, root: bool = False
    ):
        """Window sums (channels, n) × `scale` as float32 (7 significant digits, plenty for an
        envelope), in the input's units (squared when `square`); their square roots when
        `root` (float32's)."""
        n = values.shape[-1]
        w = self.window
        if n == 0:
            return np.zeros((self._sum.shape[0], 0), dtype=np.float32)
        if root and not square:
            raise ValueError("a root is taken of sums of squares only")
        quantized, scaled = self._space(n)
        inverse = 1.0 / self.quantum
        fast = compiled.kernels_for(n) if square and values.dtype == np.float64 else None
        if fast is not None:  # the same arithmetic in two compiled loops
            out = np.empty(values.shape, dtype=np.float32)
            fast.moving_sum_of_squares(
                values if values.strides[-1] == values.itemsize else values.copy(),
                self._quantized,
                w,
                self._sum,
                inverse,
                self._limit,
                self.quantum * scale,
                root,
                out,
            )
            return out
        if square:  # squares are >= 0: the cast to int64 below floors them
            np.multiply(values, values, out=scaled)
            if scaled.max() * inverse > self._limit:  # rare: a reduction is cheaper than a clamp
                scaled *= inverse
                np.minimum(scaled, self._limit, out=scaled)
                np.copyto(quantized[:, w:], scaled, casting="unsafe")
            else:  # scaled and cast in one pass
                np.multiply(scaled, inverse, out=quantized[:, w:], casting="unsafe")
        else:
            np.multiply(values, inverse, out=scaled)
            np.clip(scaled, -self._limit, self._limit, out=scaled)
            np.rint(scaled, out=scaled)
            np.copyto(quantized[:, w:], scaled, casting="unsafe")
        steps = scaled.view(np.int64)  # the squares are used up: their space holds the sums
        np.subtract(quantized[:, w:], quantized[:, :n], out=steps)
        steps[:, 0] += self._sum
        for row in steps:  # one row at a time: numpy lets other threads run only then
            np.cumsum(row, out=row)
        self._sum = steps[:, -1].copy()
        out = np.empty(steps.shape, dtype=np.float32)
        np.multiply(steps, self.quantum * scale, out=out, casting="unsafe")  # one pass
        return np.sqrt(out, out=out) if root else out


class MovingAverage:
    """Causal mean of the last `window` samples; the first samples average against zeros."""

    def __init__(self, window: int, n_channels: int) -> None:
        self._sum = ExactMovingSum(window, n_channels, MEAN_QUANTUM)

    @property
    def window(self) -> int:
        return self._sum.window

    def reset(self) -> None:
        self._sum.reset()

    def process(self, v: np.ndarray) -> np.ndarray:
        """Mean of the last `window` values of v (channels, n), float64."""
        return self._sum.process(v, scale=1.0 / self.window)


class MovingRms:
    """Root of the moving mean of squares: the sEMG amplitude envelope in the input's units."""

    def __init__(self, window: int, n_channels: int) -> None:
        self._sum = ExactMovingSum(window, n_channels, SQUARE_QUANTUM)

    @property
    def window(self) -> int:
        return self._sum.window

    def reset(self) -> None:
        self._sum.reset()

    def process(self, x: np.ndarray) -> np.ndarray:
        return self._sum.process(x, square=True, scale=1.0 / self.window, root=True)


def window_samples(seconds: float, fs: float) -> int:
    """A window length in whole samples (at least one)."""
    return max(1, round(seconds * fs))
