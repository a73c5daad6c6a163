"""How long a report over many nights takes to score, one night after the other (the
baseline, what `report --jobs 1 --rescore` does) against the process pool
(`store.scoring_pool`, one worker per core: what `report` does for nights not scored before),
and then taking the scores kept by that run (`store.score_cache`: what `report` does for
nights scored before), in the same run on the same nights.

The nights are a folder given with `--nights` (e.g. the 28 eight-hour nights that
`docs/simulated_month.py` makes), or simulated here through the real recorder
(`--count` nights of `--hours`, 1 kHz, two channels). Printed: the nights, their hours and
samples, the wall time of each way, samples scored per second, the speed-up, and the time a
30-night month of 8-hour nights would take at the pool's rate. The first two ways are cold
(every night re-scored from its raw samples, in a cache folder of the run's own).

    python benchmarks/report.py [--nights FOLDER | --count 6 --hours 1] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bruxwatch.memory import keep_freed_memory
from bruxwatch.store.nights import find_nights
from bruxwatch.store.recording import Recording
from bruxwatch.store.score_cache import kept_score
from bruxwatch.store.scoring_pool import Unscored, default_workers, score_many


def simulated(folder: Path, count: int, hours: float) -> list[Path]:
    from bruxwatch.emulated.nights import record_simulated_nights

    print(f"recording {count} simulated nights of {hours:g} h ...", file=sys.stderr, flush=True)
    return record_simulated_nights(folder, nights=count, hours=hours, seed=21)


def timed(paths: list[Path], workers: int, use_cache: bool) -> float:
    start = time.perf_counter()
    results = score_many(paths, workers=workers, use_cache=use_cache)
    seconds = time.perf_counter() - start
    bad = [r for r in results if isinstance(r, Unscored)]
    if bad:
        raise SystemExit(f"could not score: {bad[0].reason}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", help="a folder of nights (default: simulate them)")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument(
        "--workers", type=int, default=None, help="default: one per core, at least 2"
    )
    args = parser.parse_args()
    keep_freed_memory()  # as the command does
    with tempfile.TemporaryDirectory(prefix="bruxwatch-bench-") as tmp:
        paths = (
            find_nights([args.nights], [])
            if args.nights
            else simulated(Path(tmp), args.count, args.hours)
        )
        samples = 0
        hours = 0.0
        rates = set()
        for path in paths:
            with Recording(path) as night:
                samples += night.n_samples * night.info.n_channels
                hours += night.end_index / night.info.fs / 3600
                rates.add(f"{night.info.fs:g} Hz x {night.info.n_channels}")
        workers = args.workers or max(2, default_workers(paths))
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # empty: the runs are cold
        serial = timed(paths, 1, use_cache=False)
        pooled = timed(paths, workers, use_cache=True)  # keeps each score
        start = time.perf_counter()
        warm = [kept_score(p) for p in paths]  # what `report` tries first
        kept = time.perf_counter() - start
        assert all(w is not None for w in warm)
    per_hour = pooled / hours
    kinds = ", ".join(sorted(rates))
    print(f"{len(paths)} nights ({kinds}), {hours:.1f} h, {samples / 1e6:.0f} M samples")
    print(f"{'way':<28} {'wall s':>8} {'M samples/s':>12} {'speed-up':>9}")
    print(f"{'one by one (baseline)':<28} {serial:8.1f} {samples / serial / 1e6:12.1f} {1.0:9.2f}")
    print(
        f"{f'pool of {workers} processes':<28} {pooled:8.1f} {samples / pooled / 1e6:12.1f} "
        f"{serial / pooled:9.2f}"
    )
    print(
        f"{'kept scores (warm)':<28} {kept:8.1f} {samples / kept / 1e6:12.1f} {serial / kept:9.2f}"
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"30 nights of 8 h like these, at the pool's rate: {30 * 8 * per_hour:.0f} s cold "
        f"(peak RSS: this process {own:.0f} MB, the largest worker {worker:.0f} MB)"
    )


if __name__ == "__main__":
    main()
