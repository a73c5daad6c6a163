"""Times and names across imports and exports: the OpenBCI GUI v5's row of zeros, unix
timestamps dating a night, EDF wall-clock start times under non-UTC time zones (a round trip
keeps the instant), and masseter sides surviving a re-export."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.store.importers import read_recording
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk, StreamInfo

FS = 250.0
T0 = 1_764_021_600.0  # 2025-11-24 22:00:00 UTC


@pytest.fixture
def emg():
    rng = np.random.default_rng(3)
    return rng.normal(0.0, 20.0, (8, int(40 * FS)))


@pytest.fixture(params=["Europe/Rome", "America/New_York", "Asia/Kolkata"])
def time_zone(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def write_gui(path, x, *, zero_row: bool, drop=slice(0, 0)):
    """An OpenBCI GUI RAW file: v5 has a row of zeros where v6 has column names."""
    keep = np.ones(x.shape[1], dtype=bool)
    keep[drop] = False
    with open(path, "w") as f:
        f.write("%OpenBCI Raw EXG Data\n%Number of channels = 8\n%Sample Rate = 250 Hz\n")
        f.write("%Board = OpenBCI_GUI$BoardCytonSerial\n")
        if zero_row:
            f.write(", ".join(["0"] + ["0.0"] * 24) + "\n")
        else:
            names = ["Sample Index"] + [f"EXG Channel {i}" for i in range(8)]
            names += ["Accel Channel 0", "Accel Channel 1", "Accel Channel 2"] + ["Other"] * 7
            names += ["Analog Channel 0", "Analog Channel 1", "Analog Channel 2"]
            names += ["Timestamp", "Other", "Timestamp (Formatted)"]
            f.write(", ".join(names) + "\n")
        for k in np.flatnonzero(keep):
            exg = ", ".join(f"{v:.6f}" for v in x[:, k])
            stamp = T0 + k / FS
            clock = dt.datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            f.write(
                f"{k % 256}, {exg}, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, {stamp:.6f},"
                f" 0, {clock}\n"
            )


@pytest.mark.parametrize("zero_row", [True, False], ids=["v5", "v6"])
def test_gui_files_start_at_their_first_timestamp_without_an_invented_gap(emg, tmp_path, zero_row):
    path = tmp_path / "OpenBCI-RAW-2025-11-24_22-00-00.txt"
    write_gui(path, emg, zero_row=zero_row, drop=slice(5000, 5010))
    rec = read_recording(path)
    assert rec.samples.shape[1] == emg.shape[1] - 10
    np.testing.assert_allclose(rec.samples[:, :100], emg[:8, :100], atol=1e-4)
    assert rec.gaps == [(5000, 10)]
    assert rec.start == dt.datetime.fromtimestamp(T0, dt.UTC)


def test_brainflow_csv_starts_at_its_first_timestamp(emg, tmp_path):
    data = np.zeros((24, emg.shape[1]))
    data[0] = np.arange(emg.shape[1]) % 256
    data[1:9] = emg
    data[22] = T0 + 7 + np.arange(emg.shape[1]) / FS
    path = tmp_path / "brainflow.csv"
    np.savetxt(path, data.T, fmt="%f", delimiter="\t")
    assert read_recording(path).start == dt.datetime.fromtimestamp(T0 + 7, dt.UTC)


def test_import_dates_the_night_from_the_file_not_its_modification_time(emg, tmp_path, capsys):
    path = tmp_path / "OpenBCI-RAW-2025-11-24_22-00-00.txt"
    write_gui(path, emg, zero_row=True)
    out = tmp_path / "night.sqlite"
    assert main(["import", str(path), "--out", str(out)]) == 0
    with Recording(out) as night:
        assert started(night) == dt.datetime.fromtimestamp(T0, dt.UTC)


def started(night: Recording) -> dt.datetime:
    return dt.datetime.fromisoformat(night.session.started_at)


def night_with(tmp_path, channels, start) -> str:
    info = StreamInfo(fs=FS, channels=channels, units="uV")
    path = tmp_path / "night.sqlite"
    writer = RecordingWriter(path, info, started_at=start)
    rng = np.random.default_rng(1)
    writer.append(Chunk(0, rng.normal(0, 20, (len(channels), int(30 * FS))).astype(np.float32)))
    writer.finish()
    return str(path)


def test_edf_round_trips_keep_the_instant_and_the_sides(tmp_path, time_zone, capsys):
    start = dt.datetime(2026, 3, 29, 0, 30, 0, tzinfo=dt.UTC)  # a DST night in Europe
    night = night_with(tmp_path, ("left_masseter", "right_masseter"), start)
    first = tmp_path / "first.edf"
    assert main(["export", night, "--edf", str(first), "--quiet"]) == 0
    assert main(["import", str(first), "--out", str(tmp_path / "back.sqlite")]) == 0
    with Recording(tmp_path / "back.sqlite") as back:
        assert started(back) == start, time_zone
        assert back.info.channels == ("EMG Masseter L", "EMG Masseter R")
    again = tmp_path / "again.edf"
    assert main(["export", str(tmp_path / "back.sqlite"), "--edf", str(again), "--quiet"]) == 0
    rec = read_recording(again)
    assert rec.channels == ("EMG Masseter L", "EMG Masseter R")
    assert rec.start == start
