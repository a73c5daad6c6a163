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

import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from bruxwatch.firmware_host.session import Session
from bruxwatch.firmware_host.session_records import SessionResult
from bruxwatch.stream import StreamInfo
from bruxwatch.ui.colours import KIND_COLOURS
from bruxwatch.ui.ring import SignalRing
from bruxwatch.ui.snapshot import quiet_offscreen_platform, save_window

WINDOW_S = 10.0


BANNER_STYLE = "font-size: 20px; font-weight: bold; color: {colour}"
"""The prompt line above the plots: blue, red when the calibration failed."""


class LiveWindow(QtWidgets.QMainWindow):
    """Draws a SignalRing. `status` returns the status-bar text; `controls` adds buttons."""

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
        self.graphics = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphics)
        self.setCentralWidget(central)
        self.emg_plots, self.emg_curves = [], []
        for name in info.channels:
            what = "envelope from the board" if info.kind == "envelope" else "filtered EMG"
            plot = self.graphics.addPlot(title=f"{name}: {what} ({info.units})")
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.setMouseEnabled(x=False, y=True)
            self.emg_curves.append(plot.plot(pen=pg.mkPen((90, 90, 90), width=1)))
            self.emg_plots.append(plot)
            self.graphics.nextRow()
        self.level_plot = self.graphics.addPlot(title=f"clench level ({level_units})")
        self.level_plot.setDownsampling(auto=True, mode="peak")
        self.level_plot.setClipToView(True)
        self.level_curve = self.level_plot.plot(pen=pg.mkPen((20, 20, 20), width=2))
        self.threshold_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen((0, 150, 0), width=1, style=QtCore.Qt.PenStyle.DashLine)
        )
        self.threshold_line.setValue(threshold)
        self.level_plot.addItem(self.threshold_line)
        self.level_plot.setLabel("bottom", "time (s)")
        for plot in self.emg_plots:
            plot.setXLink(self.level_plot)
        self.regions: list[pg.LinearRegionItem] = []
        self.shown: list[str] = []
        self.level_units = level_units
        self.statusBar().showMessage("starting ...")
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
        end = t[-1]
        self.level_plot.setXRange(end - WINDOW_S, end, padding=0)
        self._shade(end)
        if self.banner.text() != self.prompt:
            failed = "FAILED" in self.prompt
            self.banner.setStyleSheet(
                BANNER_STYLE.format(colour="#b3261e" if failed else "#1a4f8a")
            )
            self.banner.setText(self.prompt)
        if self.scale is not None:
            units, threshold = self.scale()
            if units != self.level_units:
                self.level_units = units
                self.level_plot.setTitle(f"clench level ({units})")
            self.threshold_line.setValue(threshold)
        self.statusBar().showMessage(self.status())
        self.frames += 1

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
    session: Session, screenshot: str | None = None, seconds: float = 10.0
) -> SessionResult | None:
    """Run a session in a thread with the live window until the window is closed, Ctrl-C
    or SIGTERM (the night is then finished, as `record` finishes it); returns how it ended."""
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
    session.on_prompt = lambda text: setattr(window, "prompt", text)
    window.add_button("Calibrate", session.start_calibration)
    if session.writer is not None:
        window.add_button("Mark event", lambda: session.mark("mark"))
    window.add_button("Feedback on/off", session.toggle_feedback, checkable=True)
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
