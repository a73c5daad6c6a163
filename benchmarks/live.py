"""The live recorder's cost, measured against baselines in the same run.

1. CPU: the full session (read, parse, score, feedback, store) on the Arduino emulator at real
   time (1 kHz × 2 channels, frames of 10 samples), as % of one core, next to a bare reader
   that only reads and parses the same port every 10 ms. The session reads every 0.4 s at
   rest (the 0.5-s onset delay less 0.1 s) and every 10 ms while a clench is under way (so
   a buzz is never late). The emulator runs in another process and is not counted. Target
   (README, "Speed"): under 1 % of one core, once started.
2. Latency: from the arrival of the chunk that completes a clench's onset delay to the
   `vibrate` command written to the port, as percentiles. Target: under 20 ms.
3. Per chunk: µs for Pipeline.process on 10-sample chunks (the same chunking), and the whole
   session handler per chunk.
4. Memory: peak RSS of a whole 8-hour night (simulator at maximum speed, 1-s chunks) through
   the full session with the store, in a child process. Target: under 200 MB.

    python benchmarks/live.py [--seconds 60] [--night-hours 8]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

EMULATOR = """
import sys, time
from bruxwatch.emulated.serial_boards import ArduinoEmulator
emu = ArduinoEmulator(scenario="awake", seed=4, episodes_per_hour=float(sys.argv[1])).start()
print(emu.path, flush=True)
time.sleep(float(sys.argv[2]))
emu.stop()
"""

NIGHT = """
import json, resource, sys, tempfile, time
def peak_kb():  # VmHWM: this process's own peak (ru_maxrss carries the parent's over fork)
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from pathlib import Path
from bruxwatch.memory import keep_freed_memory
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.firmware_host.feedback import FeedbackConfig
from bruxwatch.firmware_host.session import Session
from bruxwatch.store.night_writer import RecordingWriter
keep_freed_memory()
hours = float(sys.argv[1])
folder = Path(tempfile.mkdtemp())
sim = Simulator(SimulatorConfig(scenario="night", duration_s=hours * 3600, seed=5, chunk_s=1.0))
rss = []
def hourly(out):
    if out.first_index % 3_600_000 == 0:
        rss.append(peak_kb())
session = Session(sim, store=lambda info: RecordingWriter(folder / "n.sqlite", info),
                  feedback=FeedbackConfig(mode="baseline"), subscribers=[hourly])
start = time.perf_counter()
result = session.run(handle_signals=False)
print(json.dumps({"seconds": time.perf_counter() - start, "hourly_peak_kb": rss,
                  "peak_kb": peak_kb(),
                  "file_mb": (folder / "n.sqlite").stat().st_size / 1e6,
                  "episodes": result.status.episodes}))
"""


def start_emulator(seconds: float, episodes_per_hour: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, str(episodes_per_hour), str(seconds + 30)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_reader(path: str, seconds: float) -> float:
    """CPU % of reading and parsing the emulator's frames, nothing else."""
    from bruxwatch.devices.arduino import ArduinoBoard

    board = ArduinoBoard(path)
    stream = board.chunks()
    next(stream)
    t0, c0 = time.monotonic(), cpu_seconds()
    for _ in stream:
        if time.monotonic() - t0 >= seconds:
            break
    cpu = (cpu_seconds() - c0) / (time.monotonic() - t0) * 100
    board.close()
    return cpu


SETTLE_S = 5.0
"""The session's first seconds of stream (opening the night's file, the first imports of the
store's codecs) are left out of its steady CPU figure and counted in the whole-run one."""


def full_session(path: str, seconds: float) -> tuple[float, float, list[float], float]:
    from bruxwatch.devices.arduino import ArduinoBoard
    from bruxwatch.firmware_host.actuators import MotorActuator
    from bruxwatch.firmware_host.feedback import FeedbackConfig
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.store.night_writer import RecordingWriter

    board = ArduinoBoard(path)
    folder = Path(tempfile.mkdtemp())
    session = Session(
        board,
        store=lambda info: RecordingWriter(folder / "live.sqlite", info),
        feedback=FeedbackConfig(refractory_s=3.0),
        actuators=[MotorActuator(board)],
    )
    handler = session._handle
    spent = [0.0, 0]

    def timed(chunk, received_at):
        start = time.perf_counter()
        handler(chunk, received_at)
        spent[0] += time.perf_counter() - start
        spent[1] += 1

    session._handle = timed
    settled: list[tuple[float, float]] = []  # (time, CPU s) once the start-up is over

    def after_start_up(out) -> None:
        if not settled and out.first_index >= SETTLE_S * board.info.fs:
            settled.append((time.monotonic(), cpu_seconds()))

    session.subscribers.append(after_start_up)
    t0, c0 = time.monotonic(), cpu_seconds()
    session.run(duration_s=seconds, handle_signals=False)
    t1, c1 = time.monotonic(), cpu_seconds()
    whole = (c1 - c0) / (t1 - t0) * 100
    ((ts, cs),) = settled
    steady = (c1 - cs) / (t1 - ts) * 100
    return steady, whole, session.status.latencies_ms, spent[0] / max(1, spent[1]) * 1e6


def pipeline_per_chunk() -> float:
    from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
    from bruxwatch.signal import Pipeline
    from bruxwatch.stream import Chunk

    sim = Simulator(SimulatorConfig(scenario="awake", duration_s=60, seed=1))
    x = sim.generate()
    pipeline = Pipeline(sim.info)
    chunks = [Chunk(i, x[:, i : i + 10]) for i in range(0, x.shape[1], 10)]
    start = time.perf_counter()
    for c in chunks:
        pipeline.process(c)
    return (time.perf_counter() - start) / len(chunks) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--night-hours", type=float, default=8.0)
    args = parser.parse_args()

    proc, path = start_emulator(2 * args.seconds + 10, episodes_per_hour=240)
    try:
        bare = bare_reader(path, args.seconds / 2)
        cpu, whole, latencies, per_chunk = full_session(path, args.seconds)
    finally:
        proc.terminate()
    print(f"real-time Arduino stream, 1 kHz x 2 ch ({args.seconds:g} s):")
    print(f"  bare read + parse, 10-ms reads: {bare:5.2f} % of one core")
    print(
        f"  full recorder session:       {cpu:5.2f} % of one core after its first "
        f"{SETTLE_S:g} s (target < 1 %); {whole:5.2f} % with the start-up"
    )
    print(
        f"  session handler per chunk as read (10-400 ms of data): {per_chunk:6.1f} us; "
        f"Pipeline.process per 10-sample chunk: {pipeline_per_chunk():6.1f} us (target < 100 us)"
    )
    if latencies:
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
        print(
            f"  trigger-to-command latency over {len(latencies)} buzzes: median {p50:.2f} ms, "
            f"95th {p95:.2f} ms, 99th {p99:.2f} ms, max {max(latencies):.2f} ms (target < 20 ms)"
        )
    else:
        print("  no buzz in this run: raise --seconds for latency figures")

    night = subprocess.run(
        [sys.executable, "-c", NIGHT, str(args.night_hours)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(night.stdout.strip().splitlines()[-1])
    hourly = ", ".join(f"{kb / 1024:.0f}" for kb in result["hourly_peak_kb"])
    print(
        f"{args.night_hours:g}-hour night at maximum speed through the session + store: "
        f"{result['seconds']:.1f} s, file {result['file_mb']:.0f} MB, {result['episodes']} episodes"
    )
    print(
        f"  peak RSS {result['peak_kb'] / 1024:.0f} MB (target < 200 MB); "
        f"peak RSS at each hour: {hourly} MB"
    )

    return 0


if __name__ == "__main__":
    sys.exit(main())
