"""What a night costs on disk, per kind of source, and what writing and reading it cost.

Each source is simulated for `--minutes` as its reader delivers it, written through the
recorder's own `RecordingWriter` in one-second blocks (as a live night is: one commit a
second, joined every minute), then read back:

  Cyton-like     24-bit counts x 0.02235 µV (gain 24), the Cyton reader's float32 product
  Ganglion-like  counts x 0.00187 µV, multiplied in float64 as the Ganglion reader does
  Arduino 10-bit ADC counts 0-1023 around mid-scale (about 4 µV a count)
  floats (LSL)   float32 µV with no ADC step (LSL, imports, the simulator by default)

Beside each: the baseline measured in the same run, the same samples as plain float32 (what
nights stored before: 4 bytes a sample), and the share of one core the encoding takes at
real time. Printed: bytes per sample in the blocks and for the whole file, encode CPU (% of
a core at the stream's rate), read-back speed, and that the read-back is bit for bit.

    python benchmarks/storage.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.store.block_codec import FLOAT, encode_block
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk, StreamInfo

CYTON_STEP = 4.5 / 24 / (2**23 - 1) * 1e6
GANGLION_STEP = 1.2e6 / (8388607.0 * 1.5 * 51.0)


def sources(minutes: float) -> list[tuple[str, StreamInfo, np.ndarray]]:
    sim = Simulator(SimulatorConfig(scenario="night", duration_s=minutes * 60, seed=12))
    uv = sim.generate().astype(np.float64)
    base = sim.info
    cyton_counts = np.rint(uv / CYTON_STEP).astype(np.int32)
    ganglion_counts = np.rint(uv / GANGLION_STEP).astype(np.int32)
    adc = np.clip(np.rint(uv / 4.0) + 512, 0, 1023)
    step32 = float(np.float32(CYTON_STEP))

    def info(units: str, steps) -> StreamInfo:
        return StreamInfo(base.fs, base.channels, units=units, steps=steps, device="bench")

    return [
        (
            "Cyton-like (24-bit)",
            info("uV", (step32,) * 2),
            cyton_counts.astype(np.float32) * np.float32(CYTON_STEP),
        ),
        (
            "Ganglion-like (24-bit)",
            info("uV", (GANGLION_STEP,) * 2),
            (ganglion_counts * GANGLION_STEP).astype(np.float32),
        ),
        ("Arduino 10-bit", info("counts", (1.0, 1.0)), adc.astype(np.float32)),
        ("floats (LSL)", info("uV", None), uv.astype(np.float32)),
    ]


def measure(name: str, info: StreamInfo, x: np.ndarray, folder: Path) -> None:
    fs = int(info.fs)
    path = folder / f"{name.split()[0]}.sqlite"
    start = time.process_time()
    for a in range(0, x.shape[1], fs):  # the codec alone, at one block a second
        encode_block(x[:, a : a + fs], info.steps)
    encode_s = time.process_time() - start
    writer = RecordingWriter(path, info)
    for a in range(0, x.shape[1], fs):
        writer.append(Chunk(a, x[:, a : a + fs]))
        writer.flush(force=True)
    writer.finish("bench")
    start = time.perf_counter()
    with Recording(path) as night:
        back, _ = night.samples()
        stored = night.db.execute("SELECT SUM(LENGTH(data)) FROM blocks").fetchone()[0]
    read_s = time.perf_counter() - start
    exact = back.tobytes() == x.tobytes()
    values = x.size
    stream_s = x.shape[1] / info.fs
    print(
        f"{name:<24} {stored / values:7.2f} {path.stat().st_size / values:7.2f} "
        f"{100 * encode_s / stream_s:9.3f} {values / read_s / 1e6:10.1f}  "
        f"{'yes' if exact else 'NO'}"
    )


def baseline(x: np.ndarray, fs: int) -> float:
    """Plain float32, as nights stored before: bytes a sample of the blocks."""
    blob = sum(len(x[:, a : a + fs].astype("<f4").tobytes()) for a in range(0, x.shape[1], fs))
    return blob / x.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    found = sources(args.minutes)
    print(f"{args.minutes:g} min of a simulated night, 2 channels at 1 kHz, one block a second")
    print(f"{'source':<24} {'B/sample':>7} {'file':>7} {'encode %':>9} {'read M/s':>10}  exact")
    print(f"{f'(baseline: {FLOAT} float32)':<24} {baseline(found[0][2], 1000):7.2f}")
    with tempfile.TemporaryDirectory(prefix="bruxwatch-bench-") as tmp:
        for name, info, x in found:
            measure(name, info, x, Path(tmp))
    print("encode %: one core's time the codec takes at the stream's real-time rate")


if __name__ == "__main__":
    main()
