"""The night review, offscreen: it lists the stored episodes and zooms onto the one clicked."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pg = pytest.importorskip("pyqtgraph")

from bruxwatch.cli import main  # noqa: E402
from bruxwatch.devices.base import Chunk  # noqa: E402
from bruxwatch.devices.simulator import Simulator, SimulatorConfig  # noqa: E402
from bruxwatch.signal import Calibration, analyze  # noqa: E402
from bruxwatch.store.recording import Recording, RecordingWriter  # noqa: E402
from bruxwatch.ui.overview import MinMaxDecimator  # noqa: E402
from bruxwatch.ui.review import ReviewWindow  # noqa: E402


def write_night(path, hours: float, seed: int = 3):
    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=hours * 3600, seed=seed, episodes_per_hour=12)
    )
    x = sim.generate()
    cal = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))
    writer = RecordingWriter(path, sim.info, calibration=cal)
    for start in range(0, x.shape[1], 1 << 18):
        writer.append(Chunk(start, x[:, start : start + (1 << 18)]))
        writer.flush(force=True)
    writer.add_events(analyze(x, sim.fs, calibration=cal).events)
    writer.finish("test")
    return sim


def test_min_max_decimation_across_chunk_boundaries():
    values = np.random.default_rng(0).normal(size=10_000)
    whole, parts = MinMaxDecimator(300), MinMaxDecimator(300)
    whole.add(0, values)
    for a in range(0, 10_000, 777):
        parts.add(a, values[a : a + 777])
    assert whole.starts == parts.starts and whole.lows == parts.lows and whole.highs == parts.highs
    assert whole.highs[0] == values[:300].max() and len(whole.starts) == 34


def test_review_lists_every_episode_and_zooms_to_a_clicked_row(tmp_path):
    path = tmp_path / "night.sqlite"
    write_night(path, hours=1.0)
    app = pg.mkQApp()
    with Recording(path) as rec:
        stored = rec.episodes()
        window = ReviewWindow(rec)
        assert window.table.rowCount() == len(stored) >= 5
        assert window.night.level_units == "% MVC"
        assert window.night.bin_starts_s.size <= 4000 and window.night.duration_s == 3600
        row = len(stored) - 2
        window.table.cellClicked.emit(row, 0)
        app.processEvents()
        lo, hi = window.zoomed_range()
        start, end = stored[row]["start_index"] / 1000, stored[row]["end_index"] / 1000
        assert lo <= start and end <= hi and hi - lo < end - start + 11
        window.select(window.selected + 1)  # N: the next one
        assert window.selected == row + 1
        window.close()
        window.deleteLater()
        app.processEvents()


def test_review_command_renders_a_screenshot(tmp_path, capsys):
    path = tmp_path / "night.sqlite"
    write_night(path, hours=0.5)
    png = tmp_path / "review.png"
    assert main(["review", str(path), "--screenshot", str(png), "--episode", "2"]) == 0
    assert png.stat().st_size > 20_000
    image = pg.QtGui.QImage(str(png))
    assert image.width() >= 1200 and image.height() >= 800
    assert main(["review", str(tmp_path / "missing.sqlite"), "--screenshot", str(png)]) == 2
    assert "no such recording" in capsys.readouterr().err
