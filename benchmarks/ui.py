"""What the windows cost, measured against baselines in the same run (offscreen Qt).

1. Live plot frame time at 2 ch x 1 kHz: one frame = `LiveWindow.refresh()` (read the ring's
   newest 10 s, hand it to the curves, shade bursts/episodes, status bar) plus a synchronous
   repaint. The simulator is scored in 33-ms chunks between frames (30 frames/s). Baseline: a
   bare pyqtgraph PlotWidget with one 10 000-point curve per frame, the least pyqtgraph can do.
   Target: well under the 33 ms a 30-fps frame may take.
2. Opening a night in review: `night_overview()` (score the whole stored night, min/max-decimate
   the level) plus building the window, for an 8-hour 2-ch 1-kHz night. Baseline: reading
   every sample back from the store, the I/O floor. Target: under 2 s.

    QT_QPA_PLATFORM=offscreen python benchmarks/ui.py [--frames 600] [--hours 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pyqtgraph as pg  # noqa: E402

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig  # noqa: E402
from bruxwatch.memory import keep_freed_memory  # noqa: E402
from bruxwatch.signal import Calibration, Pipeline  # noqa: E402
from bruxwatch.store.night_writer import RecordingWriter  # noqa: E402
from bruxwatch.store.recording import Recording
from bruxwatch.ui.live import LiveWindow  # noqa: E402
from bruxwatch.ui.overview import night_overview  # noqa: E402
from bruxwatch.ui.review import ReviewWindow  # noqa: E402
from bruxwatch.ui.ring import SignalRing  # noqa: E402

CAL = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))


def percentiles(ms: list[float]) -> str:
    a = np.asarray(ms)
    return f"median {np.median(a):5.2f} ms, p95 {np.percentile(a, 95):5.2f} ms, max {a.max():5.1f}"


def live_frames(frames: int) -> list[float]:
    app = pg.mkQApp()
    seconds = frames / 30 + 12
    sim = Simulator(
        SimulatorConfig(
            scenario="awake", duration_s=seconds, seed=3, episodes_per_hour=240, chunk_s=1 / 30
        )
    )
    pipeline = Pipeline(sim.info, calibration=CAL)
    ring = SignalRing(sim.fs, sim.info.n_channels)
    window = LiveWindow(ring, sim.info, pipeline.level_units, 10.0)
    window.timer.stop()
    window.show()
    app.processEvents()
    times = []
    for k, chunk in enumerate(sim.chunks()):
        ring.push(pipeline.process(chunk))
        if k < 12 * 30:  # fill the 10-s window first
            continue
        start = time.perf_counter()
        window.refresh()
        window.graphics.viewport().repaint()
        times.append((time.perf_counter() - start) * 1000)
    window.close()
    window.deleteLater()
    app.processEvents()
    return times


def bare_frames(frames: int) -> list[float]:
    app = pg.mkQApp()
    plot = pg.PlotWidget()
    plot.resize(1200, 800)
    curve = plot.plot()
    plot.show()
    app.processEvents()
    rng = np.random.default_rng(0)
    t = np.arange(10_000) / 1000
    times = []
    for _ in range(frames):
        y = rng.normal(size=t.size).astype(np.float32)
        start = time.perf_counter()
        curve.setData(t, y)
        plot.viewport().repaint()
        times.append((time.perf_counter() - start) * 1000)
    plot.close()
    plot.deleteLater()
    app.processEvents()
    return times


def write_night(path: Path, hours: float) -> None:
    sim = Simulator(
        SimulatorConfig(
            scenario="night", duration_s=hours * 3600, seed=3, episodes_per_hour=12, chunk_s=1.0
        )
    )
    writer = RecordingWriter(path, sim.info, calibration=CAL)
    pipeline = Pipeline(sim.info, calibration=CAL)
    for chunk in sim.chunks():
        writer.append(chunk)
        writer.add_events(pipeline.process(chunk).events)
        writer.flush()
    writer.add_events(pipeline.finish())
    writer.finish("benchmark")


def review_open(path: Path) -> tuple[float, float, int]:
    app = pg.mkQApp()
    with Recording(path) as rec:
        start = time.perf_counter()
        rec.samples()
        floor = time.perf_counter() - start
        start = time.perf_counter()
        window = ReviewWindow(rec, overview=night_overview(rec))
        window.show()
        app.processEvents()
        opened = time.perf_counter() - start
        rows = window.table.rowCount()
        window.close()
        window.deleteLater()
        app.processEvents()
    return floor, opened, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    keep_freed_memory()
    bare = bare_frames(args.frames)
    live = live_frames(args.frames)
    print(f"live plot, 2 ch x 1 kHz, 10-s window, {len(live)} frames (offscreen):")
    print(f"  bare pyqtgraph curve (10 000 points): {percentiles(bare)}")
    print(f"  LiveWindow frame:                     {percentiles(live)}")
    print(f"  -> {1000 / np.median(live):.0f} frames/s possible; the window asks for 30")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "night.sqlite"
        start = time.perf_counter()
        write_night(path, args.hours)
        print(f"\nreview, {args.hours:g}-h night written in {time.perf_counter() - start:.1f} s:")
        floor, opened, rows = review_open(path)
        print(f"  read every sample back (I/O floor): {floor:5.2f} s")
        print(
            f"  open the review window:             {opened:5.2f} s ({rows} episodes listed;"
            " target < 2 s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
