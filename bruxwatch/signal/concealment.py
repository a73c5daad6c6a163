"""Standing in for a few lost samples: the stretch just before a short gap, repeated.

A lost radio packet or three (DetectorConfig.bridge_gap_s) must not end a burst or an episode.
The signal chain carries on across such a gap as if the stream were whole, with the missing
samples stood in for by a copy of recent samples, as speech codecs conceal a lost frame by
waveform substitution with a pitch period: here the period is the mains period, so the hum
goes on in phase, the envelope keeps its level and the filters see no step (a plain copy of
the last samples would put a step into 150 µV of hum, and a spike into the band-passed
signal). The stand-in samples are never stored; the gap is recorded as is.
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

    def stand_in(self, n: int, period: float | None = None) -> np.ndarray:
        """n samples for a gap of n: the n samples that came `lag` samples before the gap,
        where `lag` is the smallest whole number of mains periods (`period`, in samples; None:
        no mains) of at least n samples that lands on a whole sample, so the hum, usually the
        largest thing in the raw signal, goes on in phase and the filters see no step. Without
        a period, the last n samples (repeated if fewer were kept)."""
        recent = np.concatenate(tuple(self._parts), axis=-1)[:, -self.keep :]
        have = recent.shape[-1]
        lag = n if period is None else _whole_periods(n, period, have)
        if have >= lag:
            return recent[:, have - lag : have - lag + n].copy()
        reps = -(-n // have)
        return np.tile(recent, reps)[:, -n:]


def _whole_periods(n: int, period: float, limit: int) -> int:
    """The smallest multiple of `period` (samples) that is at least n, within 0.05 of a whole
    number of samples and at most `limit`; otherwise the smallest multiple rounded."""
    first = max(1, int(np.ceil(n / period - 1e-9)))
    for k in range(first, first + 64):
        lag = k * period
        if lag > limit:
            break
        if abs(lag - round(lag)) <= 0.05:
            return round(lag)
    return round(first * period)
