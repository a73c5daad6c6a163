"""Whole-recording analysis: the streaming Pipeline fed a night at once.

`analyze` and `analyze_chunks` hand the recording to the same `Pipeline` a live session uses,
in blocks of about 2 minutes (`regrouped`: cache-sized; the result is the same for any
blocking), with its two stages overlapped: a worker thread band-passes the next blocks while
this one scores the current one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from bruxwatch.signal import compiled
from bruxwatch.signal.calibration import Calibration
from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.events import Burst, BurstEnd, Episode, EpisodeEnd, Event, Gap
from bruxwatch.signal.heart_rate import HeartRate, heart_rate
from bruxwatch.signal.pipeline import Pipeline, processing_delay
from bruxwatch.signal.scoring import (
    BAD_CHANNEL_SHARE,
    ChannelQuality,
    Summary,
    calibration_note,
    summarize,
)
from bruxwatch.stream import Chunk, SignalKind, StreamInfo

DEFAULT_BLOCK = 1 << 17
"""Samples per channel handed to the pipeline at a time by `analyze` (about 2 min at 1 kHz)."""

FILTERED_AHEAD = 3
"""Chunks the filtering worker may be ahead of the scoring (each held filtered meanwhile)."""


@dataclass
class Analysis:
    """A scored recording: episodes, bursts, the night summary, every event, and the heart
    rate from the R peaks ECG removal found (None when it did not run)."""

    fs: float
    n_samples: int
    episodes: list[Episode]
    bursts: list[Burst]
    summary: Summary
    events: list[Event] = field(repr=False)
    calibration: Calibration | None
    bad_intervals: list[tuple[int, int]]
    level_units: str
    heart: HeartRate | None = None

    def to_dict(self) -> dict:
        """The JSON form: summary plus one record per episode."""
        return {
            "summary": self.summary.to_dict(),
            "episodes": [
                {
                    "start_s": round(e.start_s, 4),
                    "end_s": round(e.end_s, 4),
                    "kind": e.kind,
                    "bursts": e.bursts,
                    "peak_pct_mvc": None if e.peak_pct_mvc is None else round(e.peak_pct_mvc, 2),
                    "artifact": e.artifact,
                }
                for e in self.episodes
            ],
        }


def analyze(
    samples: np.ndarray,
    fs: float,
    *,
    calibration: Calibration | None = None,
    config: SignalConfig | None = None,
    units: str = "uV",
    kind: SignalKind = "raw",
    rails: tuple[float, float] | None = None,
    channels: tuple[str, ...] | None = None,
    block: int | None = DEFAULT_BLOCK,
    progress: Callable[[int, int], None] | None = None,
    exclude_s: Sequence[tuple[float, float]] = (),
) -> Analysis:
    """Score a whole recording `samples` (channels, n) or (n,), sampled at `fs` Hz.

    calibration: rest/MVC per scored channel; None uses the adaptive background.
    block: samples per pipeline call (None: the whole recording in one call).
    progress: called with (samples done, total) after each block.
    Full speed needs no set-up: the stages keep their work arrays from block to block
    (`bruxwatch.memory.keep_freed_memory()`, which the bruxwatch command calls, changes the
    time of an 8-hour night by less than the run-to-run spread).
    exclude_s: stretches (s) left out of the scoring, e.g. the calibration; the episodes
        and bursts there stay in `events` but not in `episodes`, `bursts` or the summary.
    """
    x = np.atleast_2d(np.asarray(samples))
    n_channels, n = x.shape
    info = StreamInfo(
        fs=fs,
        channels=channels or tuple(f"ch{i + 1}" for i in range(n_channels)),
        units=units,
        kind=kind,
        device="analysis",
        rails=rails,
    )
    chunks = [Chunk(first_index=0, samples=x)] if n else []
    return analyze_chunks(
        chunks,
        info,
        calibration=calibration,
        config=config,
        progress=progress,
        total=n,
        exclude_s=exclude_s,
        block=block,
    )


def analyze_chunks(
    chunks: Iterable[Chunk],
    info: StreamInfo,
    *,
    calibration: Calibration | None = None,
    config: SignalConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    total: int | None = None,
    exclude_s: Sequence[tuple[float, float]] = (),
    block: int | None = DEFAULT_BLOCK,
) -> Analysis:
    """Score a stream given as chunks in order (gaps as jumps in `first_index`), such as a
    recording read back from the store. Same pipeline and result as `analyze`.

    block: samples per pipeline call: the chunks are cut and joined into blocks of about
    that many (None: as they come), whatever their own size (a recorded night comes in
    blocks of a minute).
    """
    config = config or SignalConfig()
    pipeline = Pipeline(info, config, calibration)
    if total is not None:
        compiled.prepare(total * info.n_channels)
    if block:
        quality_block = max(1, round(config.quality.block_s * info.fs))
        # ECG removal hands samples on `delay` late: blocks cut that much (modulo a quality
        # block) after the quality blocks' edges reach scoring as whole quality blocks.
        delay = processing_delay(info.fs, info.kind, config)
        chunks = regrouped(chunks, _aligned(int(block), quality_block), delay % quality_block)
    events: list[Event] = []
    # Two-stage software pipeline: a worker filters the next chunks (in order, up to
    # FILTERED_AHEAD of them) while this thread scores the current one. Running ahead by
    # more than one lets either stage take longer on some chunks without the other waiting.
    with ThreadPoolExecutor(max_workers=1) as worker:
        ahead: deque[tuple[Chunk, Future]] = deque()
        stream = iter(chunks)
        for chunk in stream:
            ahead.append((chunk, worker.submit(pipeline.filter, chunk)))
            if len(ahead) == FILTERED_AHEAD:
                break
        while ahead:
            current, upcoming = ahead.popleft()
            stage = upcoming.result()
            following = next(stream, None)
            if following is not None:
                ahead.append((following, worker.submit(pipeline.filter, following)))
            events += pipeline.score(current, stage).events
            if progress is not None:
                progress(current.end_index, total or current.end_index)
    events += pipeline.finish()
    return scored(events, pipeline, pipeline.next_index, exclude_s)


def regrouped(chunks: Iterable[Chunk], step: int, shift: int = 0) -> Iterator[Chunk]:
    """The samples of `chunks` (in order) cut and joined into blocks that end at the stream
    indices equal to `shift` modulo `step`, and where samples are missing: the same samples
    at the same indices, in fewer, larger chunks or in smaller ones. A block that lies inside
    one chunk is a view of it; joining pieces copies them."""
    pieces: list[np.ndarray] = []
    start = end = 0
    missing = 0  # samples lost just before the block being gathered (empty chunks' too)

    def joined() -> Chunk:
        samples = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)
        return Chunk(start, samples, missing)

    for chunk in chunks:
        if pieces and chunk.first_index != end:  # a gap: the block so far ends here
            yield joined()
            pieces, missing = [], 0
        if not pieces:
            start = end = chunk.first_index
            missing += chunk.missing_before
        taken = 0
        while taken < chunk.n:
            boundary = shift + ((end - shift) // step + 1) * step  # the next one after `end`
            part = chunk.samples[:, taken : taken + boundary - end]
            pieces.append(part)
            taken += part.shape[1]
            end += part.shape[1]
            if end == boundary:
                yield joined()
                pieces, start, missing = [], end, 0
    if pieces:
        yield joined()


def _aligned(block: int, quality_block: int) -> int:
    """A whole number of quality blocks near `block`, so no quality block straddles two calls."""
    return max(1, round(block / quality_block)) * quality_block


def scored(
    events: list[Event],
    pipeline: Pipeline,
    n_samples: int,
    exclude_s: Sequence[tuple[float, float]] = (),
) -> Analysis:
    """Collect a finished pipeline's events into an Analysis."""

    def kept(start: float, end: float) -> bool:
        return not any(start < b and a < end for a, b in exclude_s)

    episodes = [e.episode for e in events if isinstance(e, EpisodeEnd)]
    episodes = [e for e in episodes if kept(e.start_s, e.end_s)]
    bursts = [
        e.burst for e in events if isinstance(e, BurstEnd) and kept(e.burst.start_s, e.burst.end_s)
    ]
    quality = pipeline.quality
    threshold = _threshold_text(pipeline)
    summary = summarize(
        episodes,
        bursts,
        duration_s=n_samples / pipeline.fs,
        bad_seconds=quality.bad_seconds(),
        calibrated=pipeline.calibrated,
        threshold=threshold,
        burst_is_artifact=lambda b: quality.overlaps_bad(b.start_index, b.end_index),
        excluded_s=exclude_s,
        missing_seconds=sum(e.missing_s for e in events if isinstance(e, Gap)),
        channels=[
            ChannelQuality(
                channel=pipeline.info.channels[c],
                flagged_hours=quality.flagged_seconds(c) / 3600.0,
                flags={k: v / 3600.0 for k, v in quality.flag_seconds(c).items()},
            )
            for c in pipeline.scored
        ],
        min_good_hours=pipeline.config.quality.min_good_hours,
        calibration_note=_calibration_note(pipeline),
    )
    return Analysis(
        fs=pipeline.fs,
        n_samples=n_samples,
        episodes=episodes,
        bursts=bursts,
        summary=summary,
        events=events,
        calibration=pipeline.calibration,
        bad_intervals=[(lo, hi) for lo, hi in quality.bad],
        level_units=pipeline.level_units,
        heart=heart_rate(
            pipeline.r_peaks, pipeline.beats_matched, pipeline.fs, pipeline.config.heart
        )
        if pipeline.finds_beats
        else None,
    )


def _calibration_note(pipeline: Pipeline) -> str:
    """Why the calibration is doubtful, for the channels that were not bad all night."""
    if not pipeline.calibrated:
        return ""
    quality = pipeline.quality
    total = max(pipeline.next_index, 1) / pipeline.fs
    kept = [
        k
        for k, c in enumerate(pipeline.scored)
        if quality.flagged_seconds(c) <= BAD_CHANNEL_SHARE * total
    ]
    low, high = pipeline.floor_vs_rest
    return calibration_note(
        [pipeline.info.channels[pipeline.scored[k]] for k in kept],
        [float(low[k]) for k in kept],
        [float(high[k]) for k in kept],
    )


def _threshold_text(pipeline: Pipeline) -> str:
    t = pipeline.config.threshold
    if pipeline.calibrated:
        return (
            f"rest + {t.mvc_fraction:.0%} of (MVC - rest), at least {t.min_rest_multiple:g}x rest"
        )
    return (
        f"{t.adaptive_factor:g}x adaptive background ({t.background_percentile:g}th percentile "
        f"over {t.background_window_s:g} s); not calibrated"
    )
