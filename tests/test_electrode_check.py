"""The electrode check: a verdict per electrode from rest noise, mains hum, a flat or
clipped lead and a test clench, on signals with known levels and through the command."""

from __future__ import annotations

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.signal.electrode_check import CHECK, check_electrodes

FS = 1000.0


def rig(rest_uv=2.0, mains_uv=0.0, clench_uv=100.0, seed=0, n_s=CHECK.end_s):
    """One channel: white noise at rest (µV RMS), a 50-Hz sine (µV RMS), and a clench of
    `clench_uv` RMS in the check's clench window."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(n_s * FS)) / FS
    x = rng.normal(0, rest_uv, t.size) + mains_uv * np.sqrt(2) * np.sin(2 * np.pi * 50 * t)
    a, b = CHECK.clench_s
    inside = (t >= a) & (t < b)
    x[inside] += rng.normal(0, clench_uv, inside.sum())
    return x


def test_levels_are_measured_in_microvolts():
    (v,) = check_electrodes(rig(rest_uv=4.0, mains_uv=30.0)[None], FS, ["left"], mains_hz=50.0)
    # white noise of 4 µV RMS keeps about the 20-450 Hz share of its power, twice filtered
    assert 2.5 < v.rest_uv < 4.0
    assert v.mains_uv == pytest.approx(30.0, rel=0.1)
    assert v.verdict == "fair" and "mains hum" in v.advice
    (v,) = check_electrodes(rig(rest_uv=2.0)[None], FS, ["left"], mains_hz=None)
    assert v.verdict == "good" and v.advice == "ready" and v.mains_uv < 2.0
    assert v.clench_ratio == pytest.approx(100 / 2 * 0.93, rel=0.25)


@pytest.mark.parametrize(
    ("signal", "verdict", "advice"),
    [
        (rig(rest_uv=25.0, clench_uv=400.0), "bad", "too noisy at rest"),
        (rig(rest_uv=8.0, clench_uv=400.0), "fair", "a little noisy"),
        (rig(mains_uv=150.0), "bad", "strong mains hum"),
        (rig(clench_uv=4.0), "bad", "test clench hardly shows"),
        (rig(clench_uv=12.0), "fair", "test clench shows weakly"),
        (np.full(int(CHECK.end_s * FS), 812.0), "bad", "the lead reads a flat line"),
    ],
)
def test_each_problem_gets_its_verdict_and_advice(signal, verdict, advice):
    (v,) = check_electrodes(signal[None], FS, ["right"], mains_hz=50.0)
    assert v.verdict == verdict and advice in v.advice, v


def test_a_lead_at_the_rails_is_off_and_counts_are_judged_only_by_the_clench():
    rails = (-100.0, 100.0)
    clipped = np.clip(rig(rest_uv=500.0), *rails)
    (v,) = check_electrodes(clipped[None], FS, ["L"], rails=rails)
    assert v.verdict == "bad" and "amplifier's limit" in v.advice
    counts = rig(rest_uv=40.0, mains_uv=200.0, clench_uv=900.0) + 512  # ADC counts
    (v,) = check_electrodes(counts[None], FS, ["L"], units="counts")
    assert v.verdict == "good" and v.rest_uv is None and v.mains_uv is None
    assert v.text().startswith("L: GOOD (clench")
    with pytest.raises(ValueError, match="needs 16 s of signal"):
        check_electrodes(rig(n_s=5.0)[None], FS, ["L"])


@pytest.mark.parametrize(
    ("options", "status", "expect"),
    [
        ("", 0, ["left_masseter: GOOD", "right_masseter: GOOD", "electrodes ready"]),
        (
            ",dead_leads=2",
            1,
            ["right_masseter: BAD: no signal", "not ready: see to right_masseter"],
        ),
        (",noisy_lead=1/30", 1, ["left_masseter: BAD (rest", "too noisy at rest"]),
        (",mains_uv=60", 0, ["FAIR", "some mains hum"]),
    ],
)
def test_the_check_command_on_the_simulated_wearer(capsys, options, status, expect):
    device = f"sim:scenario=calibration,realtime=0{options}"
    assert main(["check", "--device", device]) == status
    out = capsys.readouterr().out
    assert out.startswith("Electrode check: relax your jaw")
    assert "Now CLENCH firmly" in out
    for text in expect:
        assert text in out, out


def test_too_short_a_stream_is_one_line(capsys):
    assert main(["check", "--device", "sim:scenario=awake,realtime=0,minutes=0.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bruxwatch check: error: the check needs 16 s of signal; the sensor gave 6.0 s"]


def test_record_check_checks_first_then_records(tmp_path, capsys):
    out = tmp_path / "n.sqlite"
    device = "sim:scenario=night,calibrate=1,realtime=0,chunk_s=1,minutes=2"
    assert main(["record", "--device", device, "--check", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.index("electrodes ready") < said.index("recording simulator")
    assert out.exists()


def test_the_check_inside_a_running_session_the_live_windows_button():
    from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
    from bruxwatch.firmware_host.session import Session

    sim = Simulator(
        SimulatorConfig(scenario="calibration", duration_s=30, seed=2, dead_leads=(2,), chunk_s=0.1)
    )
    session = Session(sim)
    said, found, steps = [], [], []
    session.on_prompt = said.append
    session.on_check = found.append
    session.subscribers.append(lambda out: steps.append(session.calibration_countdown()))
    session.start_check()
    session.run(handle_signals=False)
    assert said[0].startswith("Electrode check: relax your jaw")
    assert said[-1].startswith("Electrodes: left_masseter: GOOD")
    assert "right_masseter: BAD: no signal" in said[-1]
    (verdicts,) = found
    assert [v.verdict for v in verdicts] == ["good", "bad"]
    assert steps[0] is not None and "CLENCH" in steps[0][1]
    assert steps[-1] is None  # over: no countdown


def test_an_envelope_sensor_at_20_hz_is_judged_by_its_clench():
    fs = 20.0
    level = np.full(int(CHECK.end_s * fs), 40.0)
    a, b = (int(t * fs) for t in CHECK.clench_s)
    level[a:b] = 600.0  # the MyoWare's ENV pin rises with the clench
    (v,) = check_electrodes(
        level[None] + np.random.default_rng(0).normal(0, 2, level.size),
        fs,
        ["env"],
        units="counts",
        kind="envelope",
    )
    assert v.verdict == "good" and v.clench_ratio > 10
