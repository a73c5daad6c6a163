"""Heart rate, movement and position confirm an episode: each stage on input made apart from
the simulator (hand-placed beats, accelerometer vectors, Cole-Kripke worked by hand), the
same result for any chunking, and the whole path through `bruxwatch record` over the Cyton
emulator (accelerometer and a channel wired as ECG) to the JSON the user reads."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bruxwatch.cli import main
from bruxwatch.emulated.scenario import SimulatorConfig
from bruxwatch.emulated.serial_boards import CytonEmulator
from bruxwatch.emulated.simulator import Simulator
from bruxwatch.signal.analysis import analyze_chunks
from bruxwatch.signal.config import HeartConfig, MovementConfig, SignalConfig
from bruxwatch.signal.confirmation import confirm
from bruxwatch.signal.heart_rate import episode_heart, heart_rate
from bruxwatch.signal.movement import (
    POSITIONS,
    UP_AXIS,
    EpochAccumulator,
    activity_counts,
    epochs_of,
    sleep_minutes,
)
from bruxwatch.signal.pipeline import Pipeline
from bruxwatch.stream import ACCEL, EMG, Chunk

FS = 1000.0


# --------------------------------------------------------------------------- heart rate
def test_a_false_beat_a_missed_beat_and_a_misshapen_beat_are_left_out():
    beats = list(np.arange(0.0, 30.0, 1.0))  # 60 bpm
    beats.insert(15, 14.45)  # a clench's onset taken for a beat: two halved intervals
    beats.remove(22.0)  # a beat lost: one doubled interval
    matched = [True] * len(beats)
    matched[9] = False  # its shape did not fit the template: both its intervals go
    hr = heart_rate([round(b * FS) for b in beats], matched, FS)
    assert np.all(np.abs(hr.rr_s - 1.0) < 1e-9)
    assert hr.rr_s.size == len(beats) - 1 - 2 - 2 - 1
    assert hr.rejected == 5 and hr.beats == len(beats)
    assert abs(hr.mean_bpm() - 60.0) < 1e-6


def test_stray_beats_far_apart_give_no_heart_rate_only_a_run_of_consistent_ones_does():
    # a weak ECG in the masseter leads: one beat in five of a 60-bpm heart found, here and
    # there; their intervals of 1 s and 2 s (a beat missed between) each lie within 30-180
    # bpm, and taken alone made a heart rate of 43 bpm; what counts now is the rare run of
    # six beats found in a row, and it is right
    rng = np.random.default_rng(3)
    heart = np.arange(0.0, 3600.0, 1.0)
    found = heart[rng.random(heart.size) < 0.2]
    hr = heart_rate([round(t * FS) for t in found], [True] * found.size, FS)
    assert 0 < hr.rr_s.size < 0.05 * found.size
    assert np.all(np.abs(hr.rr_s - 1.0) < 1e-9) and abs(hr.mean_bpm() - 60.0) < 1e-6
    # one in ten: no run at all, so no heart rate rather than a wrong one
    sparse = heart[rng.random(heart.size) < 0.1]
    hr = heart_rate([round(t * FS) for t in sparse], [True] * sparse.size, FS)
    assert hr.rr_s.size == 0 and hr.mean_bpm() is None and hr.resting_bpm() is None
    # at the start, four good intervals and then a misfit: too short a run to trust; the
    # five after it are a run, and count from their first interval on
    beats = list(np.arange(0.0, 12.0, 1.0))
    matched = [True] * len(beats)
    matched[4] = False
    hr = heart_rate([round(b * FS) for b in beats], matched, FS)
    assert hr.t_s.tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    assert hr.rejected == len(beats) - 1 - 6


def test_an_episode_is_hr_confirmed_by_a_rise_of_a_fifth_around_its_onset():
    onset = 60.0
    rr = [1.0] * 70
    times = list(np.cumsum(rr))
    faster = [t for t in times if t < onset] + list(onset + np.cumsum([0.75] * 8))
    faster += list(faster[-1] + np.cumsum([1.0] * 10))
    config = HeartConfig()
    flat = heart_rate([round(t * FS) for t in times], [True] * len(times), FS)
    risen = heart_rate([round(t * FS) for t in faster], [True] * len(faster), FS)
    assert episode_heart(flat, onset, config).confirmed is False
    confirmed = episode_heart(risen, onset, config)
    assert confirmed.confirmed is True and abs(confirmed.rise - 1 / 0.75 + 1) < 1e-6
    assert episode_heart(risen, onset, HeartConfig(rise=0.4)).confirmed is False
    hidden = heart_rate(  # no beats after the onset (a clench over the masseter leads)
        [round(t * FS) for t in times if not onset <= t < onset + 5.0],
        [True] * sum(not onset <= t < onset + 5.0 for t in times),
        FS,
    )
    assert episode_heart(hidden, onset, config).confirmed is None


def test_the_beats_found_in_the_masseter_leads_are_the_hearts_and_do_not_depend_on_chunks():
    sim = Simulator(SimulatorConfig(duration_s=120, ecg_uv=60.0, seed=3, episodes_per_hour=60))
    x = sim.generate()
    true_beats = sim.beats[sim.beats < 119.5]

    def beats(size: int) -> tuple[list[int], list[bool]]:
        p = Pipeline(sim.info)
        for start in range(0, x.shape[1], size):
            p.process(Chunk(start, x[:, start : start + size]))
        p.finish()
        return p.r_peaks, p.beats_matched

    whole = beats(x.shape[1])
    assert beats(997) == whole and beats(10) == whole
    found = np.array(whole[0])[np.array(whole[1])] / FS
    near = np.abs(found[:, None] - true_beats[None, :]).min(axis=1)
    assert np.mean(near < 0.03) > 0.95  # matched beats are real beats
    assert found.size > 0.85 * true_beats.size


# ----------------------------------------------------------------------------- movement
def _still(position: str, seconds: float, fs: float = 25.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = int(seconds * fs)
    return np.asarray(UP_AXIS[position])[:, None] + rng.normal(0, 0.005, (3, n))


def test_each_position_is_read_from_its_axis_and_shaking_is_movement():
    config = MovementConfig()
    x = np.concatenate([_still(p, 10.0) for p in POSITIONS], axis=1)
    t = np.arange(25 * 4) / 25.0
    x[0, 260:360] += 0.3 * np.sin(2 * np.pi * 2.0 * t)  # 4 s of shaking, from 10.4 s
    epochs = epochs_of(x, 25.0, config)
    assert [epochs.position_at(5.0 + 10 * k) for k in range(5)] == list(POSITIONS)
    moving = np.flatnonzero(epochs.moving(config.moving_g))
    assert moving.tolist() == [10, 11, 12, 13, 14]
    assert epochs.moving_near(15.2, 20.0, config) is True  # within 1 s of the shaking
    assert epochs.moving_near(16.5, 20.0, config) is False
    hours = epochs.hours_by_position()
    assert all(abs(h - 10 / 3600) < 1e-9 for h in hours.values())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 80), min_size=1, max_size=40), st.integers(0, 3))
def test_epochs_are_the_same_for_any_chunking_and_gaps_leave_them_unknown(sizes, gap_at):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.2, (3, 25 * 60)) + np.array(UP_AXIS["left"])[:, None]
    cut = np.cumsum(sizes)
    cut = cut[cut < x.shape[1]]
    pieces = np.split(np.arange(x.shape[1]), cut)
    skipped = pieces.pop(min(gap_at, len(pieces) - 1)) if len(pieces) > 1 else None
    whole = EpochAccumulator(25.0)
    kept = np.concatenate(pieces)
    breaks = np.flatnonzero(np.diff(kept) != 1) + 1
    for part in np.split(kept, breaks):
        whole.add(int(part[0]), x[:, part])
    chunked = EpochAccumulator(25.0)
    for part in pieces:
        chunked.add(int(part[0]), x[:, part])
    a, b = whole.finish(), chunked.finish()
    np.testing.assert_array_equal(a.activity, b.activity)
    np.testing.assert_array_equal(a.position, b.position)
    if skipped is not None and skipped.size >= 25:  # a whole epoch lost is unknown
        first = -(-int(skipped[0]) // 25)
        if (first + 1) * 25 <= skipped[-1] + 1 and first < a.n:
            assert np.isnan(a.activity[first]) and a.position[first] == -1


def test_cole_kripke_scores_by_its_weights():
    counts = np.zeros(12)
    counts[6] = 5.0  # 0.001 x 230 x 5 = 1.15: awake; 106 x 5 / 1000 = 0.53 four minutes on
    asleep = sleep_minutes(counts)
    assert asleep.tolist() == [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]
    counts[6] = 10.0  # 740 / 1000 a minute before and 760 after: asleep; 1060 four after
    assert sleep_minutes(counts).tolist() == [1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1]
    counts[3] = np.nan
    assert sleep_minutes(counts)[3] == -1
    config = MovementConfig()
    epochs = epochs_of(_still("supine", 180.0), 25.0, config)
    assert activity_counts(epochs, config).tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------------------- confirmation
def test_confirmation_keeps_clenches_and_sets_aside_oromotor_and_movement():
    sim = Simulator(
        SimulatorConfig(
            duration_s=1800,
            seed=2,
            chunk_s=1.0,
            ecg_lead=True,
            accelerometer=True,
            episodes_per_hour=16,
            oromotor_per_hour=12,
            movements_per_hour=12,
            movement_emg_share=1.0,
            arousal_share=1.0,
        )
    )
    assert sim.info.channels[-1] == "ecg"
    config = SignalConfig()
    accel = EpochAccumulator(25.0, config.movement)
    emg = []
    for chunk in sim.chunks():
        if chunk.stream == EMG:
            emg.append(chunk)
        else:
            assert chunk.stream == ACCEL
            accel.add(chunk.first_index, chunk.samples)
    analysis = analyze_chunks(emg, sim.info, config=config)
    result = confirm(analysis.episodes, analysis.summary, config, analysis.heart, accel.finish())
    truth = sim.truth

    def kind(e) -> str:
        near = [a for a in truth.activations if a.start_s - 1.0 <= e.start_s <= a.end_s + 1.0]
        return near[0].kind if near else "none"

    kinds = [kind(e) for e in result.episodes]
    assert {"oromotor", "movement"} <= set(kinds) and kinds.count("tonic") + kinds.count(
        "phasic"
    ) + kinds.count("mixed") >= 5
    for k, c in zip(kinds, result.contexts, strict=True):
        if k in ("phasic", "tonic", "mixed"):
            assert c.hr_confirmed is True and c.moving is False and c.confirmed, (k, c)
        elif k == "oromotor":
            assert c.hr_confirmed is False and not c.confirmed, (k, c)
        elif k == "movement":
            assert c.moving is True and not c.confirmed, (k, c)
    s = result.summary
    assert s.has_heart_rate and s.has_accelerometer and abs(s.mean_hr_bpm - 60.0) < 4.0
    assert abs(sum(s.hours_by_position.values()) - 0.5) < 0.01
    assert s.confirmed == sum(k in ("phasic", "tonic", "mixed") for k in kinds)


def test_record_over_a_cyton_with_an_ecg_lead_reports_heart_rate_and_position(
    tmp_path, capsys, any_length_is_a_night
):
    night = tmp_path / "cyton.sqlite"
    body = {"ecg_lead": True, "accelerometer": True, "movements_per_hour": 0.0}
    with CytonEmulator(speed=4.0, **body) as emu:
        argv = ["record", "--device", f"cyton:{emu.path}?ecg=3", "--no-calibrate"]
        argv += ["--duration", "40s", "--out", str(night)]
        assert main([*any_length_is_a_night, *argv]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["analyze", str(night), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    figures = result["confirmation"]
    assert figures["has_heart_rate"] and figures["has_accelerometer"]
    assert 50 < figures["mean_hr_bpm"] < 70 and figures["beats"] >= 30
    assert figures["hours_by_position"]["supine"] > 0.9 * 40 / 3600
    assert main(["report", str(night), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["nights"][0]
    assert 50 < row["mean_hr_bpm"] < 70 and row["supine_hours"] > 0.0
    assert row["channels"].split()[-1] == "ecg"


def test_record_from_the_simulator_with_its_body_prints_the_figures(
    tmp_path, capsys, any_length_is_a_night
):
    night = tmp_path / "sim.sqlite"
    spec = "sim:realtime=0,minutes=3,seed=4,accelerometer=1,ecg_lead=1,movements_per_hour=60"
    argv = ["record", "--device", spec, "--no-calibrate", "--out", str(night)]
    assert main([*any_length_is_a_night, *argv]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["analyze", str(night), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "heart rate: mean" in out and "position: " in out and "confirmed episodes:" in out
    assert main(["analyze", str(night), "--json", "--quiet"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["confirmation"]["has_accelerometer"] and data["confirmation"]["beats"] > 150
    for episode in data["episodes"]:
        assert {"hr_confirmed", "during_movement", "position", "confirmed"} <= set(episode)
    from bruxwatch.store.recording import Recording
    from bruxwatch.store.scored import score_night
    from bruxwatch.ui.report import report_figure

    with Recording(night) as recording:
        scored = score_night(recording)
    texts = [t.get_text() for t in report_figure([scored]).texts]
    assert "Heart rate, movement and position" in texts
    assert any(t.startswith("Position: ") for t in texts), texts
    pdf = tmp_path / "report.pdf"
    assert main(["report", str(night), "--pdf", str(pdf)]) == 0 and pdf.stat().st_size > 10_000


def test_an_ecg_channel_that_is_also_an_emg_channel_is_one_line(tmp_path, capsys):
    night = tmp_path / "x.sqlite"
    argv = ["record", "--device", "cyton:/dev/null?channels=1,2&ecg=2", "--out", str(night)]
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "ecg channel must be 1-8 and not one of the EMG channels 1,2, got 2" in err
    assert not night.exists()


def test_review_draws_the_heart_rate_of_an_ecg_lead(tmp_path, capsys, any_length_is_a_night):
    import pytest

    pg = pytest.importorskip("pyqtgraph")
    from bruxwatch.store.recording import Recording
    from bruxwatch.ui.review import ReviewWindow

    night = tmp_path / "sim.sqlite"
    spec = "sim:realtime=0,minutes=4,seed=6,accelerometer=1,ecg_lead=1,episodes_per_hour=60"
    argv = ["record", "--device", spec, "--no-calibrate", "--out", str(night)]
    assert main([*any_length_is_a_night, *argv]) == 0, capsys.readouterr()
    app = pg.mkQApp()
    with Recording(night) as rec:
        window = ReviewWindow(rec)
        assert not window.heart.isHidden()
        t, bpm = window.heart.getPlotItem().listDataItems()[0].getOriginalDataset()
        assert t.size > 180 and 45 < np.median(bpm) < 75
        window.close()
        window.deleteLater()
        app.processEvents()
    shot = tmp_path / "review.png"
    assert main(["review", str(night), "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 0


def test_a_replayed_night_carries_its_accelerometer_into_the_new_recording(
    tmp_path, capsys, any_length_is_a_night
):
    from bruxwatch.store.recording import Recording

    first, second = tmp_path / "first.sqlite", tmp_path / "second.sqlite"
    spec = "sim:realtime=0,minutes=2,seed=8,accelerometer=1,movements_per_hour=120"
    argv = ["record", "--device", spec, "--no-calibrate", "--out", str(first)]
    assert main([*any_length_is_a_night, *argv]) == 0, capsys.readouterr()
    argv = ["record", "--device", f"replay:{first}?speed=0", "--no-calibrate"]
    argv += ["--out", str(second)]
    assert main([*any_length_is_a_night, *argv]) == 0, capsys.readouterr()
    with Recording(first) as a, Recording(second) as b:
        values, index = a.aux_samples("accel")
        again, again_index = b.aux_samples("accel")
        assert b.aux_streams()["accel"].fs == 25.0 and index.size >= 2 * 60 * 25 - 1
    np.testing.assert_array_equal(again_index, index)
    np.testing.assert_array_equal(again, values)


def test_an_openbci_gui_recording_brings_its_accelerometer_into_the_night(tmp_path, capsys):
    """A real OpenBCI GUI v6 file (tests/data): the GUI holds each reading in every row."""
    from pathlib import Path

    from bruxwatch.store.recording import Recording

    source = Path(__file__).parent / "data" / "OpenBCI_GUI-v6-excerpt.txt"
    night = tmp_path / "gui.sqlite"
    assert main(["import", str(source), "--out", str(night)]) == 0, capsys.readouterr()
    capsys.readouterr()
    with Recording(night) as rec:
        info = rec.aux_streams()["accel"]
        values, index = rec.aux_samples("accel")
        assert rec.info.fs == 250.0 and info.fs == 25.0 and info.units == "g"
    assert index.tolist() == list(range(75))  # 750 samples, one reading every 10th
    rows = [line.split(",") for line in source.read_text().splitlines()[5:]]
    for k in (0, 1, 2, 40, 74):  # the value the GUI held at sample 10 k + 9
        expected = [float(v) for v in rows[10 * k + 9][9:12]]
        np.testing.assert_allclose(values[:, k], expected, atol=1e-6)
    np.testing.assert_allclose(values[:, 1], [0.020, 0.732, 0.444], atol=1e-6)
    assert main(["analyze", str(night), "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["confirmation"]["has_accelerometer"]


def test_a_brainflow_cyton_file_brings_its_accelerometer_with_its_gaps(tmp_path, capsys):
    """Written as BrainFlow's Cyton writes: rows 9-11 hold the last reading (g), zeros
    before the first; the package number counts 0-255; three samples lost."""
    from bruxwatch.store.recording import Recording

    n, rng = 2500, np.random.default_rng(5)
    data = np.zeros((24, n))
    data[0] = np.arange(n) % 256
    data[1:9] = rng.normal(0, 5, (8, n))
    data[22] = 1_764_000_000 + np.arange(n) / 250.0
    readings = rng.normal(0, 0.3, (3, n // 10)) + np.array([[0.0], [0.0], [1.0]])
    for k in range(n // 10):  # a new reading arrives with packet 10 k + 4, held after it
        data[9:12, 10 * k + 4 :] = readings[:, k : k + 1]
    data[9:12, :4] = 0.0
    keep = np.ones(n, dtype=bool)
    keep[1200:1203] = False  # lost: no reading is lost with them (1204 brings the next)
    path = tmp_path / "brainflow.csv"
    np.savetxt(path, np.round(data[:, keep].T, 6), fmt="%.6f", delimiter="\t")
    night = tmp_path / "bf.sqlite"
    assert main(["import", str(path), "--out", str(night)]) == 0, capsys.readouterr()
    with Recording(night) as rec:
        values, index = rec.aux_samples("accel")
        assert sum(missing for _, missing in rec.gaps()) == 3
    assert index.tolist() == list(range(n // 10))  # every reading, at 10 k + 9
    np.testing.assert_allclose(values, readings, atol=2e-6)
