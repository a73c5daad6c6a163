"""The optional compiled loops give exactly what the NumPy/SciPy code gives, and load only when
a job pays for them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Calibration, analyze, compiled
from bruxwatch.signal.analysis import regrouped
from bruxwatch.signal.config import EcgConfig, FilterConfig, HeartConfig, SignalConfig
from bruxwatch.signal.ecg import EcgCanceller
from bruxwatch.signal.envelope import ExactMovingSum, MovingRms
from bruxwatch.signal.events import EpisodeEnd, Gap
from bruxwatch.signal.filters import StreamingFilter, design_sos
from bruxwatch.signal.heart_rate import heart_rate
from bruxwatch.signal.pipeline import Pipeline, processing_delay
from bruxwatch.stream import Chunk

pytest.importorskip("numba")


@pytest.fixture
def loaded():
    assert compiled.load(), "Numba is installed: the loops must load"
    yield
    compiled.set_enabled(True)


def _chunked(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """Random cut points: blocks below and above `compiled.MIN_SAMPLES` mixed."""
    cuts, pos = [], 0
    while pos < n:
        size = int(rng.choice([1, 7, 300, compiled.MIN_SAMPLES - 1, compiled.MIN_SAMPLES, 9000]))
        cuts.append((pos, min(n, pos + size)))
        pos += size
    return cuts


def _both_ways(run):
    compiled.set_enabled(True)
    fast = run()
    compiled.set_enabled(False)
    plain = run()
    compiled.set_enabled(True)
    return fast, plain


@pytest.mark.parametrize("n_channels", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_filter_is_bit_identical_for_any_chunking(loaded, n_channels, seed):
    rng = np.random.default_rng(seed)
    notches = [50.0, 100.0, 150.0][: 1 + seed * 2]
    sos = design_sos(1000.0, notches_hz=notches)
    x = rng.standard_normal((n_channels, 40_000)) * 30 + rng.uniform(-500, 500, (n_channels, 1))
    cuts = _chunked(rng, x.shape[1])

    def run():
        f = StreamingFilter(sos, n_channels)
        y = np.concatenate([f.process(x[:, a:b]) for a, b in cuts], axis=1)
        return y, f._state.copy()

    (fast, fast_state), (plain, plain_state) = _both_ways(run)
    assert np.array_equal(fast, plain)
    assert np.array_equal(fast_state, plain_state)
    assert np.abs(fast).max() > 1  # the test filtered something


@pytest.mark.parametrize("window", [1, 100, 257])
def test_moving_rms_is_bit_identical_for_any_chunking(loaded, window):
    rng = np.random.default_rng(window)
    x = rng.standard_normal((3, 30_000)) * rng.uniform(0.01, 300, (3, 1))
    cuts = _chunked(rng, x.shape[1])

    def run():
        rms = MovingRms(window, 3)
        return np.concatenate([rms.process(x[:, a:b]) for a, b in cuts], axis=1)

    fast, plain = _both_ways(run)
    assert fast.dtype == plain.dtype == np.float32
    assert np.array_equal(fast, plain)


def test_moving_sum_saturates_as_numpy_does(loaded):
    """Squares beyond the int64 grid saturate at the same value on both paths."""
    x = np.full((2, 5000), 3.0)
    x[0, 2000:2100] = 1e12  # its square on the 2^-12 grid overflows int64
    window = 50

    def run():
        total = ExactMovingSum(window, 2, 2.0**-12)
        return total.process(x, square=True, scale=1.0 / window)

    fast, plain = _both_ways(run)
    assert np.array_equal(fast, plain)
    assert 1e13 < fast[0, 2099] < 1e23  # saturated, short of the squares (1e24)


@pytest.mark.parametrize("calibrated", [True, False])
def test_analyze_scores_a_bedroom_night_identically(loaded, calibrated):
    sim = Simulator(
        SimulatorConfig(
            scenario="night",
            duration_s=1200.0,
            fs=1000.0,
            seed=2,
            mains_uv=40.0,
            ecg_uv=80.0,
            rest_drift=2.0,
        )
    )
    x = sim.generate()
    calibration = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0)) if calibrated else None

    def run():
        return analyze(x, 1000.0, calibration=calibration)

    fast, plain = _both_ways(run)
    assert fast.events == plain.events
    assert fast.episodes and fast.episodes == plain.episodes
    assert fast.bad_intervals == plain.bad_intervals
    assert fast.heart is not None and plain.heart is not None and fast.heart.beats > 500
    assert np.array_equal(fast.heart.t_s, plain.heart.t_s)
    assert np.array_equal(fast.heart.rr_s, plain.heart.rr_s)
    assert fast.summary.to_dict() == plain.summary.to_dict()


def test_the_compiled_sum_is_numpys_to_the_last_bit(loaded):
    """ECG removal's least-squares sums follow NumPy's summation order (pairwise, eight
    partial sums): every length around its block edges, magnitudes far apart."""
    from bruxwatch.signal.compiled_loops import pairwise_sum

    rng = np.random.default_rng(11)
    lengths = [*range(0, 300), 511, 1000, 1023, 4097]
    differing = 0
    for n in lengths:
        for _ in range(3):
            x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
            differing += pairwise_sum(x) != np.add.reduce(x)
            rows = rng.standard_normal((2, 3, n))
            products = rows * rows
            sums = products.sum(-1)  # as ECG removal sums: over the last axis of a 3-D array
            differing += sum(
                pairwise_sum(products[i, j]) != sums[i, j] for i in range(2) for j in range(3)
            )
    assert differing == 0


def _ecg_cases():
    """Nights whose ECG removal sees misfits (clenches), an ECG lead judging, and templates
    of 1, 2, 4 and 8 beats."""
    return [
        (dict(seed=6, ecg_uv=150.0, episodes_per_hour=60.0), None, EcgConfig()),
        (dict(seed=4, ecg_lead=True, ecg_uv=60.0), 2, EcgConfig()),
        (dict(seed=7, ecg_uv=120.0, episodes_per_hour=60.0), None, EcgConfig(beats_averaged=4)),
        (dict(seed=8, ecg_uv=100.0, episodes_per_hour=60.0), None, EcgConfig(beats_averaged=2)),
        (dict(seed=9, ecg_uv=100.0, episodes_per_hour=60.0), None, EcgConfig(beats_averaged=1)),
    ]


@pytest.mark.parametrize("case", range(6))
def test_ecg_removal_is_bit_identical_for_any_chunking(loaded, case):
    """Case 5 is case 0 with NaN in a few samples: a block holding one is not searched for a
    beat (its largest value is NaN), and the R peak found where one is (as `np.argmax`)."""
    kw, detect_on, config = _ecg_cases()[case % 5]
    sim = Simulator(SimulatorConfig(scenario="night", duration_s=300, mains_uv=20.0, **kw))
    y = StreamingFilter(design_sos(sim.fs, FilterConfig()), sim.info.n_channels).process(
        sim.generate()
    )
    if case == 5:
        y[0, [20_000, 20_001, 90_500, 150_250]] = np.nan
    cuts = _chunked(np.random.default_rng(case), y.shape[1])

    def run():
        canceller = EcgCanceller(sim.fs, y.shape[0], config, detect_on=detect_on)
        parts = [canceller.process(y[:, a:b], a)[0] for a, b in cuts]
        parts.append(canceller.flush()[0])
        return np.concatenate(parts, axis=1), canceller.r_peaks, canceller.matched

    (fast, fast_peaks, fast_matched), (plain, plain_peaks, plain_matched) = _both_ways(run)
    assert len(plain_peaks) > 250 and not all(plain_matched)  # beats, some of them misfits
    assert fast_peaks == plain_peaks
    assert fast_matched == plain_matched
    assert np.array_equal(fast, plain, equal_nan=True)
    assert not np.array_equal(plain, y, equal_nan=True)  # beats were taken out


def test_the_float64_copy_checks_what_held_valid_checks(loaded):
    """One pass converts a chunk and checks it against the valid range: inclusive bounds,
    NaN and infinities outside, float32 and float64, rows that lie apart."""
    from bruxwatch.signal.compiled_loops import checked_float64

    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        wide = (rng.standard_normal((2, 9000)) * 100).astype(dtype)
        samples = wide[:, 500:8500]  # a view: its rows lie apart
        for bad in (None, np.nan, np.inf, -np.inf, 1000.5, -1000.5, 1000.0):
            x = samples.copy()
            if bad is not None:
                x[1, 4321] = bad
            view = wide.copy()
            view[:, 500:8500] = x
            out = np.empty(x.shape)
            valid = checked_float64(view[:, 500:8500], out, -1000.0, 1000.0)
            assert valid == bool(np.all((x >= -1000.0) & (x <= 1000.0)))
            assert np.array_equal(out, x.astype(np.float64), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_impossible_samples_are_held_alike(loaded, dtype):
    """Chunks with samples beyond the rails, NaN and infinities, as float32, float64 or
    integers, through the pipeline both ways: the same filtered signal and events."""
    from bruxwatch.signal import Pipeline
    from bruxwatch.stream import Chunk

    sim = Simulator(SimulatorConfig(scenario="night", duration_s=120.0, fs=1000.0, seed=3))
    x = sim.generate() * 1000
    x[0, 30_000:30_050] = 2e9  # beyond max_abs
    if dtype != np.int32:
        x[1, 70_000] = np.nan
        x[0, 90_000:90_003] = np.inf
    x = x.astype(dtype)
    cuts = _chunked(np.random.default_rng(1), x.shape[1])

    def run():
        pipeline = Pipeline(sim.info)
        results = [pipeline.process(Chunk(a, x[:, a:b])) for a, b in cuts]
        events = [e for r in results for e in r.events] + pipeline.finish()
        return np.concatenate([r.filtered for r in results], axis=1), events

    (fast, fast_events), (plain, plain_events) = _both_ways(run)
    assert np.isfinite(plain).all()  # the impossible samples were held
    assert np.array_equal(fast, plain)
    assert fast_events == plain_events
    assert any("invalid" in getattr(e, "flags", ()) for e in plain_events)


def test_a_channel_left_out_is_left_out_alike(loaded):
    """With one lead flat for a while (the quality gate leaves it out), calibrated detection
    counts the other channel only, on both paths."""
    sim = Simulator(SimulatorConfig(scenario="night", duration_s=1200.0, fs=1000.0, seed=2))
    x = sim.generate()
    x[1, 200_000:700_000] = 0.0
    calibration = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))
    fast, plain = _both_ways(lambda: analyze(x, 1000.0, calibration=calibration))
    assert fast.bad_intervals  # the flat lead was noticed
    assert fast.events == plain.events
    assert any(200 < e.start_s < 700 for e in fast.bursts)  # scored on the other channel


def test_a_recorded_night_with_gaps_scores_alike(loaded):
    """A stored night as the store hands it on: one-minute chunks, a short gap bridged, a long
    one restarting the chain, and an impossible sample, cut into blocks as `analyze_chunks`
    cuts them. Both paths give the same samples at every stage, sample for sample (the held
    samples put in the room before each block included), and the same events and beats."""
    sim = Simulator(
        SimulatorConfig(
            scenario="night", duration_s=1200.0, fs=1000.0, seed=2, mains_uv=40.0, ecg_uv=80.0
        )
    )
    x = sim.generate()
    x[0, 400_123] = np.nan  # held at the last valid sample, on both paths
    minute = 60_000
    chunks = []
    for a in range(0, x.shape[1], minute):
        part = x[:, a : a + minute]
        if a == 4 * minute:
            part = part[:, 20:]  # 20 ms lost: bridged
        if a == 9 * minute:
            part = part[:, 30_000:]  # 30 s lost: the chain starts again
        first = a + minute - part.shape[1] if a in (4 * minute, 9 * minute) else a
        chunks.append(Chunk(first, part))
    calibration = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))
    delay = processing_delay(sim.fs, "raw", SignalConfig())

    def run():
        pipeline = Pipeline(sim.info, calibration=calibration)
        events, outputs, judged_raw = [], [], []
        judge = pipeline.quality.process

        def judged(raw, filtered, first, invalid=None):  # the raw input quality is given
            judged_raw.append((first, raw.copy(), None if invalid is None else invalid.copy()))
            return judge(raw, filtered, first, invalid)

        pipeline.quality.process = judged
        for chunk in regrouped(chunks, 50_000, delay):
            out = pipeline.score(chunk, pipeline.filter(chunk))
            events += out.events
            outputs.append((out.first_index, out.filtered.copy(), out.envelope, out.level))
        return events + pipeline.finish(), outputs + judged_raw, judged_raw, pipeline.r_peaks

    (events, fast, raws, beats), (plain_events, plain, _, plain_beats) = _both_ways(run)
    assert events == plain_events and beats == plain_beats and len(beats) > 300
    assert any(isinstance(e, EpisodeEnd) for e in events)
    assert any(isinstance(e, Gap) and e.bridged for e in events)
    assert any(isinstance(e, Gap) and not e.bridged for e in events)
    assert len(fast) == len(plain) > 40
    for (first, *arrays), (plain_first, *plain_arrays) in zip(fast, plain, strict=True):
        assert first == plain_first
        for a, b in zip(arrays, plain_arrays, strict=True):
            assert (a is None and b is None) or np.array_equal(a, b)
    assert any(invalid is not None for _, _, invalid in raws)  # the NaN was held


def test_calibrated_level_meets_its_definition_at_ties_and_left_out_channels(loaded):
    """The compiled detection level against the NumPy definition, on envelopes that sit
    exactly on the thresholds and channels left out where they are the highest."""
    rng = np.random.default_rng(7)
    n = compiled.MIN_SAMPLES + 500
    thresholds = np.array([[20.0, 30.0], [24.0, 30.0], [20.0, 36.0]])  # three stretches
    releases = 0.5 * thresholds
    starts, ends = np.array([0, 1000, 3000]), np.array([1000, 3000, n])
    k_of = np.repeat(np.arange(3), ends - starts)  # the stretch of each sample
    envelope = rng.choice([0.0, 10.0, 12.0, 15.0, 18.0, 20.0, 24.0, 30.0, 36.0, 50.0], (2, n))
    envelope = envelope.astype(np.float32)  # every value above is exact in float32
    taking_part = rng.random((2, n)) > 0.3
    rest, scale = np.array([2.0, 3.0]), np.array([0.5, 0.25])

    fast = compiled.kernels_for(n)
    for part in (taking_part, None):
        on, stay, level = np.empty(n, bool), np.empty(n, bool), np.empty(n)
        mask = np.ones((1, 1), bool) if part is None else part
        fast.calibrated_level(
            envelope, starts, ends, thresholds, releases, rest, scale, mask, part is None,
            on, stay, level,
        )  # fmt: skip
        counted = np.ones((2, n), bool) if part is None else part
        want_on = ((envelope >= thresholds[k_of].T) & counted).any(axis=0)
        want_stay = ((envelope >= releases[k_of].T) & counted).any(axis=0)
        pct = (envelope - rest[:, None]) * scale[:, None]
        want_level = np.where(counted, pct, -np.inf).max(axis=0)
        assert np.array_equal(on, want_on) and np.array_equal(stay, want_stay)
        assert np.array_equal(level, want_level)
        assert (envelope == thresholds[k_of].T).any() and want_on.any() and not want_on.all()


def test_adaptive_level_meets_its_definition_with_left_out_channels(loaded):
    """The compiled adaptive level (float32 ratio to the background, 0 where a channel is left
    out) against the NumPy definition, over three stretches of backgrounds."""
    rng = np.random.default_rng(8)
    n = compiled.MIN_SAMPLES + 700
    starts, ends = np.array([0, 1500, 2500]), np.array([1500, 2500, n])
    k_of = np.repeat(np.arange(3), ends - starts)
    inverses = (1.0 / rng.uniform(1.0, 9.0, (3, 3))).astype(np.float32)
    envelope = (rng.random((3, n)) * 40).astype(np.float32)
    taking_part = rng.random((3, n)) > 0.4
    fast = compiled.kernels_for(n)
    for part in (taking_part, None):
        level = np.empty(n, dtype=np.float32)
        mask = np.ones((1, 1), bool) if part is None else part
        fast.adaptive_level(envelope, starts, ends, inverses, mask, part is None, level)
        ratio = envelope * inverses[k_of].T
        if part is not None:
            ratio[~part] = 0
        assert ratio.dtype == np.float32
        assert np.array_equal(level, ratio.max(axis=0))
    assert (~taking_part).all(axis=0).any()  # somewhere no channel takes part


def _in_a_fresh_process(code: str, **environment: str) -> str:
    env = {**os.environ, **environment}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


SHORT_ANALYSIS = """
import sys
import numpy as np
from bruxwatch.signal import analyze, compiled
x = np.random.default_rng(0).standard_normal((2, 120_000)) * 5
analyze(x, 1000.0)
print(sys.modules.get("numba") is not None, compiled.kernels_for(compiled.MIN_SAMPLES) is not None)
compiled.prepare(compiled.PAYS_OFF_VALUES - 2 * 120_000 - 1)  # one night short of paying
print(sys.modules.get("numba") is not None, compiled.kernels_for(compiled.MIN_SAMPLES) is not None)
analyze(x, 1000.0)  # the jobs now add up to enough
print(sys.modules.get("numba") is not None, compiled.kernels_for(compiled.MIN_SAMPLES) is not None)
"""


def test_numba_loads_once_the_jobs_add_up_to_enough():
    assert _in_a_fresh_process(SHORT_ANALYSIS).split() == ["False"] * 4 + ["True"] * 2


def test_the_environment_switch_keeps_numba_out():
    out = _in_a_fresh_process(SHORT_ANALYSIS, BRUXWATCH_COMPILED="0")
    assert out.split() == ["False"] * 6


def test_without_numba_the_numpy_code_runs():
    code = "import sys\nsys.modules['numba'] = None\n" + SHORT_ANALYSIS
    assert _in_a_fresh_process(code).split() == ["False"] * 6


@pytest.mark.parametrize("reference_beats", [1, 2, 4, 5, 8])
def test_heart_rate_accepts_the_same_intervals(loaded, reference_beats):
    """Beats with missed and false ones, unmatched shapes, pauses longer than the reference
    span and changes of pace: both paths accept the same intervals in the same order."""
    rng = np.random.default_rng(reference_beats)
    fs = 1000.0
    rr = rng.choice([0.8, 0.6, 1.1], size=9000, p=[0.6, 0.3, 0.1]) * rng.normal(1, 0.05, 9000)
    rr[rng.random(9000) < 0.03] *= 2.0  # a beat missed
    rr[rng.random(9000) < 0.03] *= 0.4  # a false beat
    rr[rng.random(9000) < 0.002] += 40.0  # a pause: the reference goes stale
    r_peaks = np.round(np.cumsum(rr) * fs).astype(np.int64)
    matched = rng.random(r_peaks.size) > 0.05
    config = HeartConfig(reference_beats=reference_beats, max_change=0.25)

    def run():
        return heart_rate(r_peaks.tolist(), matched.tolist(), fs, config)

    fast, plain = _both_ways(run)
    assert np.array_equal(fast.t_s, plain.t_s) and np.array_equal(fast.rr_s, plain.rr_s)
    assert (fast.beats, fast.rejected) == (plain.beats, plain.rejected)
    assert 1000 < fast.rr_s.size < r_peaks.size - 500  # some accepted, some rejected
