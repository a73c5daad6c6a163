"""Hysteresis: a clench starts at the threshold and ends below `release_fraction` of it, so a
burst that dips briefly is one burst, not pieces too short to count; any chunking gives the
same runs."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bruxwatch.signal import Pipeline, SignalConfig
from bruxwatch.signal.calibration import Calibration
from bruxwatch.signal.config import ThresholdConfig
from bruxwatch.signal.events import BurstEnd
from bruxwatch.signal.hysteresis import Hysteresis
from bruxwatch.stream import Chunk, StreamInfo

FS = 1000.0


def reference(on: np.ndarray, stay: np.ndarray) -> np.ndarray:
    """The rule sample by sample."""
    inside, out = False, np.zeros(on.shape, dtype=bool)
    for i, (a, b) in enumerate(zip(on.tolist(), stay.tolist(), strict=True)):
        inside = a or (inside and b)
        out[i] = inside
    return out


@given(
    st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=300),
    st.lists(st.integers(1, 299), max_size=8),
)
def test_matches_the_rule_for_any_chunking(levels, cuts):
    level = np.array(levels)
    on, stay = level >= 2, level >= 1
    h = Hysteresis()
    parts, start = [], 0
    for end in sorted({*[c for c in cuts if c < len(levels)], len(levels)}):
        parts.append(h.process(on[start:end], stay[start:end]))
        start = end
    np.testing.assert_array_equal(np.concatenate(parts), reference(on, stay))


def dipping_clench() -> np.ndarray:
    """10 s of rest EMG (RMS 2.5 uV) with, from 3 s, a 1.6-s clench at RMS 30 uV that dips
    three times for 0.15 s to RMS 21 uV: just under the calibrated threshold (25.25 uV),
    above 0.75 of it."""
    rng = np.random.default_rng(4)
    t = np.arange(int(10 * FS)) / FS
    amplitude = np.full(t.shape, 2.5)
    amplitude[(t >= 3.0) & (t < 4.6)] = 30.0
    for dip in (3.3, 3.75, 4.2):
        amplitude[(t >= dip) & (t < dip + 0.15)] = 21.0
    carrier = np.sin(2 * np.pi * 97 * t) * np.sqrt(2) + 0.05 * rng.standard_normal(t.shape)
    return (amplitude * carrier)[None, :]


def bursts(release: float) -> list:
    info = StreamInfo(fs=FS, channels=("left",), units="uV")
    config = SignalConfig(threshold=ThresholdConfig(release_fraction=release))
    cal = Calibration(rest=(2.5,), mvc=(230.0,))
    pipeline = Pipeline(info, config, cal)
    events = pipeline.process(Chunk(0, dipping_clench())).events + pipeline.finish()
    return [e.burst for e in events if isinstance(e, BurstEnd)]


def test_a_clench_that_dips_is_one_burst():
    one = bursts(0.75)
    assert len(one) == 1 and 1.5 <= one[0].duration_s <= 1.8
    cut = bursts(1.0)  # one threshold: the dips cut it into pieces
    assert len(cut) == 3 and all(b.duration_s < 0.4 for b in cut)
