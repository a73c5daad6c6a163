"""Band-pass + notch design, streaming state, and the moving RMS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from bruxwatch.signal.config import FilterConfig
from bruxwatch.signal.envelope import MovingAverage, MovingRms
from bruxwatch.signal.filters import StreamingFilter, band_edges, design_sos, notch_frequencies


def gain_at(sos: np.ndarray, f: float, fs: float) -> float:
    _, h = sps.sosfreqz(sos, worN=[f], fs=fs)
    return float(abs(h[0]))


def test_band_pass_and_notch_response_at_1khz():
    sos = design_sos(1000.0, FilterConfig(mains_hz=50.0, notch_harmonics=3))
    assert sos.shape[0] == 4 + 3
    assert gain_at(sos, 5, 1000) < 0.01  # movement / baseline wander
    assert gain_at(sos, 50, 1000) < 0.01 and gain_at(sos, 150, 1000) < 0.01  # mains + harmonic
    assert 0.9 < gain_at(sos, 80, 1000) < 1.1 and 0.9 < gain_at(sos, 175, 1000) < 1.1


def test_upper_edge_clipped_and_notches_below_nyquist_at_cyton_rate():
    assert band_edges(250.0, FilterConfig()) == (20.0, 112.5)
    assert notch_frequencies(250.0, FilterConfig(mains_hz=60.0)) == [60.0]  # default: fundamental
    assert notch_frequencies(250.0, FilterConfig(mains_hz=60.0, notch_harmonics=5)) == [60.0, 120.0]
    assert notch_frequencies(1000.0, FilterConfig(mains_hz=None)) == []
    harmonics = notch_frequencies(1000.0, FilterConfig(mains_hz=60.0, notch_harmonics=20))
    assert harmonics[-1] == 420.0 and len(harmonics) == 7  # at or below the 450-Hz band edge


def test_empty_band_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        design_sos(30.0, FilterConfig(band_hz=(20.0, 450.0)))


def test_dc_offset_starts_without_a_step_transient():
    fs = 500.0
    x = np.full((2, 1000), 300.0) + np.random.default_rng(0).normal(0, 1, (2, 1000))
    y = StreamingFilter(design_sos(fs), 2).process(x)
    assert np.abs(y[:, :50]).max() < 10  # a zero-state filter would ring at ~300 µV


@pytest.mark.parametrize("cut", [1, 7, 333, 999])
def test_filter_and_rms_chunked_are_bit_identical(cut):
    fs = 1000.0
    x = np.random.default_rng(1).normal(0, 5, (2, 1000)) + 40
    f1, f2 = StreamingFilter(design_sos(fs), 2), StreamingFilter(design_sos(fs), 2)
    whole = f1.process(x)
    parts = np.concatenate([f2.process(x[:, :cut]), f2.process(x[:, cut:])], axis=1)
    np.testing.assert_array_equal(parts, whole)
    r1, r2 = MovingRms(125, 2), MovingRms(125, 2)
    np.testing.assert_array_equal(
        np.concatenate([r2.process(whole[:, :cut]), r2.process(whole[:, cut:])], axis=1),
        r1.process(whole),
    )


def test_the_moving_sums_kept_work_space_gives_the_same_envelope_for_any_chunking():
    """The work space grows to the longest chunk and is reused by shorter ones: long, short,
    empty and longer chunks in turn, and a reset, give what one pass and a fresh one give;
    a returned envelope is not overwritten by the next call."""
    x = np.random.default_rng(2).normal(0, 5, (2, 20_000))
    whole = MovingRms(125, 2).process(x)
    rms = MovingRms(125, 2)
    cuts = [0, 7000, 7003, 7003, 7100, 12_000, 12_050, 20_000]
    parts = [rms.process(x[:, a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    first = parts[0].copy()
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    np.testing.assert_array_equal(parts[0], first)
    rms.reset()
    np.testing.assert_array_equal(rms.process(x[:, :5000]), whole[:, :5000])
    mean = MovingAverage(50, 2)  # the envelope streams' moving mean, the same way
    pieces = [mean.process(x[:, a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), MovingAverage(50, 2).process(x))


def test_rms_of_a_sine_is_amplitude_over_root_two():
    fs = 1000.0
    t = np.arange(5000) / fs
    x = 10.0 * np.sin(2 * np.pi * 80 * t)[None, :]
    env = MovingRms(125, 1).process(x)
    assert env[0, 1000:].mean() == pytest.approx(10 / np.sqrt(2), rel=0.01)
    assert env[0, :100].max() < env[0, 1000]  # ramps up over the first window


def test_glibc_can_be_asked_to_keep_freed_memory():
    import platform
    import sys

    from bruxwatch.memory import keep_freed_memory

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert keep_freed_memory() is True


def test_fast_kernel_and_public_sosfilt_give_the_same_stream(monkeypatch):
    from bruxwatch.signal import filters

    rng = np.random.default_rng(5)
    x = rng.normal(0, 50, size=(2, 3000)) + 300.0
    sos = filters.design_sos(1000.0)

    def stream(kernel):
        monkeypatch.setattr(filters, "_KERNEL", kernel)
        f = filters.StreamingFilter(sos, 2)
        return np.concatenate([f.process(x[:, a : a + 37]) for a in range(0, 3000, 37)], axis=1)

    fast, public = stream(filters._KERNEL), stream(None)
    np.testing.assert_array_equal(fast, public)
    from scipy import signal as sps

    zi = sps.sosfilt_zi(sos)[:, None, :] * x[:, 0][None, :, None]
    np.testing.assert_allclose(public, sps.sosfilt(sos, x, axis=-1, zi=zi)[0], rtol=0, atol=1e-9)
