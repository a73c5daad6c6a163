"""Calibrated thresholds on a drifting floor: never below 2x the running rest floor, and the
night's summary says when the floor moved so far that the calibration is doubtful."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Pipeline, SignalConfig, analyze
from bruxwatch.signal.calibration import Calibration
from bruxwatch.signal.events import EpisodeEnd
from bruxwatch.signal.pipeline import processing_delay
from bruxwatch.signal.scoring import calibration_note
from bruxwatch.stream import Chunk
from tests.streaming import by_kind, whole_and_chunked

CALIBRATION = Calibration(rest=(2.4, 2.4), mvc=(230.0, 230.0))


def night(drift: float, seconds: float = 600) -> tuple[Simulator, np.ndarray]:
    sim = Simulator(
        SimulatorConfig(
            scenario="night", duration_s=seconds, seed=5, episodes_per_hour=0, rest_drift=drift
        )
    )
    return sim, sim.generate()


def test_a_steady_floor_leaves_the_calibration_alone():
    sim, x = night(1.0)
    result = analyze(x, sim.fs, calibration=CALIBRATION, channels=sim.info.channels)
    assert result.summary.calibration_note == ""


def test_a_floor_that_rose_makes_the_calibration_doubtful_and_raises_the_threshold():
    """Rest EMG rising to 12x its calibrated level (the electrodes dried out) would cross the
    calibrated threshold (rest + 10 % of MVC = 25 uV) all the time; the guard keeps the
    threshold above twice the floor, so no clench is invented, and the summary says why."""
    sim, x = night(12.0)
    result = analyze(x, sim.fs, calibration=CALIBRATION, channels=sim.info.channels)
    note = result.summary.calibration_note
    assert note.startswith("calibration doubtful: the rest floor rose to ")
    assert "the calibrated rest on left_masseter" in note and note.endswith("recalibrate")
    assert result.summary.episodes <= 1
    pipeline = Pipeline(sim.info, calibration=CALIBRATION)
    pipeline.process(Chunk(0, x))
    fixed = CALIBRATION.thresholds(pipeline.config.threshold)
    assert (pipeline.floor_vs_rest[1] > 8).all()
    assert (pipeline.process(Chunk(x.shape[1], x[:, -1000:])).thresholds > 1.5 * fixed).all()


def test_the_note_names_each_channel_and_either_way():
    note = calibration_note(["left", "right"], [0.9, 0.3], [2.5, 1.1])
    assert "rose to 2.5x the calibrated rest on left" in note
    assert "fell to 0.30x the calibrated rest on right" in note
    assert calibration_note(["left"], [float("nan")], [float("nan")]) == ""


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 40_000), min_size=1, max_size=30))
def test_streaming_equals_offline_with_the_guard(cuts):
    sim, x = night(8.0, seconds=120)
    t = np.arange(x.shape[1]) / sim.fs
    x += (60 * np.sin(2 * np.pi * 70 * t) * ((t % 20) < 3))[None, :]  # clench-like bursts
    whole, expected, chunked, events = whole_and_chunked(
        lambda: Pipeline(sim.info, calibration=CALIBRATION), x, cuts
    )
    assert by_kind(events) == by_kind(expected)  # in one chunk, events come stage by stage
    np.testing.assert_array_equal(chunked.floor_vs_rest, whole.floor_vs_rest)
    assert (whole.floor_vs_rest[1] > 2).all()  # the guard was active
    assert any(isinstance(e, EpisodeEnd) for e in expected)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 40_000), min_size=1, max_size=12), st.integers(0, 3))
def test_the_background_is_its_definition_for_any_chunking(sizes, start_block):
    """At each update point (a multiple of `update_s`) the background becomes the
    `background_percentile` of the decimated envelope (global indices that are multiples of
    `decimate_s`) of the last `background_window_s` before the point, once `warmup_s` of it
    has been seen: found here one point at a time, and by the chunk's partition."""
    from bruxwatch.signal.calibration import AdaptiveBackground
    from bruxwatch.signal.config import ThresholdConfig

    config = ThresholdConfig()
    rng = np.random.default_rng(len(sizes))
    n = 200_000
    envelope = np.abs(rng.normal(3.0, 1.0, (2, n))).astype(np.float32)
    envelope[:, 60_000:90_000] *= 20  # a long clench in the window for a while
    first = start_block * 777  # a stream that does not start at sample 0
    dec = round(config.decimate_s * 1000)
    every = round(config.update_s * 1000)
    window = round(config.background_window_s / config.decimate_s)
    warmup = round(config.warmup_s / config.decimate_s)
    expected = {}  # update point -> background
    for point in range(-(-first // every) * every, first + n, every):
        taken = [i for i in range(-(-first // dec) * dec, point, dec)][-window:]
        if len(taken) >= warmup:
            values = envelope[:, np.asarray(taken) - first]
            k = int(np.floor(config.background_percentile / 100.0 * (len(taken) - 1)))
            expected[point] = np.partition(values, k, axis=-1)[:, k]

    for cuts in (sizes, [n], [999] * 201):
        background = AdaptiveBackground(1000.0, 2, config)
        found, pos = {}, 0
        for size in [*cuts, n]:
            stop = min(n, pos + size)
            for lo, _, value in background.segments(envelope[:, pos:stop], first + pos):
                if not np.isnan(value).all():
                    found.setdefault(first + pos + lo, value.copy())
            pos = stop
        # each update's value holds from its point on: the first segment starting there
        for point, value in expected.items():
            assert np.array_equal(found[point], value), point
        assert len(expected) > 30


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 40_000), min_size=1, max_size=12))
def test_each_sample_is_judged_against_its_own_guarded_threshold(sizes):
    """Above threshold at each sample means: the envelope reaches max(calibrated threshold,
    min_rest_multiple x the running floor of that sample) on a channel, held down to the
    release fraction of it; found here per sample, by the pipeline in stretches of equal
    thresholds, for any chunking, also where each chunk scored begins at a floor update (5 s)."""
    from bruxwatch.signal.calibration import AdaptiveBackground
    from bruxwatch.signal.hysteresis import Hysteresis

    sim, x = night(8.0, seconds=300)
    t = np.arange(x.shape[1]) / sim.fs
    x += (60 * np.sin(2 * np.pi * 70 * t) * ((t % 20) < 3))[None, :]  # clench-like bursts
    delay = processing_delay(sim.fs, "raw", SignalConfig())  # ECG removal's: 70 samples
    for cuts in ([*sizes, x.shape[1]], [5000 + delay] + [5000] * 60):
        pipeline = Pipeline(sim.info, calibration=CALIBRATION)
        envelopes, above, pos = [], [], 0
        for size in cuts:
            out = pipeline.process(Chunk(pos, x[:, pos : pos + size]))
            envelopes.append(out.envelope)
            above.append(out.above)
            pos = min(x.shape[1], pos + size)
        envelope = np.concatenate(envelopes, axis=1)
        config = pipeline.config.threshold
        floor = AdaptiveBackground(sim.fs, 2, config).process(envelope, 0)  # (2, n) per sample
        fixed = CALIBRATION.thresholds(config)[:, None]
        threshold = np.fmax(fixed, config.min_rest_multiple * floor)
        on = (envelope >= threshold).any(axis=0)
        stay = (envelope >= config.release_fraction * threshold).any(axis=0)
        expected = Hysteresis().process(on, stay)
        np.testing.assert_array_equal(np.concatenate(above), expected)
        assert (threshold > fixed).mean() > 0.1  # the guard raised the thresholds
        assert 0.01 < expected.mean() < 0.5
        ratio = floor / np.asarray(CALIBRATION.rest)[:, None]
        expected_range = [np.nanmin(ratio, axis=1), np.nanmax(ratio, axis=1)]
        np.testing.assert_array_equal(pipeline.floor_vs_rest, expected_range)


@given(st.lists(st.integers(0, 2), min_size=1, max_size=30), st.integers(1, 3))
def test_segments_of_equal_thresholds_are_joined_and_nothing_else(rows, channels):
    from bruxwatch.signal.pipeline import _stretches_of_equal

    bounds = np.cumsum([0, *range(1, len(rows) + 1)]).tolist()  # segments of growing length
    segments = [(bounds[k], bounds[k + 1], None) for k in range(len(rows))]
    values = np.repeat(np.array(rows, dtype=float)[:, None], channels, axis=1)
    stretches = _stretches_of_equal(segments, values)
    per_sample = np.concatenate([np.full(hi - lo, values[k, 0]) for lo, hi, k in stretches])
    expected = np.concatenate(
        [np.full(hi - lo, r) for (lo, hi, _), r in zip(segments, rows, strict=True)]
    )
    np.testing.assert_array_equal(per_sample, expected)
    assert [lo for lo, _, _ in stretches] == [0] + [
        segments[k][0] for k in range(1, len(rows)) if rows[k] != rows[k - 1]
    ]
