"""Scoring rules at their edges, on exact synthetic level traces (100 Hz, no filtering)."""

from __future__ import annotations

import numpy as np
import pytest

from bruxwatch.signal import Calibration, Pipeline, SignalConfig
from bruxwatch.signal.config import EnvelopeConfig
from bruxwatch.signal.detector import EpisodeDetector
from bruxwatch.signal.events import BurstEnd, BurstStart, EpisodeEnd, EpisodeStart
from tests.conftest import envelope_stream

FS = 100.0


def trace(bursts: list[tuple[float, float]], total_s: float = 60.0) -> np.ndarray:
    """Level 0 with value 50 inside each (start, duration) burst."""
    x = np.zeros(int(total_s * FS))
    for start, duration in bursts:
        x[round(start * FS) : round((start + duration) * FS)] = 50.0
    return x


def run(levels: np.ndarray):
    detector = EpisodeDetector(FS)
    events = detector.process(levels > 10, levels, 0) + detector.finish(len(levels))
    episodes = [e.episode for e in events if isinstance(e, EpisodeEnd)]
    bursts = [e.burst for e in events if isinstance(e, BurstEnd)]
    return events, episodes, bursts


def phasic_train(start: float, count: int, gap: float = 1.0, width: float = 0.5):
    return [(start + i * (width + gap), width) for i in range(count)]


def test_burst_of_1_99_s_is_phasic_and_2_01_s_is_tonic():
    _, episodes, bursts = run(trace([(5, 1.99)]))
    assert [b.kind for b in bursts] == ["phasic"] and episodes == []
    _, episodes, bursts = run(trace([(5, 2.01)]))
    assert [b.kind for b in bursts] == ["tonic"]
    assert [(e.kind, e.bursts) for e in episodes] == [("tonic", 1)]
    assert episodes[0].start_s == pytest.approx(5.0) and episodes[0].duration_s == pytest.approx(
        2.01
    )


def test_two_phasic_bursts_are_no_episode_three_are():
    _, episodes, bursts = run(trace(phasic_train(5, 2)))
    assert len(bursts) == 2 and episodes == []
    _, episodes, _ = run(trace(phasic_train(5, 3)))
    assert [(e.kind, e.bursts, e.phasic_bursts) for e in episodes] == [("phasic", 3, 3)]


def test_bursts_2_9_s_apart_join_3_1_s_apart_do_not():
    joined = trace(phasic_train(5, 3, gap=2.9))
    _, episodes, _ = run(joined)
    assert [e.bursts for e in episodes] == [3]
    split = trace(phasic_train(5, 3, gap=3.1))
    _, episodes, bursts = run(split)
    assert len(bursts) == 3 and episodes == []


def test_exactly_3_s_apart_do_not_join():
    _, episodes, _ = run(trace(phasic_train(5, 3, gap=3.0)))
    assert episodes == []


def test_minimum_burst_length_0_25_s():
    _, _, bursts = run(trace([(5, 0.24)]))
    assert bursts == []
    _, _, bursts = run(trace([(5, 0.25)]))
    assert len(bursts) == 1


def test_runs_closer_than_0_1_s_merge():
    # 0.2 s + 0.09 s dip + 0.2 s: one burst of 0.49 s; with a 0.11 s dip, two too-short runs
    _, _, bursts = run(trace([(5, 0.2), (5.29, 0.2)]))
    assert [round(b.duration_s, 2) for b in bursts] == [0.49]
    _, _, bursts = run(trace([(5, 0.2), (5.31, 0.2)]))
    assert bursts == []


def test_mixed_needs_a_tonic_burst_and_three_phasic():
    _, episodes, _ = run(trace(phasic_train(5, 3) + [(10.5, 3.0)]))
    assert [(e.kind, e.phasic_bursts, e.tonic_bursts) for e in episodes] == [("mixed", 3, 1)]
    _, episodes, _ = run(trace(phasic_train(5, 2) + [(9.0, 3.0)]))
    assert [e.kind for e in episodes] == ["tonic"]


def test_separate_episodes_and_event_order():
    events, episodes, _ = run(trace([(5, 3.0), (20, 4.0)]))
    assert [e.start_s for e in episodes] == [5.0, 20.0]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["BurstStart", "EpisodeStart", "BurstEnd", "EpisodeEnd"] * 2


def test_live_announcements_come_at_the_right_sample():
    events, _, _ = run(trace([(5, 3.0)]))
    start = next(e for e in events if isinstance(e, BurstStart))
    assert start.start_s == 5.0 and start.at_s == pytest.approx(5.0 + 0.25 - 1 / FS)
    episode = next(e for e in events if isinstance(e, EpisodeStart))
    assert episode.kind == "tonic" and episode.at_s == pytest.approx(7.0)


def test_episode_still_open_at_the_end_is_closed_by_finish():
    _, episodes, _ = run(trace([(55, 4.9)], total_s=60))
    assert len(episodes) == 1 and episodes[0].end_s == pytest.approx(59.9)


def test_peak_is_the_highest_level_in_the_episode():
    levels = trace([(5, 3.0)])
    levels[650] = 87.5
    _, episodes, _ = run(levels)
    assert episodes[0].peak_level == 87.5


@pytest.mark.parametrize("other_side", [0.0, 50.0])
def test_two_channels_count_an_episode_once(other_side):
    """One side or both sides clenching gives one episode, scored on the larger % MVC."""
    info_levels = np.zeros((2, 3000))
    info_levels[0, 500:900] = 60.0
    info_levels[1, 520:880] = other_side
    from bruxwatch.stream import Chunk, StreamInfo

    info = StreamInfo(fs=FS, channels=("l", "r"), units="counts", kind="envelope")
    config = SignalConfig(envelope=EnvelopeConfig(envelope_smoothing_s=0.0))
    pipeline = Pipeline(info, config, Calibration(rest=(1.0, 1.0), mvc=(101.0, 201.0)))
    events = pipeline.process(Chunk(0, info_levels)).events + pipeline.finish()
    episodes = [e.episode for e in events if isinstance(e, EpisodeEnd)]
    assert len(episodes) == 1
    assert episodes[0].peak_pct_mvc == pytest.approx(59.0)  # left: (60 - 1) / (101 - 1)


def test_pipeline_on_envelope_input_applies_the_rules():
    info, chunk = envelope_stream(trace([(5, 2.5)]) + 1.0, FS)
    config = SignalConfig(envelope=EnvelopeConfig(envelope_smoothing_s=0.0))
    pipeline = Pipeline(info, config, Calibration(rest=(1.0,), mvc=(101.0,), units="counts"))
    events = pipeline.process(chunk).events + pipeline.finish()
    (episode,) = [e.episode for e in events if isinstance(e, EpisodeEnd)]
    assert episode.kind == "tonic" and episode.peak_pct_mvc == pytest.approx(50.0)
