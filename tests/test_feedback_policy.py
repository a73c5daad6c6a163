"""When a clench earns a buzz: onset delay, refractory period, repeats, hourly cap, baseline."""

from __future__ import annotations

import io

import numpy as np
import pytest

from bruxwatch.firmware_host.actuators import BellActuator, SoundActuator
from bruxwatch.firmware_host.feedback import FeedbackConfig, FeedbackPolicy

FS = 100.0


def run(
    policy: FeedbackPolicy, clenches: list[tuple[float, float]], total_s: float, chunk: int = 7
):
    """Feed clench runs (start s, end s) in chunks; return the decisions."""
    decisions = []
    for end in range(chunk, int(total_s * FS) + chunk, chunk):
        now = end - 1
        since = next((round(a * FS) for a, b in clenches if a * FS <= now < b * FS), None)
        decision = policy.update(since, end)
        if decision:
            decisions.append(decision)
    return decisions


def test_fires_once_the_clench_has_lasted_the_onset_delay():
    decisions = run(FeedbackPolicy(FS), [(10.0, 12.0)], 30)
    assert [(d.trigger_index, d.fired, d.reason) for d in decisions] == [(1050, True, "clench")]


def test_a_swallow_shorter_than_the_delay_does_not_buzz():
    assert run(FeedbackPolicy(FS), [(10.0, 10.45)], 30) == []


def test_refractory_period_between_clenches():
    clenches = [(10.0, 11.0), (15.0, 16.0), (19.8, 21.0), (40.0, 41.0)]
    decisions = run(FeedbackPolicy(FS), clenches, 60)
    # the clench at 15 s falls inside the 10-s refractory; the one still going at 20.5 s fires
    assert [d.trigger_index for d in decisions] == [1050, 2050, 4050]


def test_a_long_clench_gets_stronger_repeats():
    decisions = run(FeedbackPolicy(FS, FeedbackConfig(strength=100)), [(10.0, 22.0)], 30)
    assert [d.trigger_index for d in decisions] == [1050, 1550, 2050]
    assert [d.strength for d in decisions] == [100, 125, 156]
    assert decisions[1].reason == "clench continues (pulse 2)"


def test_hourly_cap():
    config = FeedbackConfig(max_per_hour=2, refractory_s=1.0)
    clenches = [(10.0 * k, 10.0 * k + 1) for k in range(1, 6)]
    decisions = run(FeedbackPolicy(FS, config), clenches, 60)
    assert [d.fired for d in decisions] == [True, True, False, False, False]
    assert decisions[-1].reason == "hourly cap"


def test_baseline_logs_the_same_decisions_without_firing():
    clenches = [(10.0, 11.0), (15.0, 16.0), (19.8, 21.0)]
    feedback = run(FeedbackPolicy(FS), clenches, 40)
    baseline = run(FeedbackPolicy(FS, FeedbackConfig(mode="baseline")), clenches, 40)
    assert [d.trigger_index for d in baseline] == [d.trigger_index for d in feedback]
    assert not any(d.fired for d in baseline)
    assert all(d.reason.startswith("baseline") for d in baseline)


def test_decisions_do_not_depend_on_chunk_size():
    clenches = [(3.0, 9.0), (14.0, 14.7), (30.0, 30.4), (41.0, 44.0)]
    sizes = [1, 5, 10, 33]
    results = [[d.trigger_index for d in run(FeedbackPolicy(FS), clenches, 60, n)] for n in sizes]
    assert all(r == results[0] for r in results)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        FeedbackConfig(mode="loud")
    with pytest.raises(ValueError):
        FeedbackConfig(strength=300)


def test_bell_and_tone():
    out = io.StringIO()
    BellActuator(out).fire(100, 200)
    assert out.getvalue() == "\a"
    sound = SoundActuator()
    tone = sound.tone(255, 200)
    assert tone.dtype == np.int16 and len(tone) == 4410
    assert abs(tone).max() > 10000 and abs(tone[:5]).max() < 2000  # faded in, no click
    spectrum = np.abs(np.fft.rfft(tone))
    assert abs(np.argmax(spectrum) * sound.rate / len(tone) - 440) < 10
    sound.player = None
    sound.fire(100, 100)  # no player: a warning, no exception
