"""Rest/MVC calibration, the adaptive background, and the quality gates."""

from __future__ import annotations

import numpy as np
import pytest

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import (
    Calibration,
    CalibrationError,
    Pipeline,
    SignalConfig,
    analyze,
    calibrate,
)
from bruxwatch.signal.calibration import AdaptiveBackground
from bruxwatch.signal.config import FilterConfig, ThresholdConfig
from bruxwatch.signal.events import QualityChanged
from bruxwatch.stream import Chunk, StreamInfo


def test_calibration_scenario_recovers_rest_and_mvc():
    sim = Simulator(SimulatorConfig(scenario="calibration", seed=3))
    x = sim.generate()
    notched = SignalConfig(filter=FilterConfig(notch_harmonics=3))  # the simulated hum has 3
    env = Pipeline(sim.info, notched).process(Chunk(0, x)).envelope
    fs = sim.fs
    (r0, r1), (m0, m1) = sim.truth.rest_s, sim.truth.mvc_s
    cal = calibrate(env[:, int(r0 * fs) : int(r1 * fs)], env[:, int(m0 * fs) : int(m1 * fs)])
    cfg = sim.config
    for rest, mvc in zip(cal.rest, cal.mvc, strict=True):
        assert rest == pytest.approx(cfg.rest_uv, rel=0.15)
        assert 0.6 * cfg.mvc_uv < mvc < 1.1 * cfg.mvc_uv  # each side 0.7-1.0 of the MVC
    assert sim.truth.duration_s < 60


def test_threshold_is_ten_percent_above_rest_but_never_below_twice_rest():
    cfg = ThresholdConfig()
    cal = Calibration(rest=(2.0, 10.0), mvc=(202.0, 30.0))
    np.testing.assert_allclose(cal.thresholds(cfg), [22.0, 20.0])  # 2 + 20; floor 2 x 10
    np.testing.assert_allclose(cal.threshold_pct_mvc(cfg), [10.0, 50.0])
    np.testing.assert_allclose(
        cal.pct_mvc(np.array([[2.0, 102.0], [10.0, 30.0]])), [[0, 50], [0, 100]]
    )


def test_implausible_calibration_is_refused():
    rest = np.full((1, 1000), 5.0)
    with pytest.raises(CalibrationError, match="not clearly above rest"):
        calibrate(rest, np.full((1, 1000), 9.0))
    with pytest.raises(CalibrationError, match="empty"):
        calibrate(rest, np.zeros((1, 0)))


def test_calibration_round_trips_through_a_dict():
    cal = Calibration(rest=(1.5, 2.5), mvc=(100.0, 120.0), units="counts")
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_adaptive_background_tracks_the_low_percentile_and_is_chunk_invariant():
    fs = 100.0
    rng = np.random.default_rng(0)
    env = np.abs(rng.normal(3.0, 0.3, (1, 20_000)))
    env[0, 5000:9000] = 80.0  # a long clench must not lift the background much
    whole = AdaptiveBackground(fs, 1, ThresholdConfig()).process(env, 0)
    assert np.isnan(whole[0, :400]).all()  # warming up for 5 s
    assert np.nanmax(whole) < 3.5
    chunked = AdaptiveBackground(fs, 1, ThresholdConfig())
    parts = [chunked.process(env[:, a : a + 777], a) for a in range(0, 20_000, 777)]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def flagged(events, flag):
    return [e for e in events if isinstance(e, QualityChanged) and flag in e.flags]


def test_flat_channel_is_flagged_and_left_out_while_the_other_is_scored():
    sim = Simulator(
        SimulatorConfig(scenario="awake", duration_s=120, seed=2, episodes_per_hour=200)
    )
    x = sim.generate()
    x[1, 20_000:] = x[1, 20_000]  # right electrode lead goes dead, stuck at one value
    result = analyze(x, sim.fs)
    assert flagged(result.events, "flat")[0].at_s == 20.0
    assert result.bad_intervals == [(20_000, 21_000)]  # the block it went dead in
    later = [e for e in result.episodes if e.start_s > 21]
    assert later and not any(e.artifact for e in later)
    assert result.summary.good_hours == pytest.approx(119 / 3600)
    assert result.summary.channels[1].flagged_hours == pytest.approx(100 / 3600)


def test_clipping_at_the_rails_is_flagged():
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=30, seed=2))
    x = sim.generate()
    x[0, 10_000:12_000] = np.clip(x[0, 10_000:12_000] * 100, -1000, 1000)
    result = analyze(x, sim.fs, rails=(-1000.0, 1000.0))
    events = flagged(result.events, "clipped")
    assert [e.at_s for e in events] == [10.0]


def test_mains_pickup_the_notch_cannot_remove_is_flagged():
    """Hum at 60 Hz from a loose electrode, with the notch forced to 50 Hz: what is left after
    the notches is bad signal (hum the notches remove is not: tests/test_mains.py)."""
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=30, seed=2, mains_hz=60.0))
    x = sim.generate()
    t = np.arange(x.shape[1]) / sim.fs
    x[0, 15_000:] += (300 * np.sin(2 * np.pi * 60 * t))[15_000:]
    forced_50 = SignalConfig(filter=FilterConfig(mains_hz=50.0))
    quiet = analyze(x[:, :15_000], sim.fs, config=forced_50)
    assert not flagged(quiet.events, "mains")
    result = analyze(x, sim.fs, config=forced_50)
    first = flagged(result.events, "mains")[0]
    assert first.at_s == 15.0 and first.channel == 0
    assert result.bad_intervals == [(15_000, 16_000)]  # then the left channel is left out
    assert result.summary.channels[0].flags["mains"] == pytest.approx(15 / 3600)
    x[1, 15_000:] += (300 * np.sin(2 * np.pi * 60 * t))[15_000:]  # both leads loose
    result = analyze(x, sim.fs, config=forced_50)
    assert result.bad_intervals == [(15_000, x.shape[1])]


def test_a_gap_closes_open_activity_and_is_reported():
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=60, seed=4))
    x = sim.generate()
    pipeline = Pipeline(sim.info)
    events = pipeline.process(Chunk(0, x[:, :20_000])).events
    events += pipeline.process(Chunk(25_000, x[:, 25_000:], missing_before=5000)).events
    gaps = [e for e in events if type(e).__name__ == "Gap"]
    assert len(gaps) == 1 and gaps[0].at_s == 20.0 and gaps[0].missing_s == 5.0
    with pytest.raises(ValueError, match="overlaps"):
        pipeline.process(Chunk(30_000, x[:, :10]))


def test_chunk_with_wrong_channel_count_is_refused():
    pipeline = Pipeline(StreamInfo(fs=100.0, channels=("a", "b")))
    with pytest.raises(ValueError, match="channels=2"):
        pipeline.process(Chunk(0, np.zeros((3, 10))))
