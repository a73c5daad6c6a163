"""Importers: recordings made by other tools are detected, read in uV with their gaps, scored
like the original samples; a malformed file of each kind gives one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import analyze
from bruxwatch.store.importers import RecordingError, read_recording

FS = 250.0
SECONDS = 600


@pytest.fixture(scope="module")
def emg():
    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=SECONDS, fs=FS, seed=11, episodes_per_hour=120)
    )
    return sim.generate().astype(np.float64)


def eight_channels(x: np.ndarray) -> np.ndarray:
    out = np.zeros((8, x.shape[1]))
    out[:2] = x
    out[2:] = np.random.default_rng(0).normal(0, 3, size=(6, x.shape[1]))
    return out


def write_gui_v5(path, x, drop: slice | None = None):
    n = x.shape[1]
    index = np.arange(n) % 256
    keep = np.ones(n, dtype=bool)
    if drop is not None:
        keep[drop] = False
    names = (
        ["Sample Index"]
        + [f"EXG Channel {i}" for i in range(8)]
        + ["Accel Channel 0", "Accel Channel 1", "Accel Channel 2"]
        + ["Other"] * 7
        + ["Analog Channel 0", "Analog Channel 1", "Analog Channel 2"]
        + ["Timestamp", "Other", "Timestamp (Formatted)"]
    )
    with open(path, "w") as f:
        f.write("%OpenBCI Raw EXG Data\n%Number of channels = 8\n%Sample Rate = 250 Hz\n")
        f.write("%Board = OpenBCI_GUI$BoardCytonSerial\n")
        f.write(", ".join(names) + "\n")
        for k in np.flatnonzero(keep):
            exg = ", ".join(f"{v:.6f}" for v in x[:, k])
            t = 1_764_000_000 + k / FS
            f.write(
                f"{index[k]}, {exg}, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, {t:.6f}, 0,"
                f" 2025-11-24 22:00:00.000\n"
            )
    return keep


def write_gui_v4(path, x):
    with open(path, "w") as f:
        f.write("%OpenBCI Raw EEG Data\n%\n%Sample Rate = 250.0 Hz\n")
        f.write("%First Column = SampleIndex\n%Last Column = Timestamp\n")
        f.write("%Other Columns = EEG data in microvolts followed by Accel Data (in G)\n")
        for k in range(x.shape[1]):
            exg = ", ".join(f"{v:.2f}" for v in x[:, k])
            f.write(f"{k % 256}, {exg}, 0.000, 0.000, 0.000, 15:31:23.878\n")


def write_brainflow(path, x, rows: int, exg: range, ts_row: int, drop: slice | None = None):
    n = x.shape[1]
    data = np.zeros((rows, n))
    data[0] = np.arange(n) % 256
    data[list(exg)] = x[: len(exg)]
    data[ts_row] = 1_764_000_000 + np.arange(n) / FS
    keep = np.ones(n, dtype=bool)
    if drop is not None:
        keep[drop] = False
    np.savetxt(path, data[:, keep].T, fmt="%f", delimiter="\t")  # BrainFlow's write_file layout
    return keep


def write_bdf(path, x: np.ndarray, fs: float, physical: float):
    """A BDF+ file (24-bit) of the channels of x in uV, as pyEDFlib writes it."""
    import pyedflib

    writer = pyedflib.EdfWriter(str(path), x.shape[0], file_type=pyedflib.FILETYPE_BDFPLUS)
    writer.setSignalHeaders(
        [
            {
                "label": f"EMG {k}",
                "dimension": "uV",
                "sample_frequency": fs,
                "physical_max": physical,
                "physical_min": -physical,
                "digital_max": 8388607,
                "digital_min": -8388608,
            }
            for k in range(x.shape[0])
        ]
    )
    writer.writeSamples([np.ascontiguousarray(row, dtype=np.float64) for row in x])
    writer.close()
    return path


def scored_like(path, original: np.ndarray, capsys, fs: float = FS) -> dict:
    capsys.readouterr()
    assert main(["analyze", str(path), "--json", "--quiet"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = analyze(original, fs).to_dict()
    onsets_got = [e["start_s"] for e in got["episodes"]]
    onsets_want = [e["start_s"] for e in want["episodes"]]
    assert len(onsets_got) == len(onsets_want) >= 3
    assert np.allclose(onsets_got, onsets_want, atol=0.02)
    return got


def test_openbci_gui_v5_with_a_dropped_run_of_packets(emg, tmp_path, capsys):
    path = tmp_path / "OpenBCI-RAW-2025-11-24_22-00-00.txt"
    x = eight_channels(emg)
    keep = write_gui_v5(path, x, drop=slice(10_000, 10_040))
    rec = read_recording(path)
    assert rec.fs == 250.0 and rec.channels == tuple(f"exg{k}" for k in range(1, 9))
    assert rec.gaps == [(10_000, 40)] and rec.source.startswith("OpenBCI GUI")
    np.testing.assert_allclose(rec.samples, x[:, keep], atol=1e-5)
    # the gap is a gap, not spliced signal: chunk indices jump over it
    chunks = list(rec.chunks(block=4096))
    assert sum(c.missing_before for c in chunks) == 40
    assert chunks[-1].end_index == x.shape[1]


def test_openbci_gui_v4_and_scoring_equals_the_original(emg, tmp_path, capsys):
    path = tmp_path / "OpenBCI-RAW-old.txt"
    write_gui_v4(path, eight_channels(emg))
    rec = read_recording(path)
    assert rec.samples.shape == (8, emg.shape[1]) and rec.fs == 250.0 and rec.gaps == []
    scored_like(path, np.round(eight_channels(emg), 2), capsys)


def test_brainflow_csv_cyton_and_ganglion(emg, tmp_path, capsys):
    cyton = tmp_path / "brainflow_cyton.csv"
    keep = write_brainflow(cyton, eight_channels(emg), 24, range(1, 9), 22, drop=slice(500, 503))
    rec = read_recording(cyton)
    assert rec.source == "BrainFlow CSV (Cyton)" and rec.samples.shape[0] == 8
    assert rec.gaps == [(500, 3)]
    np.testing.assert_allclose(rec.samples[:2], emg[:, keep], atol=1e-5)
    ganglion = tmp_path / "brainflow_ganglion.csv"
    sim = Simulator(
        SimulatorConfig(
            scenario="night", duration_s=SECONDS, fs=200.0, seed=12, episodes_per_hour=120
        )
    )
    x = np.zeros((4, int(SECONDS * 200)))
    x[:2] = sim.generate()
    data = np.zeros((15, x.shape[1]))
    data[1:5] = x
    data[13] = 1_764_000_000 + np.arange(x.shape[1]) / 200.0
    np.savetxt(ganglion, data.T, fmt="%f", delimiter="\t")
    rec = read_recording(ganglion)
    assert rec.source == "BrainFlow CSV (Ganglion)" and rec.fs == 200.0 and rec.gaps == []
    scored_like(ganglion, np.round(x, 6), capsys, fs=200.0)


def test_edf_and_bdf_from_other_tools(emg, tmp_path, capsys):
    edfio = pytest.importorskip("edfio")
    pytest.importorskip("pyedflib")
    edf = tmp_path / "lab.edf"
    signals = [
        edfio.EdfSignal(
            emg[0] / 1000, FS, label="EMG Chin", physical_dimension="mV", physical_range=(-2, 2)
        ),
        edfio.EdfSignal(
            emg[1] / 1000, FS, label="EMG Masseter", physical_dimension="mV", physical_range=(-2, 2)
        ),
        edfio.EdfSignal(
            np.full(SECONDS, 97.0), 1, label="SpO2", physical_dimension="%", physical_range=(0, 100)
        ),
    ]
    edfio.Edf(signals).write(edf)
    rec = read_recording(edf)
    assert rec.channels == ("EMG Chin", "EMG Masseter") and rec.fs == FS
    assert np.abs(rec.samples - emg).max() < 4000 / 65535 * 1.01  # one 16-bit step, in uV
    bdf = write_bdf(tmp_path / "lab.bdf", emg, FS, physical=3000.0)
    rec = read_recording(bdf)
    assert rec.source == "BDF" and np.abs(rec.samples - emg).max() < 0.001  # 24-bit steps
    scored_like(bdf, emg, capsys)


@pytest.mark.parametrize(
    "name, content, message",
    [
        (
            "gui.txt",
            "%OpenBCI Raw EXG Data\n%Sample Rate = 250 Hz\n"
            "Sample Index, EXG Channel 0, Timestamp\n0, 1.0, 5\n1, oops, 6\n",
            "oops",
        ),
        (
            "gui_no_rate.txt",
            "%OpenBCI Raw EXG Data\nSample Index, EXG Channel 0\n0, 1\n",
            "Sample Rate",
        ),
        ("bf.csv", "\t".join(["1.0"] * 24) + "\n" + "\t".join(["1.0"] * 20) + "\n", "line 2"),
        ("broken.edf", "0       " + "x" * 300, "not a readable EDF"),
        ("text.csv", "a,b\n1,2\nthree,4\n", "line 3"),
        ("night.csv", "", "empty file"),
    ],
)
def test_malformed_files_give_one_clear_line(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(RecordingError, match=message):
        read_recording(path, fs=250.0)
    assert main(["analyze", str(path), "--fs", "250"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bruxwatch analyze: error:")


def test_import_replay_and_report_treat_a_gui_file_like_a_night(
    emg, tmp_path, capsys, any_length_is_a_night
):
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.sources import open_device
    from bruxwatch.store.night_writer import RecordingWriter
    from bruxwatch.store.recording import Recording

    source = tmp_path / "OpenBCI-RAW-2025-11-24_22-00-00.txt"
    x = eight_channels(emg)
    write_gui_v5(source, x, drop=slice(10_000, 10_040))
    night = tmp_path / "imported.sqlite"
    settings = any_length_is_a_night
    assert main([*settings, "import", str(source), "--out", str(night), "--mode", "baseline"]) == 0
    assert "1 gap, 160 ms lost" in capsys.readouterr().out
    with Recording(night) as rec:
        assert rec.gaps() == [(10_040, 40)] and rec.session.mode == "baseline"
        assert rec.n_samples == x.shape[1] - 40 and rec.end_index == x.shape[1]
        stored = [(e["start_index"], e["kind"]) for e in rec.episodes()]
    assert len(stored) >= 3
    # replayed through a live session, the file gives the episodes the import stored
    for spec in (f"replay:{source}?speed=0", f"replay:{night}?speed=0"):
        out = tmp_path / f"replayed-{len(spec)}.sqlite"
        device = open_device(spec)
        Session(device, store=lambda info, out=out: RecordingWriter(out, info)).run(
            handle_signals=False
        )
        with Recording(out) as rec:
            assert [(e["start_index"], e["kind"]) for e in rec.episodes()] == stored
            assert rec.gaps() == [(10_040, 40)]
    # the report takes the file itself (imported on the fly) and the stored night alike
    capsys.readouterr()
    assert main([*settings, "report", str(source), str(night), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    modes = sorted(n["mode"] for n in report["nights"])
    assert modes == ["baseline", "imported"]
    assert report["nights"][0]["episodes"] == report["nights"][1]["episodes"]
    assert report["comparison"]["baseline_nights"] == 1
    assert report["comparison"]["feedback_nights"] == 0
    assert main(["import", str(source), "--out", str(night)]) == 2
    assert "already exists" in capsys.readouterr().err
