"""Helpers for the streaming = offline tests: a stream scored whole and in chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from bruxwatch.signal import Pipeline
from bruxwatch.stream import Chunk


def by_kind(events) -> dict[str, list]:
    """Events grouped by type, each group in order: within one chunk the pipeline's stages
    report stage by stage, not interleaved by time, so only each kind's order is compared."""
    kinds: dict[str, list] = {}
    for event in events:
        kinds.setdefault(type(event).__name__, []).append(event)
    return kinds


def whole_and_chunked(
    make: Callable[[], Pipeline], x: np.ndarray, cuts: Iterable[int]
) -> tuple[Pipeline, list, Pipeline, list]:
    """Score x (channels, n) in one chunk and cut at `cuts`, each with a fresh pipeline from
    `make`: (whole pipeline, its events, chunked pipeline, its events), finish() included."""
    whole = make()
    expected = whole.process(Chunk(0, x)).events + whole.finish()
    chunked = make()
    events, start = [], 0
    for end in sorted({*(c for c in cuts if c < x.shape[1]), x.shape[1]}):
        if end > start:
            events += chunked.process(Chunk(start, x[:, start:end])).events
            start = end
    events += chunked.finish()
    return whole, expected, chunked, events
