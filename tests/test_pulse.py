"""Heart beats from a pulse sensor (PPG): the beats of the simulated heart found in its pulse
wave, the same for any chunking, and a night recorded with a pulse sensor whose episodes
all have a known heart rate, where the masseter leads leave most unknown."""

from __future__ import annotations

import functools
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bruxwatch.cli import main
from bruxwatch.emulated.body import PPG_FS
from bruxwatch.emulated.scenario import SimulatorConfig
from bruxwatch.emulated.simulator import Simulator
from bruxwatch.signal.pulse import PulseDetector
from bruxwatch.store.recording import Recording
from bruxwatch.stream import PPG

NIGHT = SimulatorConfig(
    duration_s=3600, seed=4, ppg=True, movements_per_hour=6, arousals_per_hour=8
)


@functools.cache
def night_pulse() -> np.ndarray:
    return Simulator(NIGHT).ppg[0]


def test_the_pulse_gives_every_beat_of_the_heart():
    sim = Simulator(NIGHT)
    detector = PulseDetector(PPG_FS)
    detector.add(0, sim.ppg[0])
    peaks = np.array(detector.peaks) / PPG_FS
    beats = sim.beats[(sim.beats > 3.0) & (sim.beats < 3599.0)]
    moving = [(m0 - 1.0, m1 + 1.0) for m0, m1 in sim.truth.movements]
    assert len(moving) >= 3  # body movements swamp the pulse: the detector must recover
    still = [b for b in beats if not any(lo <= b <= hi for lo, hi in moving)]
    # each beat's pulse peaks 0.3-0.5 s after the R wave (transit, the wave's rise, the
    # filter), also after the movements (the next 5 s are left out: relearning the heights)
    settled = [b for b in still if not any(hi <= b <= hi + 5.0 for _, hi in moving)]
    found = [b for b in settled if np.any(np.abs(peaks - b - 0.4) <= 0.12)]
    assert len(found) >= 0.99 * len(settled)
    assert peaks.size <= beats.size * 1.02  # hardly a beat that was not there
    heart = detector.heart()
    true_bpm = 60.0 / np.diff(beats)
    assert abs(heart.mean_bpm() - true_bpm.mean()) < 1.0


@settings(max_examples=15, deadline=None, derandomize=True)
@given(cuts=st.lists(st.integers(1, 60_000), min_size=1, max_size=40))
def test_the_same_beats_for_any_chunking_and_a_gap_restarts_the_filter(cuts):
    ppg = night_pulse()
    gap = (20_000, 20_300)  # 6 s lost
    whole = PulseDetector(PPG_FS)
    whole.add(0, ppg[: gap[0]])
    whole.add(gap[1], ppg[gap[1] :])
    chunked = PulseDetector(PPG_FS)
    edges = sorted({0, *cuts, gap[0], gap[1], ppg.size})
    for lo, hi in zip(edges, edges[1:], strict=False):
        if gap[0] <= lo < gap[1]:
            continue
        chunked.add(lo, ppg[lo:hi])
    assert chunked.peaks == whole.peaks
    assert not [p for p in whole.peaks if gap[1] <= p < gap[1] + 2.0 * PPG_FS]  # settling


def test_a_night_with_a_pulse_sensor_knows_the_heart_rate_of_every_episode(
    tmp_path, capsys, any_length_is_a_night
):
    spec = "sim:minutes=20,fs=500,realtime=0,seed=3,episodes_per_hour=24,arousals_per_hour=6"
    summaries = {}
    for name, extra in (("leads", ""), ("pulse", ",ppg=1")):
        night = tmp_path / f"{name}.sqlite"
        argv = ["record", "--device", spec + extra, "--no-calibrate", "--out", str(night)]
        assert main([*any_length_is_a_night, *argv]) == 0
        capsys.readouterr()
        assert main(["analyze", str(night), "--json", "--quiet"]) == 0
        summaries[name] = json.loads(capsys.readouterr().out)["confirmation"]
    with Recording(tmp_path / "pulse.sqlite") as rec:
        info = rec.aux_streams()[PPG]
        assert (info.fs, info.channels) == (PPG_FS, ("ppg",))
        assert rec.aux_samples(PPG)[1].size >= 20 * 60 * PPG_FS - PPG_FS
    pulse, leads = summaries["pulse"], summaries["leads"]
    assert pulse["episodes"] == leads["episodes"] >= 4  # the same EMG, scored the same
    assert pulse["hr_known"] == pulse["episodes"]  # a clench does not hide the pulse
    assert leads["hr_known"] < leads["episodes"] / 2  # it hides the beats in the leads
    assert pulse["hr_confirmed"] >= 0.6 * pulse["episodes"]
    assert abs(pulse["mean_hr_bpm"] - 60.0) < 8.0
