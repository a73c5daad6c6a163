"""How fast the serial parsers decode, as a multiple of each board's real-time data rate.

Prints bytes/s and samples/s for the Cyton packet parser, the bruxwatch frame parser and the
text-line parser, fed the way a USB serial port delivers data (64-byte reads) and in 4-kB
reads, next to a baseline measured in the same run: numpy decoding the same bytes when they
are known to be perfectly aligned (no search, no checks).

    python benchmarks/parse.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bruxwatch.devices import arduino_protocol as ard
from bruxwatch.devices import cyton_protocol as cyt


def timed(fn) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def feed_all(parser_factory, data: bytes, read: int) -> None:
    parser = parser_factory()
    for i in range(0, len(data), read):
        parser.feed(data[i : i + read])


def report(name, data, samples, realtime_bps, factory, baseline) -> None:
    base = timed(baseline)
    print(
        f"{name}: {len(data) / 1e6:.2f} MB, {samples} samples per channel; "
        f"aligned numpy baseline {len(data) / base / 1e6:.1f} MB/s"
    )
    for read in (64, 4096):
        seconds = timed(lambda read=read: feed_all(factory, data, read))
        rate = len(data) / seconds
        print(
            f"  {read:5d}-byte reads: {rate / 1e6:6.2f} MB/s, "
            f"{samples / seconds / 1e3:8.0f} k samples/s"
            f" = {rate / realtime_bps:6.0f}x real time ({seconds / base:.1f}x the baseline's time)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of stream to decode")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    n = int(args.seconds * cyt.FS)
    counts = rng.integers(-(2**20), 2**20, (n, 8))
    cyton = b"".join(cyt.encode_packet(i, c) for i, c in enumerate(counts))
    report(
        "Cyton 33-byte packets (250 Hz)",
        cyton,
        n,
        cyt.FS * cyt.PACKET_SIZE,
        cyt.CytonParser,
        lambda: np.frombuffer(cyton, np.uint8).reshape(-1, 33)[:, 2:26].astype(np.int32),
    )

    fs, per = 1000, 10
    frames = [rng.integers(0, 1024, (2, per)) for _ in range(int(args.seconds * fs / per))]
    binary = b"".join(ard.encode_frame(i * per, f) for i, f in enumerate(frames))
    size = len(binary) // len(frames)
    report(
        "bruxwatch frames (1 kHz, 2 ch)",
        binary,
        len(frames) * per,
        len(binary) / args.seconds,
        ard.FrameParser,
        lambda: np.frombuffer(binary, np.uint8).reshape(-1, size)[:, 10:-2].copy().view("<u2"),
    )

    lines = rng.integers(0, 1024, (int(args.seconds * fs), 2))
    text = "".join(f"{a},{b}\n" for a, b in lines.tolist()).encode()
    report(
        "text lines (1 kHz, 2 ch)",
        b"\n" + text,
        len(lines),
        len(text) / args.seconds,
        ard.TextLineParser,
        lambda: np.loadtxt(text.decode().splitlines(), delimiter=","),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
