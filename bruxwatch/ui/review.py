"""`bruxwatch review NIGHT.sqlite`: a night's clenching at a glance (pyqtgraph, PySide6).

Top: the whole night's detection level (min/max per bin), the threshold, episodes coloured by
kind, feedback ticks, gaps and bad-signal stretches greyed. Middle: episodes per hour, stacked
by kind. Bottom: the filtered EMG and envelope around the selected episode, and the table of
episodes: click a row, or press N / P, to zoom onto the next or previous one; under it, for a
night recorded with `--audio`, the sound kept around the episode (`review_sound.py`: its
grinding score, and Space plays it). With several nights, a list on the left switches
between them (each night is scored once, then cached).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from bruxwatch.store.local_time import local, offset_text
from bruxwatch.store.nights import listing
from bruxwatch.store.recording import Recording
from bruxwatch.store.scored import stored_scoring
from bruxwatch.stream import ACCEL, units_text
from bruxwatch.ui.clock_axis import ClockAxis
from bruxwatch.ui.colours import KIND_COLOURS, hex_colour
from bruxwatch.ui.overview import (
    NightOverview,
    detail_window,
    kept_overview,
    no_episodes_reason,
)
from bruxwatch.ui.review_sound import SoundPanel

CONTEXT_S = 5.0


def _clock(recording: Recording, seconds: float) -> str:
    """The local clock time `seconds` into the recording, e.g. "23:41:07"."""
    started = local(recording.session.started_at)
    return f"{started + dt.timedelta(seconds=seconds):%H:%M:%S}"


def markers_html() -> str:
    """What the marks over the whole night mean (one line above the plots)."""
    kinds = " ".join(
        f'<span style="color:{hex_colour(rgb)}">&#9632;</span> {kind}'
        for kind, rgb in KIND_COLOURS.items()
    )
    return (
        f"<small>Top row: episodes ({kinds}) &nbsp;·&nbsp; &#9660; buzz given, "
        '<span style="color:#aaaaaa">&#9660;</span> logged only (baseline, held back) '
        '&nbsp;·&nbsp; <span style="color:#009600">- - -</span> threshold &nbsp;·&nbsp; '
        '<span style="color:#a0a0a0">&#9632;</span> bad signal or a gap &nbsp;·&nbsp; '
        '<span style="color:#78aadc">&#9632;</span> calibration &nbsp;·&nbsp; '
        "blue band: the episode shown below</small>"
    )


class ReviewWindow(QtWidgets.QMainWindow):
    """The review of one night, or of several with a list to switch between them.

    `recording` is shown first and stays the caller's to close; `nights` (recording paths,
    including `recording.path`) fills the list. Nights opened from the list are closed here.
    """

    def __init__(
        self,
        recording: Recording,
        overview: NightOverview | None = None,
        nights: Sequence[Path] = (),
    ) -> None:
        super().__init__()
        self.recording = recording
        self.night = overview or kept_overview(recording)
        self.selected = -1
        self.nights = [Path(p).resolve() for p in nights]
        self._owned: Recording | None = None
        self._cache: dict[Path, NightOverview] = {recording.path.resolve(): self.night}
        self.resize(1280, 860)
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.markers = QtWidgets.QLabel(markers_html())  # what the marks on the night mean
        self.markers.setWordWrap(True)
        layout.addWidget(self.markers)
        self.overview = pg.PlotWidget()
        self.movement = pg.PlotWidget()  # the auxiliary streams (the Cyton's accelerometer)
        self.movement.setXLink(self.overview)
        self.movement.setMaximumHeight(170)
        self.heart = pg.PlotWidget()  # beat-to-beat heart rate from the R peaks
        self.heart.setXLink(self.overview)
        self.heart.setMaximumHeight(150)
        self.histogram = pg.PlotWidget()
        self.detail_area = pg.GraphicsLayoutWidget()  # one plot per channel, own axes
        self.detail: pg.PlotItem | None = None  # the bottom one (its x range is shared)
        self.table = QtWidgets.QTableWidget()
        self.sound = SoundPanel()
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        top = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        night_column = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)  # one time axis
        night_column.addWidget(self.overview)
        night_column.addWidget(self.movement)
        night_column.addWidget(self.heart)
        top.addWidget(night_column)
        top.addWidget(self.histogram)
        top.setSizes([950, 330])
        bottom = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        bottom.addWidget(self.detail_area)
        episodes_column = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(episodes_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table)
        column.addWidget(self.sound)
        bottom.addWidget(episodes_column)
        bottom.setSizes([850, 430])
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        layout.addWidget(splitter)
        self.night_list = QtWidgets.QListWidget()
        if len(self.nights) > 1:
            outer = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
            outer.addWidget(self._night_list_panel())
            outer.addWidget(central)
            outer.setSizes([300, 1280])
            self.resize(1580, 860)
            self.setCentralWidget(outer)
        else:
            self.setCentralWidget(central)
        self.table.cellClicked.connect(lambda row, _col: self.select(row))
        for key, step in (("N", 1), ("P", -1)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            shortcut.activated.connect(lambda step=step: self.select(self.selected + step))
        QtGui.QShortcut(QtGui.QKeySequence("Space"), self).activated.connect(self.sound.play)
        self._show_night()

    def _night_list_panel(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        box = QtWidgets.QVBoxLayout(panel)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(QtWidgets.QLabel(f"<b>{len(self.nights)} nights</b> (click to open)"))
        current = self.recording.path.resolve()
        for path in self.nights:
            item = QtWidgets.QListWidgetItem(listing(path).label())
            item.setToolTip(str(path))
            self.night_list.addItem(item)
            if path == current:
                self.night_list.setCurrentItem(item)
        self.night_list.currentRowChanged.connect(self.open_night)
        box.addWidget(self.night_list)
        return panel

    def open_night(self, index: int) -> None:
        """Switch to night `index` of the list (its overview is computed once, then cached)."""
        if not 0 <= index < len(self.nights):
            return
        path = self.nights[index]
        if path == self.recording.path.resolve():
            return
        recording = Recording(path)
        if self._owned is not None:
            self._owned.close()
        self._owned = recording
        self.recording = recording
        if path not in self._cache:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                self._cache[path] = kept_overview(recording)
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
        self.night = self._cache[path]
        if self.night_list.currentRow() != index:
            self.night_list.setCurrentRow(index)
        self._show_night()

    def _show_night(self) -> None:
        self.setWindowTitle(f"bruxwatch review — {self.night.title}")
        self.selected = -1
        self.summary.setText(self._summary_text())
        self._draw_overview()
        self._draw_movement()
        self._draw_heart()
        self._draw_histogram()
        self.sound.show_night(self.recording.sound_clips(), stored_scoring(self.recording).config)
        self._fill_table()
        self.detail_area.clear()
        self.detail = None
        if self.night.episodes:
            self.select(0)
        else:
            self.detail_area.addLabel(no_episodes_reason(self.night), size="11pt", color="#b3261e")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self._owned is not None:
            self._owned.close()
            self._owned = None
        super().closeEvent(event)

    # --------------------------------------------------------------------------- parts
    def _summary_text(self) -> str:
        n = self.night
        hours = n.duration_s / 3600
        counts = {k: int(v.sum()) for k, v in n.hourly.items()}
        fired = sum(f.fired for f in n.feedback)
        text = (
            f"<b>{n.title}</b><br>{hours:.2f} h recorded · <b>{len(n.episodes)} episodes</b> "
            f"({len(n.episodes) / hours if hours else 0:.1f}/h: {counts['phasic']} phasic, "
            f"{counts['tonic']} tonic, {counts['mixed']} mixed) · feedback {fired} given, "
            f"{len(n.feedback) - fired} logged · level in {n.level_units}. "
            "Click an episode or press N / P. bruxwatch measures; it does not diagnose."
        )
        if not n.episodes:
            text += f"<br><b style='color:#b3261e'>{no_episodes_reason(n)}</b>"
        return text

    def _draw_overview(self) -> None:
        n, plot = self.night, self.overview
        plot.clear()
        plot.setTitle("Whole night")
        plot.setLabel("left", n.level_units)
        self._clock_axis(plot)
        top = float(np.nanmax(n.level_high)) if n.level_high.size else 1.0
        for lo, hi in n.gaps_s + n.bad_s:
            region = pg.LinearRegionItem((lo, hi), movable=False, brush=(160, 160, 160, 90))
            region.setZValue(-10)
            plot.addItem(region)
        if n.calibration_s is not None:
            region = pg.LinearRegionItem(n.calibration_s, movable=False, brush=(120, 170, 220, 60))
            region.setZValue(-10)
            plot.addItem(region)
            label = pg.TextItem("calibration", color=(60, 100, 150), anchor=(0, 0))
            label.setPos(n.calibration_s[0], top)
            plot.addItem(label)
        x = np.repeat(n.bin_starts_s, 2)
        y = np.column_stack((n.level_low, n.level_high)).ravel()
        plot.plot(x, y, pen=pg.mkPen((60, 60, 60), width=1), connect="pairs")
        plot.plot(n.bin_starts_s, n.level_high, pen=pg.mkPen((60, 60, 60), width=1))
        if n.threshold is not None:
            plot.addItem(
                pg.InfiniteLine(
                    n.threshold,
                    angle=0,
                    pen=pg.mkPen((0, 150, 0), style=QtCore.Qt.PenStyle.DashLine),
                )
            )
        for kind, colour in KIND_COLOURS.items():
            eps = [e for e in n.episodes if e["kind"] == kind]
            if not eps:
                continue
            starts = np.array([e["start_index"] for e in eps]) / n.fs
            ends = np.array([e["end_index"] for e in eps]) / n.fs
            bars = pg.BarGraphItem(
                x0=starts,
                x1=np.maximum(ends, starts + n.duration_s / 2000),
                y0=top * 1.02,
                height=top * 0.06,
                brush=pg.mkBrush(*colour),
                pen=pg.mkPen(None),
                name=kind,
            )
            plot.addItem(bars)
        if n.feedback:
            t = np.array([f.at_s for f in n.feedback])
            fired = np.array([f.fired for f in n.feedback])
            plot.plot(
                t,
                np.full(t.size, top * 1.12),
                pen=None,
                symbol="t",
                symbolBrush=[(0, 0, 0) if f else (190, 190, 190) for f in fired],
                symbolSize=8,
            )
        plot.setXRange(0, n.duration_s, padding=0.01)
        plot.setYRange(0, top * 1.18, padding=0)
        plot.setMouseEnabled(x=True, y=False)
        self._cursor = pg.LinearRegionItem((0, 0), movable=False, brush=(0, 0, 255, 50))
        plot.addItem(self._cursor)

    def _draw_movement(self) -> None:
        """The accelerometer's X, Y, Z (g) over the night, under the level and on its time
        axis; hidden for a night without one (a pulse sensor's stream shows as the heart
        rate, below)."""
        plot = self.movement
        plot.clear()
        streams = {k: v for k, v in self.recording.aux_streams().items() if k == ACCEL}
        plot.setVisible(bool(streams))
        if not streams:
            return
        plot.addLegend(offset=(5, 5))
        pens = ((219, 68, 55), (15, 157, 88), (66, 133, 244))
        for name, info in streams.items():
            values, index = self.recording.aux_samples(name)
            t = index / info.fs
            for row, channel in enumerate(info.channels):
                curve = plot.plot(
                    t, values[row], pen=pg.mkPen(pens[row % 3], width=1), name=channel
                )
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
            plot.setLabel("left", info.units)
        plot.setTitle("Movement (" + ", ".join(streams) + ")")
        self._clock_axis(plot)
        plot.setMouseEnabled(x=True, y=False)

    def _draw_heart(self) -> None:
        """The accepted beat-to-beat heart rate (bpm) on the night's time axis, the episodes
        marked; hidden for a night with no heart rate (no beats found, or none that made a
        run of consistent intervals)."""
        plot, heart = self.heart, self.night.heart
        plot.clear()
        plot.setVisible(heart is not None and heart.rr_s.size > 0)
        if heart is None or heart.rr_s.size == 0:
            return
        curve = plot.plot(heart.t_s, heart.bpm, pen=pg.mkPen((200, 30, 60), width=1))
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        fs = self.night.fs
        for e in self.night.episodes:
            colour = KIND_COLOURS[e["kind"]]
            plot.addItem(pg.InfiniteLine(e["start_index"] / fs, pen=pg.mkPen(*colour, width=1)))
        resting = heart.resting_bpm()
        plot.setTitle(
            f"Heart rate (mean {heart.mean_bpm():.0f} bpm"
            + (f", resting {resting:.0f}" if resting is not None else "")
            + "); episode onsets marked"
        )
        plot.setLabel("left", "bpm")
        self._clock_axis(plot)
        plot.setMouseEnabled(x=True, y=False)

    def _draw_histogram(self) -> None:
        n, plot = self.night, self.histogram
        plot.clear()
        plot.setTitle("Episodes per hour")
        plot.setLabel("bottom", "hour from (local time)")
        plot.setLabel("left", "episodes")
        base = np.zeros_like(next(iter(n.hourly.values()))) if n.hourly else np.zeros(1)
        hours = np.arange(base.size) + 0.5
        for kind, colour in KIND_COLOURS.items():
            counts = n.hourly.get(kind, np.zeros_like(base))
            plot.addItem(
                pg.BarGraphItem(
                    x=hours, height=counts, y0=base, width=0.8, brush=pg.mkBrush(*colour)
                )
            )
            base = base + counts
        plot.getAxis("bottom").enableAutoSIPrefix(False)
        start = local(n.started_at) if n.started_at else None
        every = 1 if base.size <= 5 else 2 if base.size <= 10 else 3  # labels that fit
        plot.getAxis("bottom").setTicks(
            [
                [
                    (h + 0.5, f"{start + dt.timedelta(hours=h):%H:%M}" if start else str(h))
                    for h in range(0, base.size, every)
                ]
            ]
        )
        plot.setXRange(0, base.size, padding=0.02)
        plot.setYRange(0, max(1, int(base.max())) * 1.15, padding=0)

    def _fill_table(self) -> None:
        offset = offset_text(self.recording.session.started_at)
        peak = "peak (% MVC)" if self.night.level_units == "% MVC" else "peak (x background)"
        headers = [f"start (UTC{offset})", "length (s)", "kind", "bursts", peak]
        if self.sound.clips is not None:
            headers.append("sound")
        self.table.clearContents()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(self.night.episodes))
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        fs = self.night.fs
        for row, e in enumerate(self.night.episodes):
            peak = e["peak_pct_mvc"] if e["peak_pct_mvc"] is not None else e["peak_level"]
            values = [
                _clock(self.recording, e["start_index"] / fs),
                f"{(e['end_index'] - e['start_index']) / fs:.1f}",
                e["kind"],
                str(e["bursts"]),
                f"{peak:.0f}",
            ]
            if self.sound.clips is not None:
                heard = self.sound.grinding_of(e["start_index"] / fs, e["end_index"] / fs)
                values.append("" if heard is None else "grinding" if heard.grinding else "-")
            for col, value in enumerate(values):
                item = QtWidgets.QTableWidgetItem(value)
                if col == 2:
                    item.setForeground(QtGui.QColor(*KIND_COLOURS[e["kind"]]))
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()

    # ------------------------------------------------------------------------ actions
    def select(self, row: int) -> None:
        """Zoom the detail plot onto episode `row` (clamped to the table)."""
        if not self.night.episodes:
            return
        row = int(np.clip(row, 0, len(self.night.episodes) - 1))
        self.selected = row
        self.table.selectRow(row)
        e = self.night.episodes[row]
        fs = self.night.fs
        start, end = e["start_index"] / fs, e["end_index"] / fs
        self._cursor.setRegion((start, end))
        self.sound.show_episode((start, end))
        t, filtered, envelope = detail_window(self.recording, start - CONTEXT_S, end + CONTEXT_S)
        area = self.detail_area
        area.clear()
        when = _clock(self.recording, start)
        area.addLabel(
            f"Episode {row + 1}: {e['kind']}, {when}, {end - start:.1f} s "
            "(grey: filtered EMG; black: its envelope; shaded: the episode)",
            size="10pt",
            colspan=2,
        )
        units = units_text(self.recording.info.units)
        plots = []
        for ch, name in enumerate(self.recording.info.channels[: filtered.shape[0]]):
            area.nextRow()
            area.addLabel(name, angle=-90, size="9pt")  # the channel, beside its own axis
            plot = area.addPlot(axisItems={"bottom": ClockAxis(self.recording.session.started_at)})
            plot.setLabel("left", units)
            plot.addItem(
                pg.LinearRegionItem(
                    (start, end), movable=False, brush=(*KIND_COLOURS[e["kind"]], 40)
                )
            )
            plot.plot(t, filtered[ch], pen=pg.mkPen((150, 150, 150), width=1))
            plot.plot(t, envelope[ch], pen=pg.mkPen((20, 20, 20), width=2))
            plot.setXRange(start - CONTEXT_S, end + CONTEXT_S, padding=0)
            plot.setMouseEnabled(x=True, y=False)
            if plots:
                plot.setXLink(plots[0])
                plots[-1].getAxis("bottom").setStyle(showValues=False)
            plots.append(plot)
        if plots:
            plots[-1].setLabel("bottom", plots[-1].getAxis("bottom").label_text())
            self.detail = plots[-1]

    def zoomed_range(self) -> tuple[float, float]:
        """The detail plots' time range (s from the start); (0, 0) before one is shown."""
        if self.detail is None:
            return 0.0, 0.0
        (lo, hi), _ = self.detail.viewRange()
        return lo, hi

    def _clock_axis(self, plot: pg.PlotWidget) -> None:
        """The night's clock on `plot`'s time axis."""
        axis = ClockAxis(self.night.started_at or self.recording.session.started_at)
        plot.setAxisItems({"bottom": axis})
        plot.setLabel("bottom", axis.label_text())
