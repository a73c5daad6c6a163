"""`bruxwatch live` / `bruxwatch demo`: the scrolling EMG, envelope level and threshold.

The session runs in its own thread and fills a SignalRing; a Qt timer redraws the newest
10 s at up to 30 frames/s (peak downsampling, clipped to view), so a slow screen drops frames,
never samples. Bursts and episodes are shaded as the detector reports them, coloured by kind.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from bruxwatch.firmware_host.session import Session
from bruxwatch.firmware_host.session_records import SessionResult
from bruxwatch.stream import StreamInfo, units_text
from bruxwatch.ui.colours import KIND_COLOURS, hex_colour
from bruxwatch.ui.ring import SignalRing
from bruxwatch.ui.snapshot import quiet_offscreen_platform, save_window

WINDOW_S = 10.0


BANNER_STYLE = "font-size: 20px; font-weight: bold; color: {colour}"
"""The prompt line above the plots: blue, red when the calibration failed."""


class LiveWindow(QtWidgets.QMainWindow):
    """Draws a SignalRing. `status` returns the status-bar text; `controls` adds buttons.

    Set after construction (each optional): `scale` () -> (level units, threshold);
    `meters` () -> [(channel, envelope, threshold)] for the level meters; `countdown`
    () -> (s until the calibration's next step, its prompt) or None; `alert` () -> the
    latest alarm text ("" when none is on).
    """

    def __init__(
        self,
        ring: SignalRing,
        info: StreamInfo,
        level_units: str,
        threshold: float,
        status: Callable[[], str] = lambda: "",
        fps: float = 30.0,
    ) -> None:
        super().__init__()
        self.ring, self.info, self.status = ring, info, status
        self.paused = False
        self.frames = 0
        self.prompt = ""
        self.scale: Callable[[], tuple[str, float]] | None = None
        self.meters: Callable[[], list[tuple[str, float, float]]] | None = None
        self.countdown: Callable[[], tuple[float, str] | None] | None = None
        self.alert: Callable[[], str] | None = None
        self.setWindowTitle(f"bruxwatch live — {info.device}")
        self.resize(1200, 800)
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        self.controls = QtWidgets.QHBoxLayout()
        layout.addLayout(self.controls)
        self.banner = QtWidgets.QLabel("")
        self.banner.setWordWrap(True)  # a failed calibration's reason is a long line
        self.banner.setStyleSheet(BANNER_STYLE.format(colour="#1a4f8a"))
        layout.addWidget(self.banner)
        self.meter_row = QtWidgets.QHBoxLayout()
        layout.addLayout(self.meter_row)
        self.meter_bars: dict[str, tuple[QtWidgets.QLabel, QtWidgets.QProgressBar]] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphics)
        self.setCentralWidget(central)
        self.emg_plots, self.emg_curves = [], []
        units = units_text(info.units)
        for name in info.channels:
            what = "envelope from the board" if info.kind == "envelope" else "filtered EMG"
            plot = self.graphics.addPlot(title=f"{name}: {what} ({units})")
            plot.setLabel("left", units)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.setMouseEnabled(x=False, y=True)
            self.emg_curves.append(plot.plot(pen=pg.mkPen((90, 90, 90), width=1)))
            self.emg_plots.append(plot)
            self.graphics.nextRow()
        self.graphics.addLabel(legend_html(), justify="center")
        self.graphics.nextRow()
        self.level_plot = self.graphics.addPlot(title=f"clench level ({level_units})")
        self.level_plot.setDownsampling(auto=True, mode="peak")
        self.level_plot.setClipToView(True)
        self.level_plot.setLabel("left", level_units)
        self.level_curve = self.level_plot.plot(pen=pg.mkPen((20, 20, 20), width=2))
        threshold_pen = pg.mkPen((0, 150, 0), width=1, style=QtCore.Qt.PenStyle.DashLine)
        self.threshold_line = pg.InfiniteLine(
            angle=0,
            pen=threshold_pen,
            label="threshold {value:.1f}",
            labelOpts={"position": 0.03, "color": (0, 120, 0), "anchors": [(0, 1), (0, 1)]},
        )
        self.threshold_line.setValue(threshold)
        self.level_plot.addItem(self.threshold_line)
        self.feedback_marks = pg.ScatterPlotItem(size=11, symbol="t1", pxMode=True)
        self.level_plot.addItem(self.feedback_marks)
        self.level_plot.setLabel("bottom", "time since start (s)")
        for plot in self.emg_plots:
            plot.setXLink(self.level_plot)
        self.regions: list[pg.LinearRegionItem] = []
        self.shown: list[str] = []
        self.level_units = level_units
        self.status_label = QtWidgets.QLabel("starting ...")
        self.status_label.setWordWrap(True)  # never cut off: a long status wraps
        self.statusBar().addWidget(self.status_label, 1)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(int(1000 / fps))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.timer.stop()
        super().closeEvent(event)

    def add_button(self, text: str, action: Callable[[], None], checkable: bool = False):
        button = QtWidgets.QPushButton(text)
        button.setCheckable(checkable)
        button.clicked.connect(lambda _checked=False: action())
        self.controls.addWidget(button)
        return button

    def toggle_pause(self) -> None:
        self.paused = not self.paused

    def refresh(self) -> None:
        """Redraw the newest window (called by the timer)."""
        if self.paused:
            return
        t, filtered, _envelope, level = self.ring.window()
        if t.size == 0:
            return
        for curve, row in zip(self.emg_curves, filtered, strict=True):
            curve.setData(t, row)
        self.level_curve.setData(t, level)
        # room above the threshold for its label, whatever the level does
        top = max(float(np.nanmax(level)) * 1.1, self.threshold_line.value() * 1.6, 1.0)
        self.level_plot.setYRange(0, top, padding=0)
        end = t[-1]
        self.level_plot.setXRange(end - WINDOW_S, end, padding=0)
        self._shade(end)
        self._banner()
        self._meters()
        self._feedback(end)
        if self.scale is not None:
            units, threshold = self.scale()
            if units != self.level_units:
                self.level_units = units
                self.level_plot.setTitle(f"clench level ({units})")
            self.threshold_line.setValue(threshold)
        self.status_label.setText(self.status())
        self.frames += 1

    def _banner(self) -> None:
        """The calibration's prompt with a countdown to its next step (red when it failed),
        or the lead-off alarm (red)."""
        text = self.prompt
        failed = "FAILED" in text or "BAD" in text or "check failed" in text
        step = self.countdown() if self.countdown else None
        if step is not None:
            seconds, upcoming = step
            text = f"{self.prompt}   [{upcoming.split(' (')[0].rstrip('.')} in {seconds:.0f} s]"
        else:
            alarm = self.alert() if self.alert else ""
            if alarm:
                text, failed = alarm, True
            elif not failed and self.prompt.startswith("Calibration recorded"):
                text = self.prompt  # the outcome stays up, in blue
        if self.banner.text() != text:
            self.banner.setStyleSheet(
                BANNER_STYLE.format(colour="#b3261e" if failed else "#1a4f8a")
            )
            self.banner.setText(text)

    def _meters(self) -> None:
        """One bar per scored channel: its envelope now, full at twice the threshold."""
        if self.meters is None:
            return
        for name, level, threshold in self.meters():
            if name not in self.meter_bars:
                label, bar = QtWidgets.QLabel(), QtWidgets.QProgressBar()
                bar.setRange(0, 200)
                bar.setTextVisible(False)
                bar.setFixedHeight(14)
                self.meter_row.addWidget(label)
                self.meter_row.addWidget(bar, 1)
                self.meter_bars[name] = (label, bar)
            label, bar = self.meter_bars[name]
            units = units_text(self.info.units)
            if np.isfinite(threshold) and threshold > 0 and np.isfinite(level):
                share = int(np.clip(100 * level / threshold, 0, 200))
                label.setText(f"{name} {level:.1f} {units} (threshold {threshold:.1f})")
                over = share >= 100
                bar.setStyleSheet(
                    "QProgressBar::chunk { background: %s }" % ("#db4437" if over else "#0f9d58")
                )
            else:
                share = 0
                label.setText(f"{name} {level:.1f} {units} (threshold warming up)")
            bar.setValue(share)

    def _feedback(self, end: float) -> None:
        marks = [(at, given) for at, given in self.ring.marks.feedback if at >= end - WINDOW_S]
        threshold = self.threshold_line.value()
        self.feedback_marks.setData(
            [at for at, _ in marks],
            [threshold] * len(marks),
            brush=[pg.mkBrush(200, 30, 30) if given else pg.mkBrush(None) for _, given in marks],
            pen=[pg.mkPen(200, 30, 30) if given else pg.mkPen(120, 120, 120) for _, given in marks],
        )

    def _shade(self, end: float) -> None:
        marks = self.ring.marks
        wanted = [(a, b, "burst") for a, b, _ in marks.bursts if b >= end - WINDOW_S]
        wanted += [(a, b, k) for a, b, k in marks.episodes if b >= end - WINDOW_S]
        if marks.open_episode is not None:
            wanted.append((marks.open_episode, end, f"open {marks.open_kind}"))
        while len(self.regions) < len(wanted):  # reuse region items; never pile them up
            region = pg.LinearRegionItem(movable=False)
            region.setZValue(-10)
            self.level_plot.addItem(region)
            self.regions.append(region)
        self.shown = [kind for _a, _b, kind in wanted]
        for region, (a, b, kind) in zip(self.regions, wanted, strict=False):
            colour = KIND_COLOURS.get(kind.removeprefix("open "), (150, 150, 150))
            alpha = 35 if kind == "burst" else 40 if kind.startswith("open") else 60
            region.setBrush(pg.mkBrush(*colour, alpha))
            region.setRegion((a, b))
            region.show()
        for region in self.regions[len(wanted) :]:
            region.hide()

    def episode_regions(self) -> int:
        """Episode regions shown in the last redraw (bursts not counted)."""
        return sum(kind in KIND_COLOURS for kind in self.shown)


def run_live(
    session: Session,
    screenshot: str | None = None,
    seconds: float = 10.0,
    alert: Callable[[], str] | None = None,
) -> SessionResult | None:
    """Run a session in a thread with the live window until the window is closed, Ctrl-C
    or SIGTERM (the night is then finished, as `record` finishes it); returns how it ended.
    alert: the lead-off alarm's text while one is on ("" otherwise), shown in the banner."""
    app = pg.mkQApp("bruxwatch live")
    if screenshot:
        quiet_offscreen_platform()
    result: dict = {}

    def run() -> None:  # what ends the session (a device or storage error) ends the window
        try:
            result["r"] = session.run(handle_signals=False)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, raised there
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while session.info is None and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    if "error" in result:
        raise result["error"]
    if session.info is None:
        session.stop("no data")
        thread.join(5)
        raise RuntimeError("the device sent no data")
    ring = SignalRing(session.info.fs, session.info.n_channels, WINDOW_S)
    session.subscribers.append(ring.push)
    units, threshold = level_scale(session)
    window = LiveWindow(ring, session.info, units, threshold, status=lambda: _status_text(session))
    window.scale = lambda: level_scale(session)
    window.meters = lambda: channel_levels(session)
    window.countdown = session.calibration_countdown
    window.alert = alert or (lambda: "")
    session.feedback_listeners.append(ring.note_feedback)
    session.on_prompt = lambda text: setattr(window, "prompt", text)
    window.add_button("Check electrodes", session.start_check)
    window.add_button("Calibrate", session.start_calibration)
    if session.writer is not None:
        window.add_button("Mark event", lambda: session.mark("mark"))
    toggle = window.add_button(feedback_button_text(session), lambda: None, checkable=True)
    toggle.setChecked(session.feedback_enabled)

    def flip() -> None:
        session.toggle_feedback()
        toggle.setChecked(session.feedback_enabled)
        toggle.setText(feedback_button_text(session))

    toggle.clicked.disconnect()
    toggle.clicked.connect(lambda _checked=False: flip())
    window.add_button("Pause view", window.toggle_pause, checkable=True)
    stopped: list[str] = []

    def on_signal(number: int, frame: object) -> None:
        # Python runs this between two of the window's redraws (the timer): no exception
        # is thrown into Qt's slots, the loop just ends
        stopped.append(f"signal {signal.Signals(number).name}")
        app.quit()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    watch = QtCore.QTimer()  # the session ended by itself (the device, the disk): close
    watch.timeout.connect(lambda: None if thread.is_alive() else app.quit())
    watch.start(200)
    try:
        if screenshot:
            window.show()
            end = time.monotonic() + seconds
            while time.monotonic() < end and not stopped and thread.is_alive():
                app.processEvents()
                time.sleep(0.01)
            if "error" not in result:
                window.refresh()
                save_window(window, screenshot)
        else:
            window.show()
            app.exec()
    finally:
        watch.stop()
        session.stop(
            stopped[0] if stopped else "screenshot taken" if screenshot else "window closed"
        )
        thread.join(10)
        window.timer.stop()
        window.close()
        window.deleteLater()
        app.processEvents()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if "error" in result:
        raise result["error"]
    return result.get("r")


def legend_html() -> str:
    """What the clench-level plot shows, in one line above it (never over the trace)."""
    kinds = "  ".join(
        f'<span style="color:{hex_colour(rgb)}">&#9632;</span> {kind} episode'
        for kind, rgb in KIND_COLOURS.items()
    )
    return (
        '<span style="color:#141414">&#8212;</span> clench level &nbsp; '
        '<span style="color:#009600">- - -</span> threshold &nbsp; '
        '<span style="color:#c81e1e">&#9650;</span> buzz given &nbsp; '
        '<span style="color:#787878">&#9651;</span> held back (baseline, paused) &nbsp; '
        f'<span style="color:#aaaaaa">&#9632;</span> burst &nbsp; {kinds}'
    )


def feedback_button_text(session: Session) -> str:
    """The feedback toggle's face: what it is now, and what a click does."""
    if session.feedback is None:
        return "Feedback: none"
    if session.feedback.mode == "baseline":
        return "Feedback: baseline (logged, never given)"
    return (
        "Feedback: ON (click to pause)"
        if session.feedback_enabled
        else "Feedback: PAUSED (click to resume)"
    )


def channel_levels(session: Session) -> list[tuple[str, float, float]]:
    """(channel, envelope now, its threshold) for each scored channel (NaN: not yet)."""
    st, info = session.status, session.info
    if info is None or st.envelope is None:
        return []
    thresholds = st.thresholds if st.thresholds is not None else []
    out = []
    for k, c in enumerate(session.scored_channels()):
        threshold = float(thresholds[k]) if k < len(thresholds) else float("nan")
        out.append((info.channels[c], float(st.envelope[c]), threshold))
    return out


def level_scale(session: Session) -> tuple[str, float]:
    """The level's units and the threshold line in them, for the session's calibration."""
    config = session.config.threshold
    if session.calibration is not None:
        return "% MVC", float(max(session.calibration.threshold_pct_mvc(config)))
    return "x background", float(config.adaptive_factor)


def _status_text(session: Session) -> str:
    st, info = session.status, session.info
    quality = ", ".join(
        f"{name} {'/'.join(st.quality.get(i, ())) or 'ok'}"
        for i, name in enumerate(info.channels if info else ())
    )
    hours = st.seconds / 3600
    per_hour = f"{st.episodes / hours:.1f}/h" if hours > 0.05 else "-"
    mode = session.feedback.mode if session.feedback else "off"
    if session.feedback and not session.feedback_enabled:
        mode += " (paused)"
    file = f"  |  file {session.writer.path}" if session.writer else ""
    if st.link:
        file += f"  |  {st.link}"
    return (
        f"{info.device if info else ''}  |  {info.fs if info else 0:g} Hz  |  {quality}  |  "
        f"episodes {st.episodes} ({per_hour})  |  feedback given {st.feedback_fired} ({mode}){file}"
    )
