"""Scoring many nights at once: each night is scored by `score_stored_night` in its own
worker process (a process pool, one worker per core by default), so a folder of nights takes
about as long as its longest share, not the sum.

`score_stored_night(path, channels)` is the whole per-night job, a plain function of a path
that returns a picklable result: the same function runs serially, in this pool, or on any
engine that maps a function over paths (docs/architecture.md, "Scoring many nights").
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from bruxwatch.errors import StoreError
from bruxwatch.memory import keep_freed_memory
from bruxwatch.store.recording import DamagedRecording, Recording
from bruxwatch.store.score_cache import scored
from bruxwatch.store.scored import ScoredNight


@dataclass(frozen=True)
class Unscored:
    """A night that could not be scored: `damaged` (bruxwatch repair saves it) or another
    storage failure, with its one-line reason."""

    path: Path
    reason: str
    damaged: bool


def score_stored_night(
    path: str | Path, channels: tuple[int, ...] | None = None, use_cache: bool = True
) -> ScoredNight | Unscored:
    """Score one stored night from its raw samples (`store.scored.score_night`), or take
    the score kept from an earlier run (`store.score_cache`); a night that cannot be read
    comes back as `Unscored`, not raised, so a pool goes on."""
    path = Path(path)
    try:
        with Recording(path) as night:
            return scored(night, channels=channels, use_cache=use_cache)
    except DamagedRecording as exc:
        return Unscored(path, str(exc), damaged=True)
    except StoreError as exc:
        reason = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return Unscored(path, reason, damaged=False)


POOL_MIN_BYTES = 256e6
"""Below this much stored signal (about 64 M samples, a few seconds of scoring) the nights
are scored here: starting worker processes would cost more than they save (measured by
benchmarks/report.py: 4 one-hour nights take 1.0 s here, 1.8 s in a pool of 2)."""


def default_workers(paths: Sequence[str | Path]) -> int:
    """One worker per core the process may use, never more than there are nights, and
    none (1: here) for a few short nights."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    stored = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
    if stored < POOL_MIN_BYTES:
        return 1
    return max(1, min(len(paths), cores))


def score_many(
    paths: Sequence[str | Path],
    channels: tuple[int, ...] | None = None,
    workers: int | None = None,
    done: Callable[[int, Path], None] | None = None,
    use_cache: bool = True,
) -> list[ScoredNight | Unscored]:
    """Every night of `paths` scored, in the order given; `workers` processes (None:
    `default_workers`; 1: here, one after the other). `done(count, path)` after each."""
    paths = [Path(p) for p in paths]
    workers = default_workers(paths) if workers is None else max(1, workers)
    if workers == 1 or len(paths) == 1:
        results = []
        for k, path in enumerate(paths, 1):
            results.append(score_stored_night(path, channels, use_cache))
            if done:
                done(k, path)
        return results
    # "spawn": a fresh interpreter per worker, safe whatever threads this process runs
    context = multiprocessing.get_context("spawn")
    found: dict[int, ScoredNight | Unscored] = {}
    # each worker keeps freed memory mapped, as the command does (full speed)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=keep_freed_memory
    ) as pool:
        futures = {
            pool.submit(score_stored_night, p, channels, use_cache): k for k, p in enumerate(paths)
        }
        for count, future in enumerate(as_completed(futures), 1):
            k = futures[future]
            found[k] = future.result()
            if done:
                done(count, paths[k])
    return [found[k] for k in range(len(paths))]
