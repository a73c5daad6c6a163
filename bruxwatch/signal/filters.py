"""Band-pass + mains notch as one causal SOS cascade, streaming with carried state per channel.

Speed on small chunks: `scipy.signal.sosfilt` spends most of a 10-sample call on argument
handling (array-API dispatch, validation, four `moveaxis` calls: about 120 us of 190 us with
SciPy 1.17), not filtering. StreamingFilter therefore calls the Cython loop behind it,
`scipy.signal._sosfilt._sosfilt`, on state it already keeps in that loop's layout. That name
is private, so it is used only after a self-check at import shows it gives exactly what the
public `sosfilt` gives; otherwise (another SciPy) the public function is used. Long blocks go
through bruxwatch's own compiled loop instead when it is loaded (`signal.compiled`: the same
numbers, two channels at a time).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal as sps

from bruxwatch.signal import compiled
from bruxwatch.signal.config import FilterConfig
from bruxwatch.signal.mains import fixed_plan


def _checked_kernel():
    """scipy's in-place SOS kernel, if present and identical to the public sosfilt."""
    try:
        from scipy.signal._sosfilt import _sosfilt as kernel
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    sos = sps.butter(4, [20.0, 100.0], btype="bandpass", fs=1000.0, output="sos")
    x = rng.standard_normal((2, 37))
    zi = rng.standard_normal((sos.shape[0], 2, 2))
    want, want_zi = sps.sosfilt(sos, x, axis=-1, zi=zi)
    try:
        y = np.array(x, dtype=np.float64, order="C")
        state = np.ascontiguousarray(zi.transpose(1, 0, 2))
        kernel(sos, y, state)
    except Exception:  # noqa: BLE001 - any difference in the private API: use the public one
        return None
    if np.array_equal(y, want) and np.array_equal(state.transpose(1, 0, 2), want_zi):
        return kernel
    return None


_KERNEL = _checked_kernel()


def band_edges(fs: float, config: FilterConfig) -> tuple[float, float]:
    """The pass band in Hz after clipping the upper edge to `max_high_fraction` × fs."""
    low, high = config.band_hz
    high = min(high, config.max_high_fraction * fs)
    if not 0 < low < high:
        raise ValueError(f"band {config.band_hz} Hz is empty at fs={fs:g} Hz")
    return low, high


def notch_frequencies(fs: float, config: FilterConfig) -> list[float]:
    """Mains lines (Hz) notched before anything is found from the signal (see
    `signal.mains.fixed_plan`): below Nyquist and the band edge."""
    _, high = band_edges(fs, config)
    return list(fixed_plan(fs, high, config).frequencies)


def design_sos(
    fs: float, config: FilterConfig | None = None, notches_hz: Sequence[float] | None = None
) -> np.ndarray:
    """Second-order sections (n_sections, 6): Butterworth band-pass followed by one notch per
    frequency in `notches_hz` (None: `notch_frequencies`)."""
    config = config or FilterConfig()
    low, high = band_edges(fs, config)
    sections = [sps.butter(config.order, [low, high], btype="bandpass", fs=fs, output="sos")]
    if notches_hz is None:
        notches_hz = notch_frequencies(fs, config)
    for f in notches_hz:
        b, a = sps.iirnotch(f, config.notch_q, fs=fs)
        sections.append(sps.tf2sos(b, a))
    return np.vstack(sections)


class StreamingFilter:
    """Causal SOS filter over (channels, samples) arrays with its state carried between calls.

    The state is seeded from the first sample of each channel (`sosfilt_zi` × x[0]), so a stream
    with a DC offset starts without a step transient.
    """

    def __init__(self, sos: np.ndarray, n_channels: int) -> None:
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi_unit = sps.sosfilt_zi(self.sos)  # (n_sections, 2), steady state for input 1
        self._state = np.zeros((n_channels, self.sos.shape[0], 2))  # the kernel's layout
        self._seeded = np.zeros(n_channels, dtype=bool)

    def reset(self) -> None:
        """Forget the state (after a gap in the stream); the next sample re-seeds it."""
        self._seeded[:] = False

    def replace_sections(self, sos: np.ndarray, carried: Sequence[int | None]) -> None:
        """Go on with another cascade from the next sample: section i of `sos` carries on the
        state of the current section `carried[i]`, or starts at rest (None), as a notch
        added behind the band-pass can (its input has no DC)."""
        state = np.zeros((self._state.shape[0], sos.shape[0], 2))
        for new, old in enumerate(carried):
            if old is not None:
                state[:, new] = self._state[:, old]
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi_unit = sps.sosfilt_zi(self.sos)
        self._state = state

    def process(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Filter x (channels, n); returns float64 (channels, n): `out` when given (float64,
        rows contiguous, which may lie apart, as in a view of a wider array)."""
        if x.shape[-1] == 0:
            return np.zeros(x.shape, dtype=np.float64) if out is None else out
        fresh = ~self._seeded
        if fresh.any():
            self._state[fresh] = self._zi_unit[None, :, :] * x[fresh, 0][:, None, None]
            self._seeded[:] = True
        fast = compiled.kernels_for(x.shape[-1])
        if fast is not None:
            if x.dtype != np.float64 or x.strides[-1] != x.itemsize:
                x = np.ascontiguousarray(x, dtype=np.float64)  # rows must be contiguous
            y = np.empty(x.shape) if out is None else out
            fast.sos_cascade(self.sos, x, y, self._state)
            return y
        if _KERNEL is not None:
            y = np.array(x, dtype=np.float64, order="C")
            _KERNEL(self.sos, y, self._state)
        else:
            y, zi = sps.sosfilt(self.sos, x, axis=-1, zi=self._state.transpose(1, 0, 2))
            self._state = np.ascontiguousarray(zi.transpose(1, 0, 2))
        if out is None:
            return y
        out[...] = y
        return out
