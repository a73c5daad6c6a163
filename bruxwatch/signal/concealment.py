"""Standing in for a few lost samples: the stretch just before a short gap, repeated.

A lost radio packet or three (DetectorConfig.bridge_gap_s) must not end a burst or an episode.
The signal chain carries on across such a gap as if the stream were whole, with the missing
samples stood in for by a copy of the samples just before them (repeated if fewer were seen),
as speech codecs conceal a lost frame by waveform substitution: the envelope keeps its level,
the filters see no step. The stand-in samples are never stored; the gap is recorded as is.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class RecentSamples:
    """The last `keep` samples (channels, n) of a stream, as the arrays they came in: adding
    a chunk costs no copy; they are joined only when a gap needs them."""

    def __init__(self, n_channels: int, keep: int) -> None:
        self.n_channels = n_channels
        self.keep = max(1, keep)
        self._parts: deque[np.ndarray] = deque()
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def add(self, x: np.ndarray) -> None:
        if x.shape[-1] == 0:
            return
        self._parts.append(x)
        self._length += x.shape[-1]
        while self._length - self._parts[0].shape[-1] >= self.keep:
            self._length -= self._parts.popleft().shape[-1]

    def clear(self) -> None:
        self._parts.clear()
        self._length = 0

    def last_value(self, channel: int) -> float:
        """The most recent sample of a channel (there must be one)."""
        return float(self._parts[-1][channel, -1])

    def stand_in(self, n: int) -> np.ndarray:
        """n samples for a gap of n: the last n seen, repeated if fewer were kept."""
        recent = np.concatenate(tuple(self._parts), axis=-1)[:, -self.keep :]
        if recent.shape[-1] >= n:
            return recent[:, -n:].copy()
        reps = -(-n // recent.shape[-1])
        return np.tile(recent, reps)[:, -n:]
