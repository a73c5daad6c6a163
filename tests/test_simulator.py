"""The simulator: deterministic, chunk-size independent, realistic enough to score."""

from __future__ import annotations

import numpy as np
import pytest

from bruxwatch.devices.base import Device, parse_device_spec
from bruxwatch.emulated.scenario import GroundTruth
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.emulated.simulator_spec import simulator_from_options


def test_same_seed_same_signal_other_seed_differs():
    a = Simulator(SimulatorConfig(scenario="awake", duration_s=20, seed=1)).generate()
    b = Simulator(SimulatorConfig(scenario="awake", duration_s=20, seed=1)).generate()
    c = Simulator(SimulatorConfig(scenario="awake", duration_s=20, seed=2)).generate()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("chunk_s", [0.01, 0.37, 2.5])
def test_chunks_are_slices_of_the_same_recording(chunk_s):
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=7.3, seed=3, chunk_s=chunk_s))
    whole = sim.generate()
    chunks = list(sim.chunks())
    assert chunks[0].first_index == 0
    assert all(b.first_index == a.end_index for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(c.samples.dtype == np.float32 for c in chunks)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks], axis=1), whole)
    assert isinstance(sim, Device)


def test_close_stops_the_stream():
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=60, seed=3, chunk_s=1.0))
    stream = sim.chunks()
    next(stream)
    sim.close()
    assert list(stream) == []


def test_night_truth_is_spaced_and_round_trips(tmp_path):
    sim = Simulator(SimulatorConfig(scenario="night", duration_s=3 * 3600, seed=9, calibrate=True))
    truth = sim.truth
    episodes = truth.episodes
    assert 8 <= len(episodes) <= 25  # about 5 per hour
    assert {e.kind for e in episodes} == {"phasic", "tonic", "mixed"}
    acts = sorted((a for a in truth.activations if a.kind != "mvc"), key=lambda a: a.start_s)
    assert all(b.start_s - a.end_s >= 8.0 for a, b in zip(acts, acts[1:], strict=False))
    assert truth.rest_s[1] < truth.mvc_s[0] < truth.mvc_s[1] < episodes[0].start_s
    path = tmp_path / "truth.json"
    truth.save(path)
    import json

    assert GroundTruth.from_dict(json.loads(path.read_text())) == truth


def test_spectrum_is_emg_like_with_mains_hum():
    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=20, seed=1, mains_hz=60.0))
    x = sim.generate()[0].astype(float)
    from scipy import signal as sps

    f, p = sps.welch(x - x.mean(), fs=sim.fs, nperseg=2000)
    band = (f > 30) & (f < 300)
    assert f[np.argmax(np.where(band, p, 0))] < 250  # carrier power low-to-mid band
    assert p[np.argmin(abs(f - 60))] > 10 * np.median(p[band])  # hum stands out


def test_device_spec_options_build_a_simulator():
    spec = parse_device_spec("sim:scenario=awake,seed=3,minutes=2,fs=500")
    sim = simulator_from_options(spec.options)
    assert sim.fs == 500 and sim.truth.duration_s == 120 and sim.config.seed == 3
    with pytest.raises(ValueError, match="unknown simulator option"):
        simulator_from_options({"colour": "red"})
    with pytest.raises(ValueError, match="unknown scenario"):
        simulator_from_options({"scenario": "party"})


def test_device_spec_parsing():
    spec = parse_device_spec("arduino:/dev/ttyACM0?baud=115200&fs=500")
    assert (spec.scheme, spec.target, spec.options) == (
        "arduino",
        "/dev/ttyACM0",
        {"baud": "115200", "fs": "500"},
    )
    assert parse_device_spec("cyton:/dev/ttyUSB0").target == "/dev/ttyUSB0"
    assert parse_device_spec("sim").scheme == "sim"
    with pytest.raises(ValueError):
        parse_device_spec("sim:seed=1,fast")
