"""Offline and per-chunk speed of the signal chain, against baselines measured in the same run.

Scores two simulated nights (8 h, 2 channels, 1 kHz by default) with `bruxwatch.signal.analyze`
called as a plain library function (no allocator tuning): first with the NumPy/SciPy code
alone, then with the optional compiled loops (`bruxwatch.signal.compiled`, when Numba is
installed: `pip install -e '.[fast]'`; the time to load them is printed), then again after
`bruxwatch.memory.keep_freed_memory()`, as the bruxwatch command calls it, and last as a plain
call in a fresh interpreter, which loads the loops itself when the night pays for them:
- quiet: the simulator's default night (mains 4 uV with its 2nd and 3rd harmonics, a 12-uV ECG
  that ECG removal mostly does not find);
- bedroom: mains 40 uV with harmonics, an 80-uV ECG found and subtracted at every beat, the rest
  level doubling over the night.
Prints seconds, samples/s, the ratio to one bare `scipy.signal.sosfilt` pass of the band-pass and
the fundamental notch over the same data, the ratio to BrainFlow's DataFilter band-pass +
environmental-noise removal (when `brainflow` is installed: `pip install -e '.[bench]'`), and
the per-chunk cost of the streaming Pipeline on 10- and 100-sample chunks.

Targets (issue "Storage and speed"): analyze <= 1.5x the bare pass and >= 3x faster than
BrainFlow; under 100 us per 10-ms chunk.

    python benchmarks/offline.py [--hours 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from scipy import signal as sps

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.memory import keep_freed_memory
from bruxwatch.signal import Calibration, Pipeline, analyze, compiled
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


NIGHTS = {
    "quiet": {},
    "bedroom": {"mains_uv": 40.0, "ecg_uv": 80.0, "rest_drift": 2.0},
}
CALIBRATION = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))


PLAIN_CALLS = """
import json, sys, time
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Calibration, analyze
hours, fs, extra = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
config = SimulatorConfig(scenario="night", duration_s=hours * 3600, fs=fs, seed=1, **extra)
x = Simulator(config).generate()
calibration = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))
for _ in range(3):
    start = time.perf_counter()
    analyze(x, fs, calibration=calibration)
    print(time.perf_counter() - start)
"""


def plain_calls(hours: float, fs: float, extra: dict) -> list[float]:
    """Seconds of three `analyze` calls in a fresh interpreter, as a program calls it: no
    allocator tuning, no explicit loading (the first call loads the compiled loops itself,
    when installed and the night is long enough to pay for them)."""
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_CALLS, str(hours), str(fs), json.dumps(extra)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(line) for line in done.stdout.split()]


def score_seconds(x: np.ndarray, fs: float, repeat: int) -> dict[str, float]:
    """Best time of `analyze`, calibrated and adaptive."""
    return {
        name: best_of(repeat, lambda cal=cal: analyze(x, fs, calibration=cal))
        for name, cal in (("calibrated", CALIBRATION), ("adaptive", None))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fs", type=float, default=1000.0)
    args = parser.parse_args()
    sos = design_sos(args.fs, FilterConfig(), [50.0])
    print(f"bare pass: {sos.shape[0]} second-order sections (4 band-pass + the 50-Hz notch)")
    nights = {}
    for night, extra in NIGHTS.items():
        sim = Simulator(
            SimulatorConfig(
                scenario="night", duration_s=args.hours * 3600, fs=args.fs, seed=1, **extra
            )
        )
        x = sim.generate()
        nights[night] = (sim, x)
    n_channels, n = x.shape
    total = n_channels * n
    print(
        f"nights: {args.hours:g} h, {n_channels} channels at {args.fs:g} Hz = "
        f"{total / 1e6:.1f} M samples each"
    )
    rows = []
    compiled.set_enabled(False)
    for night, (sim, x) in nights.items():
        x64 = x.astype(np.float64)
        bare = best_of(args.repeat, lambda x64=x64: sps.sosfilt(sos, x64, axis=-1))
        bf = brainflow_seconds(x64, args.fs, args.repeat)
        del x64
        plain = score_seconds(x, args.fs, args.repeat)
        episodes = len(analyze(x, args.fs, calibration=CALIBRATION).episodes)
        rows.append((night, bare, bf, plain, episodes, len(sim.truth.episodes)))
    compiled.set_enabled(True)
    start = time.perf_counter()
    fast = compiled.load()
    load_s = time.perf_counter() - start
    for k, (_, x) in enumerate(nights.values()):
        rows[k] += (score_seconds(x, args.fs, args.repeat) if fast else None,)
    tuned = keep_freed_memory()
    for k, (_, x) in enumerate(nights.values()):
        rows[k] += (score_seconds(x, args.fs, args.repeat) if tuned else None,)

    if fast:
        print(f"compiled loops loaded in {load_s:.3f} s (Numba's import and its disk cache)")
    else:
        print("compiled loops: Numba not installed (pip install -e '.[fast]'); NumPy code only")
    for night, bare, bf, plain, episodes, truth, with_loops, with_tuning in rows:
        print(f"\n{night} night ({episodes} episodes scored, {truth} simulated)")
        print(f"  bare sosfilt pass (1 thread):                 {bare:7.3f} s")
        if bf is not None:
            print(f"  BrainFlow band-pass + notch (1 thread):       {bf:7.3f} s")
        for label, times in (("NumPy/SciPy", plain), ("compiled", with_loops)):
            for name, seconds in (times or {}).items():
                rate = total / seconds / 1e6
                line = (
                    f"  analyze {name:10s} {label:11s}: {seconds:7.3f} s  "
                    f"{rate:5.1f} M samples/s  {seconds / bare:5.2f}x the bare pass"
                )
                if bf is not None:
                    line += f", {bf / seconds:4.2f}x BrainFlow's speed"
                print(line)
        if with_tuning is not None:
            for name, seconds in with_tuning.items():
                print(
                    f"  analyze {name:10s} after keep_freed_memory: {seconds:7.3f} s  "
                    f"{seconds / bare:5.2f}x the bare pass"
                )
    pays_off = compiled.PAYS_OFF_VALUES / 1e6
    print("\nanalyze as a plain call in a fresh process (calibrated; the first call loads")
    print(f"the compiled loops itself once a job reaches {pays_off:.0f} M values):")
    for (night, extra), row in zip(NIGHTS.items(), rows, strict=True):
        first, *then = plain_calls(args.hours, args.fs, extra)
        bare = row[1]
        print(
            f"  {night:8s} first call {first:6.3f} s ({first / bare:4.2f}x the bare pass), then "
            + ", ".join(f"{t:.3f} s ({t / bare:4.2f}x)" for t in then)
        )
    if rows[0][2] is None:
        print("\nbrainflow: not installed (pip install -e '.[bench]'); comparison skipped")
    print("targets: <= 1.5x the bare pass, >= 3x BrainFlow's speed")

    sim, x = nights["quiet"]
    for chunk in (10, 100):
        full, bare_chunk = per_chunk(sim, x, chunk, seconds=120)
        print(
            f"streaming Pipeline, {chunk:3d}-sample chunks: {full:6.1f} us per chunk "
            f"(bare streaming sosfilt {bare_chunk:5.1f} us; target < 100 us per 10-ms chunk)"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB (holds both nights, and one in float64 for the baselines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
