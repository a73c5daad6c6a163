"""EDF+ and CSV export of a night, read back with the other EDF library (pyEDFlib)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal import Calibration, analyze
from bruxwatch.store.edf import header_range
from bruxwatch.store.importers import read_csv
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk

pyedflib = pytest.importorskip("pyedflib")
FS = 1000.0
START = dt.datetime(2026, 11, 18, 22, 45, 10, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A 10-minute night with a 3-s gap, stored episodes, feedback and a mark."""
    path = tmp_path_factory.mktemp("edf") / "night.sqlite"
    sim = Simulator(SimulatorConfig(scenario="night", duration_s=600, seed=9, episodes_per_hour=60))
    x = sim.generate()
    x[:, 200_000:203_000] = np.nan  # lost: never written
    cal = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))
    writer = RecordingWriter(
        path, sim.info, calibration=cal, config={"mains_hz": 50.0}, started_at=START
    )
    writer.append(Chunk(0, x[:, :200_000]))
    writer.append(Chunk(203_000, x[:, 203_000:], missing_before=3000))
    episodes = analyze(x[:, :200_000], FS, calibration=cal).episodes
    for e in episodes[:2]:
        writer.add_feedback(
            FeedbackRecord(
                e.start_index + 500,
                (e.start_index + 500) / FS,
                True,
                "vibrate",
                180,
                300,
                4.0,
                "clench",
            )
        )
    writer.add_mark(123.5, "woke up")
    writer.finish("test")
    return path, x


def test_edf_round_trip_samples_annotations_and_start(night, tmp_path, capsys):
    path, x = night
    edf = tmp_path / "night.edf"
    assert main(["export", str(path), "--edf", str(edf), "--patient", "Jane Doe", "--quiet"]) == 0
    assert "EMG Masseter L" in capsys.readouterr().out
    reader = pyedflib.EdfReader(str(edf))
    try:
        assert reader.getSignalLabels() == ["EMG Masseter L", "EMG Masseter R"]
        assert list(reader.getSampleFrequencies()) == [FS, FS]
        assert reader.getPhysicalDimension(0) == "uV"
        assert reader.getStartdatetime() == START.astimezone().replace(tzinfo=None)
        assert "Jane" in reader.getPatientName()
        onsets, durations, texts = reader.readAnnotations()
        for ch in range(2):
            read = reader.readSignal(ch)
            step = (reader.getPhysicalMaximum(ch) - reader.getPhysicalMinimum(ch)) / 65535
            assert step < 0.05  # fine enough for resting EMG of a few uV
            assert read.size == 600_000  # whole 1-s records
            kept = ~np.isnan(x[ch])
            err = np.abs(read[kept] - x[ch][kept].astype(np.float32))
            assert err.max() <= step  # within one quantization step
    finally:
        reader.close()
    texts = [str(t) for t in texts]
    with Recording(path) as rec:
        from bruxwatch.store.scored import score_night

        scored = score_night(rec)
    episodes = [
        (o, d)
        for o, d, t in zip(onsets, durations, texts, strict=True)
        if t.startswith("Clench episode")
    ]
    assert len(episodes) == len(scored.analysis.episodes) >= 5
    for (onset, duration), e in zip(episodes, scored.analysis.episodes, strict=True):
        assert onset == pytest.approx(e.start_s, abs=1e-3)
        assert duration == pytest.approx(e.duration_s, abs=1e-3)
    given = [o for o, t in zip(onsets, texts, strict=True) if t.startswith("Feedback given")]
    assert len(given) == 2 and given[0] == pytest.approx(scored.feedback[0].at_s, abs=1e-3)
    gap = [(o, d) for o, d, t in zip(onsets, durations, texts, strict=True) if "gap" in t]
    assert gap == [(pytest.approx(200.0), pytest.approx(3.0))]
    assert any(t == "Mark: woke up" for t in texts)


def test_csv_export_reads_back_with_time(night, tmp_path):
    path, x = night
    out = tmp_path / "night.csv"
    assert main(["export", str(path), "--csv", str(out)]) == 0
    back = read_csv(out)
    assert back.fs == FS and back.channels == ("left_masseter", "right_masseter")
    assert back.gaps == [(200_000, 3000)]  # the pause in time_s is a gap again
    kept = ~np.isnan(x[0])
    np.testing.assert_allclose(back.samples, x[:, kept], atol=6e-4)


def test_header_range_fits_eight_characters():
    for lo, hi in ((-187500.0, 187500.0), (-0.123456789, 0.5), (3.0, 3.0), (-1111.16, 599.991)):
        a, b = header_range(lo, hi)
        assert a <= lo and b >= hi and a < b
        assert all(len(f"{v:.6f}".rstrip("0").rstrip(".")) <= 8 for v in (a, b))


def test_export_errors_are_one_line(night, tmp_path, capsys):
    path, _ = night
    assert main(["export", str(path)]) == 2
    assert main(["export", str(tmp_path / "none.sqlite"), "--edf", str(tmp_path / "a.edf")]) == 2
    assert main(["export", str(path), "--edf", str(tmp_path / "no" / "a.edf")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("bruxwatch export: error:") for line in lines)


@pytest.mark.parametrize(
    ("patient", "in_header"),
    [("Jürgen Groß", "Jurgen_Gross"), ("Łukasz Øberg", "Lukasz_Oberg"), ("Дмитрий", "Dmitriy")],
)
def test_a_patient_name_is_transliterated_not_dropped(night, tmp_path, capsys, patient, in_header):
    """EDF+ headers are ASCII: letters outside it are written as their nearest ASCII, and the
    header field (bytes 8-88) is read back by a separate reader (pyEDFlib)."""
    path, _ = night
    edf = tmp_path / "night.edf"
    assert main(["export", str(path), "--edf", str(edf), "--patient", patient, "--quiet"]) == 0
    capsys.readouterr()
    field = edf.read_bytes()[8:88].decode("ascii")
    assert in_header in field and "?" not in field
    reader = pyedflib.EdfReader(str(edf))
    try:
        assert reader.getPatientName() == in_header.replace("_", " ")  # it reads _ as a space
    finally:
        reader.close()
