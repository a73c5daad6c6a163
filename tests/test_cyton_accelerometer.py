"""The Cyton's accelerometer as an auxiliary stream: decoded from the aux bytes as OpenBCI's
"Cyton Data Format" describes them (stop byte 0xC0, a new reading when they are not all
zero, 25 Hz), recorded beside the EMG by `bruxwatch record`, read back, kept by repair."""

from __future__ import annotations

import sqlite3

import numpy as np

from bruxwatch.cli import main
from bruxwatch.devices import cyton_protocol
from bruxwatch.emulated.serial_boards import CytonEmulator
from bruxwatch.store.recording import Recording
from tests.test_vendor_encoders import cyton_packet


def test_readings_are_the_aux_bytes_of_0xc0_packets_that_are_not_all_zero():
    rng = np.random.default_rng(4)
    packets, truth = b"", []
    for k in range(60):
        accel, footer = (0, 0, 0), 0xC0
        if k % 10 == 9:
            accel = tuple(int(v) for v in rng.integers(-32768, 32768, 3))
            truth.append((k, accel))
        elif k % 10 == 4:  # other stop bytes carry other aux data, never a reading
            accel, footer = (123, -45, 6789), 0xC1 + k % 6
        packets += cyton_packet(k, list(rng.integers(-(2**23), 2**23, 8)), accel, footer)
    decoded = cyton_protocol.CytonParser().feed(packets + cyton_packet(60, [0] * 8))
    new = np.flatnonzero(decoded.new_accel)
    assert [int(decoded.sample_numbers[j]) for j in new] == [k for k, _ in truth]
    assert [tuple(decoded.accel[:, j].tolist()) for j in new] == [a for _, a in truth]


def test_record_keeps_the_accelerometer_beside_the_emg_and_repair_keeps_it(
    tmp_path, capsys, any_length_is_a_night
):
    night = tmp_path / "cyton.sqlite"
    with CytonEmulator(speed=4.0) as emu:
        argv = ["record", "--device", f"cyton:{emu.path}", "--no-calibrate", "--duration", "8s"]
        assert main([*any_length_is_a_night, *argv, "--out", str(night)]) == 0, capsys.readouterr()
        sent = np.array([a[1:] for a in emu.accel_sent], dtype=np.float64)
    with Recording(night) as rec:
        info = rec.aux_streams()["accel"]
        assert (info.fs, info.channels, info.units) == (
            25.0,
            ("accel_x", "accel_y", "accel_z"),
            "g",
        )
        values, index = rec.aux_samples("accel")
        emg_seconds = rec.end_index / rec.info.fs
    assert np.array_equal(index, np.arange(index[0], index[0] + index.size))  # no gaps
    assert abs(index[-1] / 25.0 - emg_seconds) < 0.5  # the same clock as the EMG
    assert 7.5 * 25 <= index.size <= 8 * 25
    counts = np.rint(values.T / cyton_protocol.ACCEL_G_PER_COUNT)
    start = next(k for k in range(len(sent)) if np.array_equal(sent[k], counts[0]))
    np.testing.assert_array_equal(counts, sent[start : start + len(counts)])  # every reading
    assert np.all(np.abs(values[2] - 1.0) < 0.1)  # lying on the back: 1 g on z

    edf = tmp_path / "cyton.edf"  # EDF+: one more signal per axis, at 25 Hz, in g
    assert main(["export", str(night), "--edf", str(edf), "--quiet"]) == 0
    assert "Accel Z " in capsys.readouterr().out
    import pyedflib

    with pyedflib.EdfReader(str(edf)) as reader:
        labels = reader.getSignalLabels()
        z = labels.index("Accel Z")
        assert reader.getSampleFrequency(z) == 25.0 and reader.getPhysicalDimension(z) == "g"
        exported = reader.readSignal(z)
        step = (reader.getPhysicalMaximum(z) - reader.getPhysicalMinimum(z)) / 65535
    np.testing.assert_allclose(exported[index], values[2], atol=step)
    assert main(["analyze", str(edf), "--quiet"]) == 0  # read back as the EMG it holds

    repaired = tmp_path / "repaired.sqlite"
    assert main(["repair", str(night), "--out", str(repaired)]) == 0
    with Recording(repaired) as rec:
        again, again_index = rec.aux_samples("accel")
    np.testing.assert_array_equal(again, values)
    np.testing.assert_array_equal(again_index, index)


def test_a_night_from_before_auxiliary_streams_reads_as_having_none(tmp_path, capsys):
    night = tmp_path / "old.sqlite"
    argv = ["record", "--device", "sim:scenario=awake,seed=2,realtime=0,minutes=1"]
    assert main([*argv, "--no-calibrate", "--out", str(night)]) == 0, capsys.readouterr()
    with sqlite3.connect(night) as db:
        db.execute("DROP TABLE aux_blocks")
        db.execute("DROP TABLE aux_streams")
    with Recording(night) as rec:
        assert rec.aux_streams() == {}
    out = tmp_path / "old-repaired.sqlite"
    assert main(["repair", str(night), "--out", str(out)]) == 0
    assert "0 unreadable" in capsys.readouterr().out


def test_review_draws_the_accelerometer_under_the_level(tmp_path, capsys, any_length_is_a_night):
    import pytest

    pg = pytest.importorskip("pyqtgraph")
    night = tmp_path / "cyton.sqlite"
    with CytonEmulator(speed=4.0) as emu:
        argv = ["record", "--device", f"cyton:{emu.path}", "--no-calibrate", "--duration", "8s"]
        assert main([*any_length_is_a_night, *argv, "--out", str(night)]) == 0
    from bruxwatch.ui.review import ReviewWindow

    app = pg.mkQApp()
    with Recording(night) as rec:
        window = ReviewWindow(rec)
        curves = window.movement.getPlotItem().listDataItems()
        assert not window.movement.isHidden() and len(curves) == 3
        z = curves[2].getOriginalDataset()[1]
        np.testing.assert_array_equal(z, rec.aux_samples("accel")[0][2])
        window.close()
        window.deleteLater()
        app.processEvents()
    plain = tmp_path / "sim.sqlite"  # a night without auxiliary streams: no movement row
    argv = ["record", "--device", "sim:scenario=awake,seed=2,realtime=0,minutes=1"]
    assert main([*argv, "--no-calibrate", "--out", str(plain)]) == 0
    with Recording(plain) as rec:
        window = ReviewWindow(rec)
        assert window.movement.isHidden()
        window.close()
        window.deleteLater()
        app.processEvents()
    shot = tmp_path / "review.png"
    assert main(["review", str(night), "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 0
