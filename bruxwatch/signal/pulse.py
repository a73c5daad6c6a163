"""Heart beats from a pulse (PPG) stream: an optical sensor on a finger, the wrist or the
earlobe, which sees each beat as a pulse of blood some 0.2-0.3 s after the R wave.

A clench hides the heart in the masseter leads, but not in a PPG: it gives the heart rate
through the very seconds that HR confirmation looks at. The stream is band-passed causally
(second-order Butterworth, 0.5-4 Hz: 30-240 bpm, breathing and the baseline's drift gone)
and each systolic peak is a local maximum of the filtered pulse that
- lies above zero (the band-passed pulse swings about it),
- reaches at least `MIN_HEIGHT` of the median of the last five peaks (a dicrotic notch, a
  ripple of noise does not; after `RELEARN_S` without a peak, as after a movement whose
  large swings passed for peaks, the heights are learnt afresh), and
- comes at least 60 / `max_bpm` s after the peak before; within that time the higher of the
  two stays.
After a gap the filter starts afresh and the first `SETTLE_S` are not looked at. The peaks
then go through the same interval rules as R peaks (`signal.heart_rate`): a movement
artifact that passes for a beat halves an interval and is set aside there.

`PulseDetector` takes the stream chunk by chunk and finds the same peaks for any chunking.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from bruxwatch.signal.config import HeartConfig
from bruxwatch.signal.heart_rate import HeartRate, heart_rate

BAND_HZ = (0.5, 4.0)
MIN_HEIGHT = 0.3
SETTLE_S = 2.0
RELEARN_S = 3.0


class PulseDetector:
    """Systolic peaks of a PPG at `fs` Hz (sample indexes on its own clock)."""

    def __init__(self, fs: float, config: HeartConfig | None = None) -> None:
        self.fs = fs
        self.config = config or HeartConfig()
        self.sos = sps.butter(2, BAND_HZ, btype="band", fs=fs, output="sos")
        self.refractory = int(math.ceil(60.0 / self.config.max_bpm * fs))
        self.peaks: list[int] = []
        self._heights: list[float] = []
        self._expected: int | None = None
        self._restart(0)

    def _restart(self, index: int) -> None:
        self._zi = np.zeros((self.sos.shape[0], 2))
        self._tail = np.full(2, np.nan)  # the last two filtered values, before `index`
        self._settled_at = index + int(SETTLE_S * self.fs)

    def add(self, first_index: int, samples: np.ndarray) -> None:
        """The PPG's samples (n,) from sample `first_index` on (a jump is a gap)."""
        x = np.asarray(samples, dtype=np.float64).ravel()
        if x.size == 0:
            return
        if self._expected is not None and first_index != self._expected:
            self._restart(first_index)
        self._expected = first_index + x.size
        y, self._zi = sps.sosfilt(self.sos, x, zi=self._zi)
        joined = np.concatenate((self._tail, y))
        self._tail = joined[-2:]
        # a maximum at joined[k] (k >= 1) is known once joined[k + 1] is there
        middle = joined[1:-1]
        is_peak = (middle > joined[:-2]) & (middle >= joined[2:]) & (middle > 0)
        for k in np.flatnonzero(is_peak).tolist():
            index = first_index - 2 + k + 1
            if index >= self._settled_at:
                self._consider(index, float(middle[k]))

    def _consider(self, index: int, height: float) -> None:
        if self.peaks and index - self.peaks[-1] > RELEARN_S * self.fs:
            self._heights = []  # the last heights may be a movement's: learn them afresh
        recent = self._heights[-5:]
        if recent and height < MIN_HEIGHT * float(np.median(recent)):
            return
        if self.peaks and index - self.peaks[-1] < self.refractory:
            if self._heights and height > self._heights[-1]:  # the higher of two is the beat
                self.peaks[-1], self._heights[-1] = index, height
            return
        self.peaks.append(index)
        self._heights.append(height)

    def heart(self) -> HeartRate:
        """The accepted beat-to-beat heart rate from the peaks found so far."""
        return heart_rate(self.peaks, [True] * len(self.peaks), self.fs, self.config)
