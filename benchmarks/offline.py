"""Offline and per-chunk speed of the signal chain, against baselines measured in the same run.

Prints: seconds for `bruxwatch.signal.analyze` on an 8-hour, 2-channel, 1-kHz night (calibrated
and adaptive), samples/s, the ratio to one bare `scipy.signal.sosfilt` pass of the same SOS over
the same data, the ratio to BrainFlow's DataFilter band-pass + environmental-noise removal
(when `brainflow` is installed: `pip install -e '.[bench]'`), and the per-chunk cost of the
streaming Pipeline on 10-sample chunks against a bare streaming sosfilt call.

Targets (README, "Speed"): analyze <= 1.5x the bare sosfilt pass, >= 2x faster than BrainFlow,
< 100 us per 10-ms chunk.

    python benchmarks/offline.py [--hours 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
from scipy import signal as sps

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.memory import keep_freed_memory
from bruxwatch.signal import Calibration, Pipeline, analyze
from bruxwatch.signal.config import FilterConfig
from bruxwatch.signal.filters import design_sos
from bruxwatch.stream import Chunk


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def brainflow_seconds(x: np.ndarray, fs: float, repeat: int) -> float | None:
    try:
        from brainflow.data_filter import DataFilter, FilterTypes, NoiseTypes
    except ImportError:
        return None

    def run() -> None:
        for row in x:
            data = np.ascontiguousarray(row, dtype=np.float64)
            DataFilter.perform_bandpass(data, int(fs), 20.0, 450.0, 4, FilterTypes.BUTTERWORTH, 0.0)
            DataFilter.remove_environmental_noise(data, int(fs), NoiseTypes.FIFTY.value)

    return best_of(repeat, run)


def per_chunk(sim: Simulator, x: np.ndarray, chunk: int, seconds: float) -> tuple[float, float]:
    """Mean µs per chunk: the whole Pipeline, and a bare streaming sosfilt of the same SOS."""
    n = int(seconds * sim.fs)
    segment = x[:, :n].astype(np.float64)
    pipeline = Pipeline(sim.info, calibration=Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0)))
    chunks = [Chunk(i, segment[:, i : i + chunk]) for i in range(0, n, chunk)]
    start = time.perf_counter()
    for c in chunks:
        pipeline.process(c)
    full = (time.perf_counter() - start) / len(chunks) * 1e6
    sos = pipeline.sos
    zi = np.zeros((sos.shape[0], segment.shape[0], 2))
    start = time.perf_counter()
    for c in chunks:
        _, zi = sps.sosfilt(sos, c.samples, axis=-1, zi=zi)
    bare = (time.perf_counter() - start) / len(chunks) * 1e6
    return full, bare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fs", type=float, default=1000.0)
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's trim threshold as it is"
    )
    args = parser.parse_args()
    tuned = False if args.default_malloc else keep_freed_memory()
    print(f"glibc keeps freed memory for reuse, as the bruxwatch command does: {tuned}")

    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=args.hours * 3600, fs=args.fs, seed=1)
    )
    t0 = time.perf_counter()
    x = sim.generate()
    n_channels, n = x.shape
    total = n_channels * n
    print(
        f"night: {args.hours:g} h, {n_channels} channels at {args.fs:g} Hz = "
        f"{total / 1e6:.1f} M samples "
        f"(simulated in {time.perf_counter() - t0:.1f} s)"
    )
    sos = design_sos(args.fs, FilterConfig())
    print(f"filter: {sos.shape[0]} second-order sections (4 band-pass + mains notches)")

    x64 = x.astype(np.float64)
    bare = best_of(args.repeat, lambda: sps.sosfilt(sos, x64, axis=-1))
    print(f"bare sosfilt pass (same SOS, same data, 1 thread):  {bare:7.3f} s")

    calibration = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))
    results = {}
    for name, cal in (("calibrated", calibration), ("adaptive", None)):
        seconds = best_of(args.repeat, lambda cal=cal: analyze(x, args.fs, calibration=cal))
        results[name] = seconds
        print(
            f"analyze ({name:10s}): {seconds:7.3f} s  {total / seconds / 1e6:6.1f} M samples/s  "
            f"{seconds / bare:5.2f}x the bare sosfilt pass (target <= 1.5x)"
        )
    episodes = len(analyze(x, args.fs, calibration=calibration).episodes)
    print(f"  episodes scored: {episodes} (truth: {len(sim.truth.episodes)})")

    bf = brainflow_seconds(x64, args.fs, args.repeat)
    if bf is None:
        print("brainflow: not installed (pip install -e '.[bench]'); comparison skipped")
    else:
        worst = max(results.values())
        print(
            f"BrainFlow DataFilter band-pass + notch:       {bf:7.3f} s  "
            f"-> analyze is {bf / worst:4.1f}x faster (target >= 2x)"
        )

    for chunk in (10, 100):
        full, bare_chunk = per_chunk(sim, x, chunk, seconds=120)
        print(
            f"streaming Pipeline, {chunk:3d}-sample chunks: {full:6.1f} us per chunk "
            f"(bare streaming sosfilt {bare_chunk:5.1f} us; target < 100 us per 10-ms chunk)"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB (holds the night in memory 3 times for the baselines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
