"""The live window, offscreen: episodes shaded as detected, thousands of repaints stay stable."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pg = pytest.importorskip("pyqtgraph")

from bruxwatch.cli import main  # noqa: E402
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig  # noqa: E402
from bruxwatch.signal import Pipeline  # noqa: E402
from bruxwatch.ui.live import LiveWindow  # noqa: E402
from bruxwatch.ui.ring import SignalRing  # noqa: E402


def rss_kb() -> int:
    from pathlib import Path

    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def feed(seconds: float, seed: int = 3):
    sim = Simulator(
        SimulatorConfig(
            scenario="awake", duration_s=seconds, seed=seed, episodes_per_hour=120, chunk_s=0.05
        )
    )
    pipeline = Pipeline(sim.info)
    ring = SignalRing(sim.fs, sim.info.n_channels)
    window = LiveWindow(ring, sim.info, pipeline.level_units, 4.0)
    window.timer.stop()  # the test drives the redraws
    return sim, pipeline, ring, window


def test_ring_keeps_the_newest_window_in_order():
    from bruxwatch.signal import ProcessedChunk

    ring = SignalRing(100.0, 1, seconds=1.0)
    for first in range(0, 250, 30):
        n = min(30, 250 - first)
        values = np.arange(first, first + n, dtype=np.float32)[None, :]
        ring.push(ProcessedChunk(first, values, values, values[0], values[0] > 0, np.zeros(1), []))
    t, filtered, _, level = ring.window()
    np.testing.assert_array_equal(level, np.arange(150, 250))
    np.testing.assert_allclose(t, np.arange(150, 250) / 100)


def test_episodes_are_shaded_as_they_are_detected():
    app = pg.mkQApp()
    sim, pipeline, ring, window = feed(40.0)
    truth = [a for a in sim.truth.episodes if a.end_s < 36]
    shown = 0
    for chunk in sim.chunks():
        ring.push(pipeline.process(chunk))
        window.refresh()
        if chunk.end_index / sim.fs > 30 and not shown:
            shown = window.episode_regions()
    app.processEvents()
    ended = list(ring.marks.episodes)
    assert truth and len(ended) == len(truth)
    assert shown >= 1  # the episode at 18-27 s is on screen at 30 s
    assert window.frames > 500
    window.close()
    window.deleteLater()
    app.processEvents()


def test_thousands_of_repaints_do_not_crash_or_grow_memory():
    app = pg.mkQApp()
    sim, pipeline, ring, window = feed(120.0, seed=5)
    window.show()
    chunks = sim.chunks()
    before = None
    with_data = 0  # frames after the first samples came through (ECG removal holds 70 ms)
    for frame in range(3000):
        chunk = next(chunks, None)
        if chunk is not None:
            ring.push(pipeline.process(chunk))
        with_data += ring.written > 0
        window.refresh()
        window.repaint()
        app.processEvents()
        if frame == 500:
            before = rss_kb()
    assert window.frames == with_data and with_data >= 2990
    assert rss_kb() - before < 40_000  # kB: flat, not one leak per frame
    window.close()
    window.deleteLater()
    app.processEvents()


def test_live_command_screenshot_and_headless_demo(tmp_path, capsys, monkeypatch):
    png = tmp_path / "live.png"
    assert (
        main(
            [
                "live",
                "--device",
                "sim:scenario=awake,seed=3",
                "--no-record",
                "--feedback",
                "bell",
                "--screenshot",
                str(png),
                "--seconds",
                "2",
            ]
        )
        == 0
    )
    assert png.stat().st_size > 10_000
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["demo", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "no display here" in out and "stopped: duration reached" in out


def test_calibrating_from_the_window_moves_the_threshold_line():
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.ui.live import level_scale

    app = pg.mkQApp()
    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=60, seed=3, calibrate=True, chunk_s=0.05)
    )
    session = Session(sim)
    ring = SignalRing(sim.fs, 2)
    window = LiveWindow(ring, sim.info, *level_scale(session))
    window.timer.stop()
    window.scale = lambda: level_scale(session)
    session.on_prompt = lambda text: setattr(window, "prompt", text)
    prompts, lines = [], []

    def draw(out):
        ring.push(out)
        window.refresh()
        prompts.append(window.banner.text())
        lines.append(window.threshold_line.value())

    session.subscribers.append(draw)
    session.start_calibration()  # the "Calibrate" button, pressed as the stream starts
    session.run(handle_signals=False)
    app.processEvents()
    assert lines[0] == 4.0 and window.level_units == "% MVC"
    assert 9.0 < lines[-1] < 15.0  # 10 % of (MVC - rest), or the 2 x rest floor
    assert any("CLENCH" in p for p in prompts) and prompts[-1].startswith(
        "Calibration recorded: rest"
    )
    assert session.calibration is not None and session.pipeline.calibrated
    window.close()
    window.deleteLater()
    app.processEvents()


def test_a_failed_calibration_is_shown_in_red_and_whole():
    from bruxwatch.signal.calibration import outcome_text

    app = pg.mkQApp()
    sim, pipeline, ring, window = feed(3.0)
    for chunk in sim.chunks():
        ring.push(pipeline.process(chunk))
    window.prompt = outcome_text(None, "left_masseter: clench level 2.1 uV is not clearly above")
    window.refresh()
    assert window.banner.text().startswith("Calibration FAILED: left_masseter")
    assert "#b3261e" in window.banner.styleSheet() and window.banner.wordWrap()
    window.prompt = "Relax your jaw completely, teeth apart, for 12 seconds."
    window.refresh()
    assert "#1a4f8a" in window.banner.styleSheet()
    window.close()
    window.deleteLater()
    app.processEvents()


def test_the_window_explains_itself(tmp_path):
    """Legend, labelled threshold, µV, level meters, a calibration countdown, feedback marks,
    the feedback toggle's state and a status bar that wraps; saved as a PNG to look at."""
    from bruxwatch.firmware_host.actuators import BellActuator
    from bruxwatch.firmware_host.feedback import FeedbackConfig, FeedbackRecord
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.ui.live import channel_levels, feedback_button_text, level_scale
    from bruxwatch.ui.snapshot import save_window

    app = pg.mkQApp()
    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=40, seed=3, calibrate=True, chunk_s=0.05)
    )
    session = Session(
        sim, feedback=FeedbackConfig(mode="feedback"), actuators=[BellActuator(io.StringIO())]
    )
    ring = SignalRing(sim.fs, 2)
    window = LiveWindow(ring, sim.info, *level_scale(session), status=lambda: "x " * 400)
    window.timer.stop()
    window.resize(1200, 800)
    window.scale = lambda: level_scale(session)
    window.meters = lambda: channel_levels(session)
    window.countdown = session.calibration_countdown
    session.feedback_listeners.append(ring.note_feedback)
    session.on_prompt = lambda text: setattr(window, "prompt", text)
    banners = []

    def draw(out):
        ring.push(out)
        window.refresh()
        banners.append((session.status.seconds, window.banner.text()))
        if 14.0 <= session.status.seconds < 14.05:
            window.show()
            app.processEvents()
            save_window(window, str(tmp_path / "calibrating.png"))

    session.subscribers.append(draw)
    session.start_calibration()
    session.run(handle_signals=False)
    app.processEvents()
    during = dict(banners)
    at_10 = next(text for t, text in banners if t >= 10.0)
    assert at_10.startswith("Relax your jaw") and "[CLENCH as hard as is comfortable" in at_10
    assert at_10.endswith("in 3 s]")
    assert any("[and relax in" in text for text in during.values())
    assert banners[-1][1].startswith("Calibration recorded")
    titles = [p.titleLabel.text for p in window.emg_plots]
    assert all(t.endswith("(µV)") for t in titles) and not any("uV" in t for t in titles)
    assert "threshold" in window.threshold_line.label.format
    labels = [label.text() for label, _bar in window.meter_bars.values()]
    assert len(labels) == 2 and all(" µV (threshold " in text for text in labels)
    assert window.status_label.wordWrap()
    assert not [m for m in ring.marks.feedback if m[1]]  # no buzz for a calibration's clench
    end = session.status.seconds
    for at, fired in ((end - 3.0, True), (end - 1.0, False)):
        ring.note_feedback(FeedbackRecord(0, at, fired, "bell", 255, 300, None, "test"))
    window.refresh()
    assert window.feedback_marks.data.size == 2
    assert feedback_button_text(session) == "Feedback: ON (click to pause)"
    session.toggle_feedback()
    assert feedback_button_text(session) == "Feedback: PAUSED (click to resume)"
    assert (tmp_path / "calibrating.png").stat().st_size > 20_000
    window.close()
    window.deleteLater()
    app.processEvents()
