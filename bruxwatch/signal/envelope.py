"""Moving RMS (or moving mean) over (channels, samples) with state carried between chunks.

The running sum is updated as S[n] = S[n-1] + (v[n] - v[n-W]) with one sequential cumulative
sum per chunk, the carried S seeded into the first element. The floating-point additions are
therefore the same whatever the chunking, so streaming and offline results are bit-identical.
"""

from __future__ import annotations

import numpy as np


class MovingAverage:
    """Causal mean of the last `window` samples; the first samples average against zeros."""

    def __init__(self, window: int, n_channels: int) -> None:
        if window < 1:
            raise ValueError("moving-average window must be at least one sample")
        self.window = int(window)
        self._history = np.zeros((n_channels, self.window))
        self._sum = np.zeros(n_channels)

    def reset(self) -> None:
        self._history[:] = 0.0
        self._sum[:] = 0.0

    def process(self, v: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """Mean of the last `window` values of v (channels, n), float64."""
        n = v.shape[-1]
        if n == 0:
            return np.zeros(v.shape, dtype=np.float64)
        w = self.window
        extended = np.concatenate((self._history[rows], v), axis=-1)
        steps = extended[:, w:] - extended[:, :n]
        steps[:, 0] += self._sum[rows]
        running = np.cumsum(steps, axis=-1)
        self._sum[rows] = running[:, -1]
        self._history[rows] = extended[:, -w:]
        np.maximum(running, 0.0, out=running)  # rounding can dip a hair below zero
        running *= 1.0 / w
        return running


class MovingRms:
    """Root of the moving mean of squares: the sEMG amplitude envelope in the input's units."""

    def __init__(self, window: int, n_channels: int) -> None:
        self._mean = MovingAverage(window, n_channels)

    @property
    def window(self) -> int:
        return self._mean.window

    def reset(self) -> None:
        self._mean.reset()

    def process(self, x: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        mean_square = self._mean.process(x * x, rows)
        return np.sqrt(mean_square, out=mean_square)


def window_samples(seconds: float, fs: float) -> int:
    """A window length in whole samples (at least one)."""
    return max(1, round(seconds * fs))
