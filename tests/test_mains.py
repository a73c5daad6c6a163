"""Mains found from the signal and removed: the frequency, the harmonics present, no more;
hum the notches remove is not bad signal; any chunking gives the same notches at the same
samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Pipeline, SignalConfig, analyze
from bruxwatch.signal.config import FilterConfig
from bruxwatch.signal.events import MainsChanged
from bruxwatch.signal.filters import design_sos
from bruxwatch.signal.mains import MainsTracker, NotchPlan
from bruxwatch.stream import Chunk
from tests.streaming import by_kind


def notch_changes(events) -> list[tuple[float, tuple[float, ...]]]:
    return [(e.at_s, e.notches_hz) for e in events if isinstance(e, MainsChanged)]


def night(seconds: float, fs: float = 1000.0, **hum) -> tuple[Simulator, np.ndarray]:
    sim = Simulator(
        SimulatorConfig(
            scenario="awake", duration_s=seconds, fs=fs, seed=7, episodes_per_hour=60, **hum
        )
    )
    return sim, sim.generate()


@pytest.mark.parametrize(
    ("fs", "hum", "notches"),
    [
        (1000.0, {"mains_hz": 60.0, "harmonics_uv": (60.0, 40.0, 20.0)}, (60.0, 120, 180, 240)),
        (250.0, {"mains_hz": 60.0, "harmonics_uv": (60.0, 40.0, 20.0)}, (60.0, 120.0)),
        (1000.0, {"mains_hz": 50.0, "harmonics_uv": (0.0, 40.0)}, (50.0, 150.0)),
        (200.0, {"mains_hz": 50.0, "harmonics_uv": (0.0, 40.0)}, (50.0,)),
    ],
)
def test_the_mains_lines_present_are_found_and_no_others(fs, hum, notches):
    sim, x = night(60, fs, mains_uv=200.0, ecg_uv=0.0, **hum)
    pipeline = Pipeline(sim.info)
    changes = notch_changes(pipeline.process(Chunk(0, x)).events)
    assert pipeline.notches_hz == notches
    assert all(at <= 3.0 for at, _ in changes)  # confirmed by the second and third check


def test_a_clean_signal_keeps_only_the_fundamental_notch():
    _, x = night(120, 1000.0, mains_uv=0.0, ecg_uv=0.0)
    assert notch_changes(analyze(x, 1000.0).events) == []


def test_a_fixed_mains_setting_is_kept_as_set():
    _, x = night(30, 1000.0, mains_hz=60.0, mains_uv=200.0, harmonics_uv=(60.0,))
    config = SignalConfig(filter=FilterConfig(mains_hz=50.0, notch_harmonics=2))
    pipeline = Pipeline(Simulator(SimulatorConfig(duration_s=1)).info, config)
    events = pipeline.process(Chunk(0, x)).events
    assert notch_changes(events) == [] and pipeline.notches_hz == (50.0, 100.0)


def test_harmonics_alone_are_searched_under_a_fixed_fundamental():
    _, x = night(30, 1000.0, mains_hz=60.0, mains_uv=200.0, harmonics_uv=(0.0, 40.0))
    config = SignalConfig(filter=FilterConfig(mains_hz=60.0))
    assert notch_changes(analyze(x, 1000.0, config=config).events)[-1][1] == (60.0, 180.0)


def test_a_mains_change_mid_recording_is_followed():
    """A laptop moved between a 50-Hz and a 60-Hz supply (or a recording from each joined):
    the new fundamental within two checks, harmonics of the old one dropped."""
    _, a = night(60, 1000.0, mains_hz=50.0, mains_uv=150.0, harmonics_uv=(0.0, 40.0))
    _, b = night(60, 1000.0, mains_hz=60.0, mains_uv=150.0, harmonics_uv=(30.0,))
    changes = notch_changes(analyze(np.concatenate((a, b), axis=1), 1000.0).events)
    assert changes[0][1] == (50.0, 150.0)
    switch = [c for c in changes if c[1][0] == 60.0]
    assert switch and 60.0 < switch[0][0] <= 80.0
    assert changes[-1][1] == (60.0, 120.0)


def test_a_harmonic_that_goes_away_is_dropped_after_three_checks():
    tracker = MainsTracker(1000.0, 450.0, FilterConfig())
    t = np.arange(1000) / 1000.0
    rng = np.random.default_rng(1)
    with_hum = 5 * np.sin(2 * np.pi * 50 * t) + 3 * np.sin(2 * np.pi * 150 * t)
    plans = []
    without = 5 * np.sin(2 * np.pi * 50 * t)
    for second in range(60):
        x = rng.standard_normal(1000) + (with_hum if second < 20 else without)
        tracker.feed(x[None, :], second * 1000)
        plans.append(tracker.plan)
    assert plans[5] == NotchPlan(50.0, (1, 3))
    assert plans[-1] == NotchPlan(50.0, (1,))
    dropped = next(i for i, p in enumerate(plans) if i > 20 and p.harmonics == (1,))
    assert dropped == 49  # checks at 30, 40 and 50 s found it gone: from 50 s on


def test_hum_the_notches_remove_is_not_bad_signal_and_changes_no_episode():
    """150 uV of 50-Hz hum with harmonics: the night stays good signal and scores as without
    it (before: 87 % flagged, 158 episodes per hour)."""
    sim, clean = night(600, 1000.0, mains_uv=0.0)
    _, hummed = night(600, 1000.0, mains_uv=150.0, harmonics_uv=(30.0, 40.0))
    reference = analyze(clean, sim.fs)
    result = analyze(hummed, sim.fs)
    assert result.summary.good_hours >= 0.95 * result.summary.hours
    found = [(round(e.start_s, 1), e.kind) for e in result.episodes if not e.artifact]
    expected = [(round(e.start_s, 1), e.kind) for e in reference.episodes if not e.artifact]
    assert len(expected) >= 5 and found == expected
    assert result.summary.episodes_per_hour == pytest.approx(
        reference.summary.episodes_per_hour, rel=0.05
    )


def test_the_filter_leaves_almost_nothing_of_the_lines_it_notches():
    fs = 1000.0
    t = np.arange(int(20 * fs)) / fs
    hum = 150 * np.sin(2 * np.pi * 50 * t) + 40 * np.sin(2 * np.pi * 150 * t + 1)
    pipeline = Pipeline(Simulator(SimulatorConfig(duration_s=1)).info)
    out = pipeline.process(Chunk(0, np.vstack((hum, hum)))).filtered
    assert pipeline.notches_hz == (50.0, 150.0)
    tail = out[:, int(10 * fs) :]
    assert np.sqrt(np.mean(tail**2)) < 0.01 * 150  # under 1 % of the hum left
    assert design_sos(fs, FilterConfig(), pipeline.notches_hz).shape[0] == 6


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_chunkings_give_the_same_notches_and_events(data):
    sim, x = _changing_hum()
    n = x.shape[1]
    cuts = sorted(set(data.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=60))))
    reference = Pipeline(sim.info).process(Chunk(0, x))
    pipeline = Pipeline(sim.info)
    events, filtered = [], []
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        out = pipeline.process(Chunk(a, x[:, a:b]))
        events += out.events
        filtered.append(out.filtered)
    # each kind of event in the same order with the same values (within one chunk, events
    # of different stages come stage by stage, not interleaved by time)
    assert notch_changes(reference.events) and by_kind(events) == by_kind(reference.events)
    np.testing.assert_array_equal(np.concatenate(filtered, axis=1), reference.filtered)


_CACHE: dict = {}


def _changing_hum() -> tuple[Simulator, np.ndarray]:
    """35 s at 250 Hz whose hum gains a harmonic after 12 s (notched from the check at 30 s),
    made once for all examples."""
    if "x" not in _CACHE:
        sim, x = night(35, 250.0, mains_uv=100.0, harmonics_uv=(0.0,))
        t = np.arange(x.shape[1]) / sim.fs
        x = x + np.where(t >= 12.0, 30 * np.sin(2 * np.pi * 100 * t), 0.0).astype(np.float32)
        _CACHE["x"] = (sim, x)
    return _CACHE["x"]
