"""Detection on simulated nights scored against the simulator's ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Pipeline, analyze, calibrate
from bruxwatch.signal.evaluation import match_onsets
from bruxwatch.stream import Chunk

SEEDS = [1, 2, 3, 4]


def simulated_night(seed: int) -> tuple[Simulator, np.ndarray]:
    sim = Simulator(
        SimulatorConfig(
            scenario="night", duration_s=1800, seed=seed, calibrate=True, episodes_per_hour=30
        )
    )
    return sim, sim.generate()


def calibration_of(sim: Simulator, x: np.ndarray):
    truth = sim.truth
    end = int(truth.mvc_s[1] * sim.fs)
    envelope = Pipeline(sim.info).process(Chunk(0, x[:, :end])).envelope
    (r0, r1), (m0, m1) = truth.rest_s, truth.mvc_s
    fs = sim.fs
    return calibrate(
        envelope[:, int(r0 * fs) : int(r1 * fs)], envelope[:, int(m0 * fs) : int(m1 * fs)]
    )


@pytest.mark.parametrize("calibrated", [True, False], ids=["calibrated", "adaptive"])
def test_episode_f1_over_seeds(calibrated):
    tp = fp = fn = 0
    agreement = []
    for seed in SEEDS:
        sim, x = simulated_night(seed)
        cal = calibration_of(sim, x) if calibrated else None
        result = analyze(x, sim.fs, calibration=cal, exclude_s=[(0.0, sim.truth.mvc_s[1])])
        found = [(e.start_s, e.kind) for e in result.episodes if not e.artifact]
        truth = [(a.start_s, a.kind) for a in sim.truth.episodes]
        m = match_onsets(found, truth, tolerance_s=0.5)
        tp, fp, fn = tp + m.true_positives, fp + m.false_positives, fn + m.false_negatives
        agreement.append(m.kind_agreement)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert tp >= 40, "too few episodes to judge"
    assert f1 >= 0.95, (tp, fp, fn)
    assert min(agreement) >= 0.9


def test_swallows_twitches_and_pops_are_not_episodes():
    sim = Simulator(
        SimulatorConfig(
            scenario="awake",
            duration_s=900,
            seed=5,
            episodes_per_hour=0.0,
            swallows_per_hour=80,
            twitches_per_hour=120,
            pops_per_hour=30,
        )
    )
    x = sim.generate()
    kinds = {a.kind for a in sim.truth.activations}
    assert {"swallow", "twitch"} <= kinds and sim.truth.pops
    result = analyze(x, sim.fs)
    assert result.episodes == []
    # Each burst is a single swallow or twitch (RMS smearing makes a strong twitch a short
    # burst); electrode pops make none.
    assert result.bursts
    for burst in result.bursts:
        sources = [
            a
            for a in sim.truth.activations
            if a.start_s - 0.3 < burst.end_s and burst.start_s < a.end_s + 0.3
        ]
        assert len(sources) == 1 and sources[0].kind in ("swallow", "twitch")
        assert all(abs(when - burst.start_s) > 1.0 for when, _ in sim.truth.pops)


def test_truth_onsets_are_found_within_half_a_second_even_one_sided():
    sim, x = simulated_night(7)
    cal = calibration_of(sim, x)
    result = analyze(x, sim.fs, calibration=cal, exclude_s=[(0.0, sim.truth.mvc_s[1])])
    onsets = np.array([e.start_s for e in result.episodes])
    one_sided = [a for a in sim.truth.episodes if min(a.amplitude) < 0.05]
    assert one_sided, "the simulator should script some one-sided clenches"
    for act in sim.truth.episodes:
        assert np.min(np.abs(onsets - act.start_s)) <= 0.5
