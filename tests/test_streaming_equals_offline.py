"""Any chunking of a recording gives exactly the events of one call (and of `analyze`)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruxwatch.signal import Calibration, Pipeline, analyze
from bruxwatch.signal.analysis import analyze_chunks, regrouped
from bruxwatch.signal.events import EpisodeEnd
from bruxwatch.stream import Chunk

CALIBRATION = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))


def run_chunked(info, x, cuts, calibration=None):
    pipeline = Pipeline(info, calibration=calibration)
    events, bounds = [], [0, *sorted(set(cuts)), x.shape[1]]
    envelopes = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b > a:
            out = pipeline.process(Chunk(a, x[:, a:b]))
            events += out.events
            envelopes.append(out.envelope)
    return events + pipeline.finish(), np.concatenate(envelopes, axis=1)


def test_recording_has_enough_to_compare(awake_recording):
    sim, x = awake_recording
    events, _ = run_chunked(sim.info, x, [])
    assert sum(isinstance(e, EpisodeEnd) for e in events) >= 3


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_chunkings_give_identical_events(awake_recording, data):
    sim, x = awake_recording
    n = x.shape[1]
    cuts = data.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=80))
    calibrated = data.draw(st.booleans())
    cal = CALIBRATION if calibrated else None
    reference, env_ref = run_chunked(sim.info, x, [], cal)
    chunked, env = run_chunked(sim.info, x, cuts, cal)
    assert chunked == reference
    np.testing.assert_array_equal(env, env_ref)


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sizes=st.lists(st.integers(1, 40), min_size=5, max_size=30))
def test_tiny_chunks_around_an_episode(awake_recording, sizes):
    sim, x = awake_recording
    first = sim.truth.episodes[0]
    lo = max(0, int((first.start_s - 10) * sim.fs))
    segment = x[:, lo : lo + int(30 * sim.fs)]
    reference, _ = run_chunked(sim.info, segment, [], CALIBRATION)
    cuts = np.cumsum(sizes * (segment.shape[1] // sum(sizes) + 1))
    cuts = [int(c) for c in cuts if c < segment.shape[1]]
    chunked, _ = run_chunked(sim.info, segment, cuts, CALIBRATION)
    assert chunked == reference
    assert any(isinstance(e, EpisodeEnd) for e in reference)


def test_analyze_two_stage_blocks_equal_one_call_and_plain_process(awake_recording):
    sim, x = awake_recording
    whole = analyze(x, sim.fs, calibration=CALIBRATION, block=None)
    blocked = analyze(x, sim.fs, calibration=CALIBRATION, block=40_000)
    reference, _ = run_chunked(sim.info, x, [], CALIBRATION)
    assert blocked.events == whole.events
    assert [e for e in reference] == whole.events
    assert blocked.episodes == whole.episodes and whole.episodes


def test_empty_recording_scores_to_nothing():
    for block in (None, 1000):
        result = analyze(np.zeros((2, 0), dtype=np.float32), 1000.0, block=block)
        assert result.episodes == [] and result.summary.hours == 0.0


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 900), min_size=1, max_size=30),
    gaps=st.lists(st.integers(0, 3), min_size=30, max_size=30),
    step=st.integers(1, 500),
    shift=st.integers(0, 499),
)
def test_regrouped_blocks_hold_the_same_samples_cut_at_fixed_indices(sizes, gaps, step, shift):
    shift %= step
    chunks, index = [], 5
    for k, size in enumerate(sizes):
        missing = 40 * gaps[k] if k else 0
        index += missing
        samples = np.arange(index, index + size, dtype=np.float32)[None, :].repeat(2, axis=0)
        chunks.append(Chunk(index, samples, missing))
        index += size
    blocks = list(regrouped(chunks, step, shift))
    joined = np.concatenate([b.samples for b in blocks], axis=1) if blocks else np.zeros((2, 0))
    assert np.array_equal(joined, np.concatenate([c.samples for c in chunks], axis=1))
    for b in blocks:
        assert b.n > 0 and np.array_equal(b.samples[0], np.arange(b.first_index, b.end_index))
        inside = np.arange(b.first_index + 1, b.end_index)  # no block boundary within
        assert not np.any((inside - shift) % step == 0)
    assert not blocks or blocks[0].missing_before == blocks[0].first_index - 5  # from 5 on
    for before, after in zip(blocks[:-1], blocks[1:], strict=True):
        gap = after.first_index - before.end_index
        assert after.missing_before == gap  # the block after a gap says it, others 0
        assert gap > 0 or (before.end_index - shift) % step == 0  # cut at gaps and there only


def test_a_block_inside_one_chunk_is_a_view_of_it():
    x = np.zeros((2, 1000), dtype=np.float32)
    blocks = list(regrouped([Chunk(0, x)], 300, 70))
    assert [(b.first_index, b.n) for b in blocks] == [
        (0, 70),
        (70, 300),
        (370, 300),
        (670, 300),
        (970, 30),
    ]
    assert all(np.shares_memory(b.samples, x) for b in blocks)


def test_a_stored_night_in_one_minute_blocks_scores_as_analyze(awake_recording):
    sim, x = awake_recording
    minute = int(60 * sim.fs)
    chunks = [Chunk(a, x[:, a : a + minute]) for a in range(0, x.shape[1], minute)]
    stored = analyze_chunks(chunks, sim.info, calibration=CALIBRATION, total=x.shape[1])
    whole = analyze(x, sim.fs, calibration=CALIBRATION, block=None)
    assert stored.events == whole.events and stored.episodes
