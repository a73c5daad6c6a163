"""Band-pass + mains notch as one causal SOS cascade, streaming with carried state per channel."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from bruxwatch.signal.config import FilterConfig


def band_edges(fs: float, config: FilterConfig) -> tuple[float, float]:
    """The pass band in Hz after clipping the upper edge to `max_high_fraction` × fs."""
    low, high = config.band_hz
    high = min(high, config.max_high_fraction * fs)
    if not 0 < low < high:
        raise ValueError(f"band {config.band_hz} Hz is empty at fs={fs:g} Hz")
    return low, high


def notch_frequencies(fs: float, config: FilterConfig) -> list[float]:
    """Mains fundamental and harmonics (Hz) that get a notch: below Nyquist and the band edge."""
    if not config.mains_hz:
        return []
    _, high = band_edges(fs, config)
    limit = min(fs / 2, high + config.mains_hz / 2)
    freqs = [k * config.mains_hz for k in range(1, config.notch_harmonics + 1)]
    return [f for f in freqs if f < limit]


def design_sos(fs: float, config: FilterConfig | None = None) -> np.ndarray:
    """Second-order sections (n_sections, 6): Butterworth band-pass followed by the notches."""
    config = config or FilterConfig()
    low, high = band_edges(fs, config)
    sections = [sps.butter(config.order, [low, high], btype="bandpass", fs=fs, output="sos")]
    for f in notch_frequencies(fs, config):
        b, a = sps.iirnotch(f, config.notch_q, fs=fs)
        sections.append(sps.tf2sos(b, a))
    return np.vstack(sections)


class StreamingFilter:
    """Causal SOS filter over (channels, samples) arrays with its state carried between calls.

    The state is seeded from the first sample of each channel (`sosfilt_zi` × x[0]), so a stream
    with a DC offset starts without a step transient.
    """

    def __init__(self, sos: np.ndarray, n_channels: int) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        self._zi_unit = sps.sosfilt_zi(self.sos)  # (n_sections, 2), steady state for input 1
        self._zi = np.zeros((self.sos.shape[0], n_channels, 2))
        self._seeded = np.zeros(n_channels, dtype=bool)

    def reset(self) -> None:
        """Forget the state (after a gap in the stream); the next sample re-seeds it."""
        self._seeded[:] = False

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter x (channels, n); returns float64 (channels, n)."""
        if x.shape[-1] == 0:
            return np.zeros(x.shape, dtype=np.float64)
        fresh = ~self._seeded
        if fresh.any():
            self._zi[:, fresh, :] = self._zi_unit[:, None, :] * x[fresh, 0][None, :, None]
            self._seeded[:] = True
        y, self._zi = sps.sosfilt(self.sos, x, axis=-1, zi=self._zi)
        return y
