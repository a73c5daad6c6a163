"""The night review, offscreen: it lists the stored episodes and zooms onto the one clicked."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pg = pytest.importorskip("pyqtgraph")

from bruxwatch.cli import main  # noqa: E402
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig  # noqa: E402
from bruxwatch.signal import Calibration, analyze  # noqa: E402
from bruxwatch.store.night_writer import RecordingWriter  # noqa: E402
from bruxwatch.store.recording import Recording  # noqa: E402
from bruxwatch.stream import Chunk  # noqa: E402
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


def test_review_of_an_8_hour_night_lists_every_episode_and_zooms_to_a_clicked_row(tmp_path):
    path = tmp_path / "night.sqlite"
    write_night(path, hours=8.0)
    app = pg.mkQApp()
    with Recording(path) as rec:
        stored = rec.episodes()
        window = ReviewWindow(rec)
        assert window.table.rowCount() == len(stored) >= 40
        assert window.night.level_units == "% MVC"
        assert window.night.bin_starts_s.size <= 4000 and window.night.duration_s == 8 * 3600
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


def test_several_nights_switch_from_the_list(tmp_path, capsys):
    import datetime as dt

    folder = tmp_path / "week"
    folder.mkdir()
    counts = []
    for k, seed in enumerate((5, 6, 7)):
        sim = Simulator(
            SimulatorConfig(scenario="night", duration_s=900, seed=seed, episodes_per_hour=40)
        )
        x = sim.generate()
        start = dt.datetime(2026, 11, 20 + k, 23, 0, tzinfo=dt.UTC)
        # written newest first: the list must still come out in recording order
        writer = RecordingWriter(folder / f"n{2 - k}.sqlite", sim.info, started_at=start)
        writer.append(Chunk(0, x))
        events = analyze(x, sim.fs).events
        writer.add_events(events)
        writer.finish("test")
        counts.append(sum(not e.artifact for e in analyze(x, sim.fs).episodes))
    from bruxwatch.store.nights import find_nights

    nights = find_nights([folder])
    assert [p.name for p in nights] == ["n2.sqlite", "n1.sqlite", "n0.sqlite"]
    app = pg.mkQApp()
    with Recording(nights[0]) as rec:
        window = ReviewWindow(rec, nights=nights)
        assert window.night_list.count() == 3
        assert window.table.rowCount() == counts[0]
        for index in (2, 1, 2):
            window.night_list.setCurrentRow(index)  # a click on the list
            app.processEvents()
            assert window.recording.path.name == nights[index].name
            assert window.table.rowCount() == counts[index]
            assert window.night.title.startswith(nights[index].name)
        assert len(window._cache) == 3  # each night scored once
        window.close()
        window.deleteLater()
        app.processEvents()
    png = tmp_path / "week.png"
    assert main(["review", str(folder), "--night", "2", "--screenshot", str(png)]) == 0
    assert png.stat().st_size > 20_000
    assert main(["review", str(folder), "--night", "9", "--screenshot", str(png)]) == 2
    assert "there are 3 nights" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["review", str(empty), "--screenshot", str(png)]) == 2
    assert "no recordings" in capsys.readouterr().err


def test_clock_axis_ticks_fall_on_round_clock_times():
    import datetime as dt

    from bruxwatch.ui.clock_axis import ClockAxis

    pg.mkQApp()
    axis = ClockAxis(dt.datetime(2026, 3, 1, 22, 30, 0).astimezone())
    ((step, values),) = axis.tickValues(0.0, 8 * 3600.0, 800)
    assert step == 3600 and values[0] == 1800.0  # 23:00, half an hour in
    assert axis.tickStrings(values, 1.0, step)[:3] == ["23:00", "00:00", "01:00"]
    ((step, values),) = axis.tickValues(100.0, 130.0, 800)
    assert step == 5 and axis.tickStrings(values[:2], 1.0, step) == ["22:31:40", "22:31:45"]
    assert axis.label_text().startswith("local time (UTC")


def test_the_review_explains_itself_and_an_empty_night_says_why(tmp_path):
    """Clock times on the axes and in the table (with the offset), one plot per channel in
    the detail with its name and units, the marks explained, and a night without episodes
    saying why; both windows saved as PNGs to look at."""
    from bruxwatch.ui.snapshot import save_window

    app = pg.mkQApp()
    path = tmp_path / "night.sqlite"
    write_night(path, hours=0.5)
    with Recording(path) as rec:
        window = ReviewWindow(rec)
        window.show()
        app.processEvents()
        headers = [window.table.horizontalHeaderItem(c).text() for c in range(5)]
        assert headers[0].startswith("start (UTC") and headers[1] == "length (s)"
        assert headers[4] == "peak (% MVC)"
        assert window.overview.getAxis("bottom").labelText.startswith("local time (UTC")
        ticks = window.histogram.getAxis("bottom")._tickLevels[0]
        assert all(len(label) == 5 and label[2] == ":" for _at, label in ticks)
        assert "buzz given" in window.markers.text() and "bad signal" in window.markers.text()
        plots = [item for item in window.detail_area.ci.items if isinstance(item, pg.PlotItem)]
        assert len(plots) == 2 and window.detail is plots[-1]
        labels = [
            item.text for item in window.detail_area.ci.items if isinstance(item, pg.LabelItem)
        ]
        assert "left_masseter" in labels and "right_masseter" in labels
        assert all(p.getAxis("left").labelText == "µV" for p in plots)
        save_window(window, str(tmp_path / "review.png"))
        window.close()
    dead = tmp_path / "dead.sqlite"
    device = "sim:realtime=0,chunk_s=1,minutes=5,lead_off=1/60,dead_leads=2"
    assert (
        main(["record", "--device", device, "--no-calibrate", "--no-alarm", "--out", str(dead)])
        == 0
    )
    with Recording(dead) as rec:
        window = ReviewWindow(rec)
        window.show()
        app.processEvents()
        assert window.table.rowCount() == 0
        text = window.summary.text()
        assert "No episodes: all signal bad: left_masseter off (flat) from" in text
        assert "right_masseter off (flat) from" in text
        save_window(window, str(tmp_path / "empty.png"))
        window.close()
    assert (tmp_path / "review.png").stat().st_size > 20_000
