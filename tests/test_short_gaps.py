"""Lost packets: a short gap is bridged (bursts and episodes go on), a long one ends them, and
impossible values never reach the filters. Streaming equals offline across gaps too."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Calibration, Pipeline
from bruxwatch.signal.analysis import analyze_chunks
from bruxwatch.signal.config import DetectorConfig, SignalConfig
from bruxwatch.signal.evaluation import match_onsets
from bruxwatch.signal.events import BurstEnd, EpisodeEnd, Gap, QualityChanged
from bruxwatch.stream import Chunk, StreamInfo
from tests.streaming import by_kind


def lossy(x: np.ndarray, lost: np.ndarray) -> list[Chunk]:
    """x as chunks with the samples where `lost` is True left out (gaps as index jumps)."""
    keep = np.flatnonzero(~lost)
    runs = np.split(keep, np.flatnonzero(np.diff(keep) > 1) + 1)
    chunks: list[Chunk] = []
    for run in runs:
        missing = 0 if not chunks else int(run[0]) - chunks[-1].end_index
        chunks.append(Chunk(int(run[0]), x[:, run[0] : run[-1] + 1], missing))
    return chunks


def single_losses(n: int, rate: float, seed: int) -> np.ndarray:
    lost = np.random.default_rng(seed).random(n) < rate
    lost[0] = False
    return lost


@pytest.fixture(scope="module")
def cyton_like_night():
    """30 busy minutes at the Cyton's 250 Hz."""
    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=1800, fs=250, seed=2, episodes_per_hour=30)
    )
    return sim, sim.generate()


def f1_against_truth(sim, chunks, config=None) -> tuple[float, float]:
    result = analyze_chunks(chunks, sim.info, config=config)
    found = [(e.start_s, e.kind) for e in result.episodes if not e.artifact]
    truth = [(a.start_s, a.kind) for a in sim.truth.episodes]
    match = match_onsets(found, truth, tolerance_s=0.5)
    return match.f1, match.true_positives


def test_single_lost_packets_do_not_split_clenches(cyton_like_night):
    sim, x = cyton_like_night
    whole, found = f1_against_truth(sim, [Chunk(0, x)])
    assert whole == 1.0 and found >= 10
    for rate in (0.002, 0.01):
        lost = single_losses(x.shape[1], rate, seed=7)
        f1, _ = f1_against_truth(sim, lossy(x, lost))
        assert f1 == 1.0, rate
    # the same losses with bridging switched off: what the recorder did before
    off = SignalConfig(detector=DetectorConfig(bridge_gap_s=0.0))
    f1_off, _ = f1_against_truth(sim, lossy(x, single_losses(x.shape[1], 0.002, 7)), off)
    assert f1_off < 0.6


def test_a_short_gap_is_recorded_and_bridged_a_long_one_ends_the_episode():
    fs = 250.0
    info = StreamInfo(fs=fs, channels=("env",), units="counts", kind="envelope")
    level = np.full(int(20 * fs), 1.0, dtype=np.float32)
    level[int(5 * fs) : int(12 * fs)] = 100.0  # one tonic clench, 5-12 s
    cal = Calibration(rest=(1.0,), mvc=(100.0,))

    def run(gap_samples: int):
        lost = np.zeros(level.size, dtype=bool)
        lost[int(8 * fs) : int(8 * fs) + gap_samples] = True
        pipeline = Pipeline(info, calibration=cal)
        events = []
        for chunk in lossy(level[None, :], lost):
            events += pipeline.process(chunk).events
        return events + pipeline.finish()

    short = run(12)  # 48 ms: bridged
    episodes = [e.episode for e in short if isinstance(e, EpisodeEnd)]
    assert len(episodes) == 1
    assert episodes[0].start_s == pytest.approx(5.0, abs=0.02)
    assert episodes[0].end_s == pytest.approx(12.0, abs=0.06)
    gaps = [e for e in short if isinstance(e, Gap)]
    assert gaps == [Gap(at_s=8.0, missing_s=12 / fs, bridged=True)]

    long = run(25)  # 100 ms: the clench is cut in two
    gaps = [e for e in long if isinstance(e, Gap)]
    assert gaps == [Gap(at_s=8.0, missing_s=25 / fs, bridged=False)]
    assert len([e for e in long if isinstance(e, BurstEnd)]) == 2


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_chunkings_of_a_lossy_stream_give_identical_events(awake_recording, data):
    sim, x = awake_recording
    n = x.shape[1]
    seed = data.draw(st.integers(0, 1000))
    rng = np.random.default_rng(seed)
    lost = rng.random(n) < 0.003
    for start in rng.integers(1, n - 200, 3):  # and a few longer dropouts
        lost[start : start + int(rng.integers(2, 150))] = True
    lost[0] = False
    pieces = lossy(x, lost)
    reference = Pipeline(sim.info)
    expected = [e for c in pieces for e in reference.process(c).events] + reference.finish()
    # cut each gap-free piece again at random points
    chunked: list[Chunk] = []
    for piece in pieces:
        cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, piece.n - 1)), max_size=3))))
        bounds = [0, *[c for c in cuts if 0 < c < piece.n], piece.n]
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            miss = piece.missing_before if k == 0 else 0
            chunked.append(Chunk(piece.first_index + a, piece.samples[:, a:b], miss))
    pipeline = Pipeline(sim.info)
    got = [e for c in chunked for e in pipeline.process(c).events] + pipeline.finish()
    # within one chunk the stages report stage by stage (a mains change found at 4.0 s may
    # come before a quality change at 2.991 s): each kind's events, in order, must agree
    assert by_kind(got) == by_kind(expected)
    assert any(isinstance(e, Gap) and e.bridged for e in got)
    assert analyze_chunks(iter(chunked), sim.info).events == expected


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, 1e39])
def test_impossible_values_are_flagged_and_never_reach_the_filter(awake_recording, bad):
    sim, x = awake_recording
    clean = analyze_chunks([Chunk(0, x)], sim.info)
    spoiled = x.astype(np.float64)
    at = int(30.5 * sim.fs)
    spoiled[0, at] = bad
    result = analyze_chunks([Chunk(0, spoiled)], sim.info)
    flags = [e for e in result.events if isinstance(e, QualityChanged) and e.channel == 0]
    assert flags[0].flags == ("invalid",) and flags[0].at_s == 30.0
    assert flags[1].flags == () and flags[1].at_s == 31.0
    # scoring goes on after it: the episodes after the bad second are found as without it
    after = [e for e in result.episodes if e.start_s > 33]
    assert after and after == [e for e in clean.episodes if e.start_s > 33]
    assert result.bad_intervals == [(int(30 * sim.fs), int(31 * sim.fs))]


def test_values_beyond_the_rails_are_impossible():
    info = StreamInfo(fs=500.0, channels=("a",), units="counts", rails=(0.0, 1023.0))
    x = 512 + 50 * np.random.default_rng(1).standard_normal((1, 5000))
    x[0, 2600] = 5000.0
    pipeline = Pipeline(info)
    out = pipeline.process(Chunk(0, x))
    assert np.isfinite(out.filtered).all()
    events = out.events + pipeline.finish()
    invalid = [e for e in events if isinstance(e, QualityChanged) and "invalid" in e.flags]
    assert [e.at_s for e in invalid] == [5.0]
