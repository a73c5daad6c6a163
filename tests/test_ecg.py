"""ECG in the masseter leads: R peaks found, QRS complexes subtracted, no episodes made of
heartbeats, the same output for any chunking, and the samples held back handed on in full."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Calibration, Pipeline, SignalConfig, analyze
from bruxwatch.signal.config import EcgConfig, FilterConfig
from bruxwatch.signal.ecg import EcgCanceller
from bruxwatch.signal.filters import StreamingFilter, design_sos
from bruxwatch.signal.pipeline import processing_delay
from bruxwatch.stream import Chunk

FS = 1000.0


def resting(ecg_uv: float, seconds: float = 120, fs: float = FS, seed: int = 3) -> Simulator:
    return Simulator(
        SimulatorConfig(
            scenario="awake",
            duration_s=seconds,
            fs=fs,
            seed=seed,
            ecg_uv=ecg_uv,
            mains_uv=0.0,
            episodes_per_hour=0.0,
            swallows_per_hour=0.0,
            twitches_per_hour=0.0,
            pops_per_hour=0.0,
        )
    )


def band_passed(sim: Simulator) -> np.ndarray:
    sos = design_sos(sim.fs, FilterConfig(mains_hz=None))
    return StreamingFilter(sos, sim.info.n_channels).process(sim.generate())


def cleaned(y: np.ndarray, fs: float, sizes: list[int] | None = None):
    canceller = EcgCanceller(fs, y.shape[0])
    parts, pos, k = [], 0, 0
    while pos < y.shape[1]:
        n = y.shape[1] - pos if not sizes else sizes[k % len(sizes)]
        out, start = canceller.process(y[:, pos : pos + n], pos)
        assert start == sum(p.shape[1] for p in parts)  # handed on in order, nothing skipped
        parts.append(out)
        pos, k = pos + n, k + 1
    rest, _ = canceller.flush()
    return np.concatenate([*parts, rest], axis=1), canceller


def rms_envelope(y: np.ndarray, fs: float) -> np.ndarray:
    w = round(0.125 * fs)
    c = np.cumsum(np.pad(y[0] ** 2, (w, 0)))
    return np.sqrt((c[w:] - c[:-w]) / w)


def test_r_peaks_are_found_and_the_qrs_complexes_taken_out():
    for fs in (FS, 250.0):
        sim = resting(150.0, fs=fs)
        y = band_passed(sim)
        out, canceller = cleaned(y, fs)
        assert out.shape == y.shape
        beats = np.diff(canceller.r_peaks) / fs
        assert 110 <= len(canceller.r_peaks) <= 125  # a beat a second (RR 1.0 +- 0.05 s)
        assert np.all((beats > 0.75) & (beats < 1.3))  # none missed, none twice
        settled = int(10 * fs)
        clean_floor = np.percentile(rms_envelope(band_passed(resting(0.0, fs=fs)), fs), 99)
        before = np.percentile(rms_envelope(y[:, settled:], fs), 99)
        after = np.percentile(rms_envelope(out[:, settled:], fs), 99)
        assert before > 5 * clean_floor  # heartbeats stand far out of the resting EMG
        assert after < 2 * clean_floor, (fs, before, after, clean_floor)


def test_templates_of_one_or_two_beats_are_subtracted_too():
    """A template may hold fewer beats than the three a subtraction waits for by default:
    it is subtracted once it holds them all, and keeps only the last ones."""
    sim = resting(150.0)
    y = band_passed(sim)
    settled = int(10 * FS)
    before = np.percentile(rms_envelope(y[:, settled:], FS), 99)
    for averaged in (1, 2):
        canceller = EcgCanceller(FS, y.shape[0], EcgConfig(beats_averaged=averaged))
        out = np.concatenate([canceller.process(y, 0)[0], canceller.flush()[0]], axis=1)
        assert len(canceller._windows) == averaged and len(canceller._peaks) == averaged
        after = np.percentile(rms_envelope(out[:, settled:], FS), 99)
        assert after < before / 3  # a one-beat template is noisy, but takes most out


def test_heartbeats_make_no_episode_and_do_not_raise_the_background():
    sim = resting(150.0, seconds=600, seed=4)
    x = sim.generate()
    calibration = Calibration(rest=(2.5, 2.5), mvc=(220.0, 220.0))
    for cal in (None, calibration):
        result = analyze(x, sim.fs, calibration=cal)
        assert result.episodes == [] and result.bursts == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 700), min_size=1, max_size=12))
def test_any_chunking_gives_the_same_output_and_r_peaks(sizes):
    y = _ecg_night()
    reference, ref = cleaned(y, FS)
    out, canceller = cleaned(y, FS, sizes)
    assert canceller.r_peaks == ref.r_peaks
    np.testing.assert_array_equal(out, reference)


def test_the_pipeline_hands_samples_on_late_and_in_full():
    sim = resting(120.0, seconds=20)
    x = sim.generate()
    config = SignalConfig()
    delay = processing_delay(sim.fs, "raw", config)
    assert delay == 70  # 40 ms before the R peak + 30 ms to confirm it, at 1 kHz
    pipeline = Pipeline(sim.info, config)
    first = pipeline.process(Chunk(0, x[:, :500]))
    assert first.first_index == 0 and first.envelope.shape[1] == 500 - delay
    second = pipeline.process(Chunk(500, x[:, 500:]))
    assert second.first_index == 500 - delay
    pipeline.finish()
    assert pipeline.next_index == x.shape[1]  # the held samples were scored at the end
    envelope_only = Pipeline(sim.info.__class__(fs=sim.fs, channels=("a",), kind="envelope"))
    assert envelope_only.process(Chunk(0, x[:1, :300])).envelope.shape[1] == 300


def test_a_long_gap_scores_the_held_samples_before_it():
    sim = resting(120.0, seconds=30)
    x = sim.generate()
    whole = Pipeline(sim.info)
    events = whole.process(Chunk(0, x[:, :10_000])).events
    events += whole.process(Chunk(12_000, x[:, 12_000:], missing_before=2000)).events
    events += whole.finish()
    gaps = [e for e in events if type(e).__name__ == "Gap"]
    assert [(g.at_s, g.missing_s) for g in gaps] == [(10.0, 2.0)]
    chunked = Pipeline(sim.info)
    again = []
    for lo in range(0, 10_000, 333):
        again += chunked.process(Chunk(lo, x[:, lo : min(lo + 333, 10_000)])).events
    for lo in range(12_000, x.shape[1], 777):
        again += chunked.process(Chunk(lo, x[:, lo : lo + 777], 2000 * (lo == 12_000))).events
    again += chunked.finish()
    assert again == events
    assert chunked.r_peaks == whole.r_peaks and len(whole.r_peaks) >= 20


_CACHE: dict = {}


def _ecg_night() -> np.ndarray:
    if "y" not in _CACHE:
        _CACHE["y"] = band_passed(resting(150.0, seconds=20))
    return _CACHE["y"]


def test_the_shortcuts_give_numpys_numbers():
    """ECG removal's helpers stand in for np.median, np.gradient and np.einsum: bit for bit."""
    from bruxwatch.signal.ecg import _gradient, _summed_squares, median_of_few, median_of_rows

    rng = np.random.default_rng(5)
    for size in range(1, 10):
        for _ in range(50):
            values = (rng.standard_normal(size) * 1e3).tolist()
            assert median_of_few(values) == float(np.median(values))
    for length in (1, 2, 3, 32, 125, 126):  # every 4th sample of a block: 250 Hz to 1 kHz
        rows = rng.standard_normal((7, length)) ** 2 * 1e3  # like squared EMG
        assert np.array_equal(median_of_rows(rows), np.median(rows, axis=-1))
        assert np.array_equal(median_of_rows(rows[:, ::2]), np.median(rows[:, ::2], axis=-1))
    for width in (2, 3, 4, 101, 151):
        mean = rng.standard_normal((3, width)) * 40.0
        assert np.array_equal(_gradient(mean), np.gradient(mean, axis=1))
        beats = rng.standard_normal((5, 3, width)) * 40.0  # a run of beats at once
        assert np.array_equal(_gradient(beats), np.gradient(beats, axis=-1))
    for channels in (1, 2, 3, 5):
        x = rng.standard_normal((channels, 10_001)) * rng.uniform(0.1, 1e3, (channels, 1))
        assert np.array_equal(_summed_squares(x), np.einsum("cn,cn->n", x, x))


def _cleaned_in(y: np.ndarray, fs: float, size: int, config, detect_on=None):
    canceller = EcgCanceller(fs, y.shape[0], config, detect_on=detect_on)
    parts = [canceller.process(y[:, lo : lo + size], lo)[0] for lo in range(0, y.shape[1], size)]
    parts.append(canceller.flush()[0])
    return np.concatenate(parts, axis=1), canceller


def test_beats_handled_in_runs_give_what_one_by_one_gives(monkeypatch):
    """A whole block's beats are fitted together; 25-sample chunks cut every window, so each
    beat goes alone. Same output and R peaks, also where clenches make beats misfit, with an
    ECG lead judging, and for a shorter template."""
    from bruxwatch.signal import compiled, ecg

    monkeypatch.setattr(compiled, "_enabled", False)  # the NumPy runs are the ones counted
    handled = []
    run = ecg.EcgCanceller._subtract_run
    monkeypatch.setattr(
        ecg.EcgCanceller,
        "_subtract_run",
        lambda self, buffer, beats: handled.append(run(self, buffer, beats)) or handled[-1],
    )
    cases = [
        (dict(seed=6, ecg_uv=150.0, episodes_per_hour=60.0), None, EcgConfig()),
        (dict(seed=4, ecg_lead=True, ecg_uv=60.0), 2, EcgConfig()),
        (dict(seed=7, ecg_uv=120.0, episodes_per_hour=60.0), None, EcgConfig(beats_averaged=4)),
    ]
    for kw, detect_on, config in cases:
        sim = Simulator(SimulatorConfig(scenario="night", duration_s=300, **kw))
        y = StreamingFilter(design_sos(sim.fs, FilterConfig()), sim.info.n_channels).process(
            sim.generate()
        )
        handled.clear()
        whole, at_once = _cleaned_in(y, sim.fs, y.shape[1], config, detect_on)
        in_runs = sum(handled)
        handled.clear()
        chunked, one_by_one = _cleaned_in(y, sim.fs, 25, config, detect_on)
        assert sum(handled) == 0 and in_runs > 0.75 * len(at_once.r_peaks) > 200
        assert not all(at_once.matched)  # some beats did not fit: the runs were cut there
        assert at_once.r_peaks == one_by_one.r_peaks
        assert at_once.matched == one_by_one.matched
        np.testing.assert_array_equal(whole, chunked)


def test_a_confirmation_longer_than_the_window_after_the_peak():
    """confirm_s may exceed after_s: the template is fitted on the window's samples only."""
    sim = resting(150.0, seconds=60)
    config = SignalConfig(ecg=EcgConfig(after_s=0.01, confirm_s=0.05))
    result = analyze(sim.generate(), sim.fs, config=config)
    y = band_passed(sim)
    whole, canceller = _cleaned_in(y, sim.fs, y.shape[1], config.ecg)
    chunked, again = _cleaned_in(y, sim.fs, 37, config.ecg)
    assert 50 <= len(canceller.r_peaks) <= 65 and again.r_peaks == canceller.r_peaks
    np.testing.assert_array_equal(whole, chunked)
    assert result.heart is not None and len(result.heart.rr_s) > 40
