"""Pipeline = filter → envelope → threshold → detector, with quality gates, one chunk at a time.

The same object scores a live stream chunk by chunk and a whole night in one call
(`bruxwatch.signal.analyze` feeds it): every stage carries its state and takes its decisions at
exact sample indices, so any chunking yields the same events.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from bruxwatch.devices.base import Chunk, StreamInfo
from bruxwatch.signal.calibration import AdaptiveBackground, Calibration
from bruxwatch.signal.concealment import RecentSamples
from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.detector import EpisodeDetector
from bruxwatch.signal.envelope import MovingAverage, MovingRms, window_samples
from bruxwatch.signal.events import EpisodeEnd, Event, Gap
from bruxwatch.signal.filters import StreamingFilter, design_sos
from bruxwatch.signal.quality import QualityMonitor


@dataclass
class Filtered:
    """Stage 1's result: the chunk as float64 (channels, n) and its band-passed version.

    first_index: index of raw[:, 0]; earlier than the chunk's own first index when a short
        gap before it was bridged (raw then starts with the concealment of the gap).
    bridged: samples of concealment at the start (0: none).
    invalid: (channels, n) bool where the input was impossible (not finite, beyond the rails
        or `max_abs`) and held at the last valid value; None when every sample was valid.
    """

    raw: np.ndarray
    filtered: np.ndarray
    first_index: int = 0
    bridged: int = 0
    invalid: np.ndarray | None = None


@dataclass
class ProcessedChunk:
    """What the pipeline made of one chunk.

    first_index: index of the first sample of the arrays below. When a short gap before the
        chunk was bridged, the arrays start with the concealed stretch, so first_index is the
        index where the samples went missing, not the chunk's own.
    filtered: band-passed, notched EMG (channels, n) in the stream's units (raw input as-is
        for envelope streams).
    envelope: RMS envelope (channels, n), same units, float32.
    level: detection level (n,): max over scored channels of % MVC (calibrated) or of
        envelope / background (adaptive); 0 while the adaptive background warms up.
    above: (n,) bool, True where any scored channel is above its threshold.
    thresholds: envelope threshold per scored channel at the end of the chunk (NaN while
        warming up).
    events: detector, quality and gap events completed by this chunk, in time order.
    """

    first_index: int
    filtered: np.ndarray
    envelope: np.ndarray
    level: np.ndarray
    above: np.ndarray
    thresholds: np.ndarray
    events: list[Event] = field(default_factory=list)


class Pipeline:
    """Streaming scorer for one stream. Feed `process(chunk)` in order; call `finish()` at the end.

    calibration: per scored channel rest/MVC; None → adaptive background ("× background").
    """

    def __init__(
        self,
        info: StreamInfo,
        config: SignalConfig | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.info = info
        self.config = config = config or SignalConfig()
        self.fs = fs = info.fs
        n_channels = info.n_channels
        scored = config.masseter_channels or tuple(range(n_channels))
        if any(not 0 <= c < n_channels for c in scored):
            raise ValueError(f"masseter channels {scored} outside the {n_channels} channels")
        self.scored = list(scored)
        self.calibration = calibration
        if calibration is not None and len(calibration.rest) != len(self.scored):
            raise ValueError(
                f"calibration has {len(calibration.rest)} channels, {len(self.scored)} are scored"
            )
        if info.kind == "raw":
            self.sos = design_sos(fs, config.filter)
            self._filter: StreamingFilter | None = StreamingFilter(self.sos, n_channels)
            self._envelope: MovingRms | MovingAverage = MovingRms(
                window_samples(config.envelope.rms_window_s, fs), n_channels
            )
        else:
            self.sos = np.zeros((0, 6))
            self._filter = None
            self._envelope = MovingAverage(
                window_samples(config.envelope.envelope_smoothing_s, fs), n_channels
            )
        if calibration is not None:
            self._fixed_thresholds = calibration.thresholds(config.threshold)
            self._background = None
        else:
            self._background = AdaptiveBackground(fs, len(self.scored), config.threshold)
        self.detector = EpisodeDetector(fs, config.detector, pct_mvc=calibration is not None)
        self.quality = QualityMonitor(
            fs,
            n_channels,
            config.quality,
            rails=info.rails,
            mains_hz=config.filter.mains_hz if info.kind == "raw" else None,
            scored=tuple(self.scored),
        )
        self._all_scored = self.scored == list(range(n_channels))
        self._bridge = round(config.detector.bridge_gap_s * fs)
        # the raw samples just before the next chunk: a short gap is stood in for by a copy
        # of them, and an impossible first sample is held at the last one
        self._recent = RecentSamples(n_channels, self._bridge)
        limit = config.quality.max_abs
        low, high = info.rails if info.rails is not None else (-limit, limit)
        self._valid_range = (max(low, -limit), min(high, limit))  # of a possible sample
        self._filter_next: int | None = None
        self._next_index: int | None = None
        self._thresholds = np.full(len(self.scored), np.nan)

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    @property
    def level_units(self) -> str:
        return "% MVC" if self.calibrated else "x background"

    @property
    def next_index(self) -> int:
        """Index of the next sample expected (0 before the first chunk)."""
        return self._next_index or 0

    def process(self, chunk: Chunk) -> ProcessedChunk:
        """Score one chunk. A chunk that starts after the expected index records a gap."""
        return self.score(chunk, self.filter(chunk))

    def filter(self, chunk: Chunk) -> Filtered:
        """Stage 1 of `process`: the band-pass/notch filter, restarted after a gap.

        It touches only the filter's state, so a caller may run it for the next chunk in
        another thread while `score` handles this one (`analyze` does); calls to each stage
        must stay in stream order.
        """
        x = np.asarray(chunk.samples, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != self.info.n_channels:
            raise ValueError(f"chunk must be (channels={self.info.n_channels}, n), got {x.shape}")
        first = chunk.first_index
        if self._filter_next is not None and first < self._filter_next:
            raise ValueError(f"chunk at sample {first} overlaps samples already processed")
        gap = 0 if self._filter_next is None else first - self._filter_next
        if gap > self._bridge or (gap and not self._recent):
            gap = -1  # too long to bridge: everything restarts
            self._recent.clear()
            if self._filter is not None:
                self._filter.reset()
        x, invalid = self._held_valid(x)
        bridged = max(gap, 0)
        if bridged:
            x = np.concatenate((self._recent.stand_in(bridged), x), axis=1)
            if invalid is not None:
                invalid = np.pad(invalid, ((0, 0), (bridged, 0)))
        filtered = x if self._filter is None else self._filter.process(x)
        self._recent.add(x)
        self._filter_next = first + chunk.n
        return Filtered(
            raw=x, filtered=filtered, first_index=first - bridged, bridged=bridged, invalid=invalid
        )

    def _held_valid(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """x with impossible samples (not finite, beyond the rails or `max_abs`) replaced by
        the last valid one of their channel, and where they were (None: all valid)."""
        low, high = self._valid_range
        if x.size == 0 or (x.min() >= low and x.max() <= high):  # NaN fails both: slow path
            return x, None
        with np.errstate(invalid="ignore"):
            bad = ~((x >= low) & (x <= high))
        x = x.copy()
        n = x.shape[1]
        for ch in np.flatnonzero(bad.any(axis=1)).tolist():
            row, ok = x[ch], ~bad[ch]
            if self._recent:
                before = self._recent.last_value(ch)
            elif ok.any():
                before = row[np.argmax(ok)]  # nothing earlier: the first valid value
            else:
                before = 0.0
            last_ok = np.maximum.accumulate(np.where(ok, np.arange(n), -1))
            x[ch] = np.where(last_ok >= 0, row[np.maximum(last_ok, 0)], before)
        return x, bad

    def score(self, chunk: Chunk, stage: Filtered) -> ProcessedChunk:
        """Stage 2 of `process`: envelope, quality, threshold and detection."""
        first = stage.first_index
        events: list[Event] = []
        if self._next_index is None:
            self._next_index = first
        elif first < self._next_index:
            raise ValueError(f"chunk at sample {first} overlaps samples already processed")
        elif first > self._next_index:
            events += self._break(self._next_index, first)
        if stage.bridged:
            events.append(
                Gap(at_s=first / self.fs, missing_s=stage.bridged / self.fs, bridged=True)
            )
        filtered = stage.filtered
        envelope = self._envelope.process(filtered)
        events += self.quality.process(stage.raw, filtered, first, stage.invalid)
        scored = envelope if self._all_scored else envelope[self.scored]
        level, above = self._detection_level(scored, first)
        events += self._mark_artifacts(self.detector.process(above, level, first))
        self._next_index = first + filtered.shape[-1]
        return ProcessedChunk(
            first_index=first,
            filtered=filtered,
            envelope=envelope,
            level=level,
            above=above,
            thresholds=self._thresholds.copy(),
            events=events,
        )

    def finish(self) -> list[Event]:
        """End of stream: judge the last quality block and close open bursts and episodes."""
        events: list[Event] = list(self.quality.finish())
        events += self._mark_artifacts(self.detector.finish(self.next_index))
        return events

    # ---------------------------------------------------------------------------- private
    def _break(self, end: int, resume: int) -> list[Event]:
        """Samples [end, resume) were lost: close what was open, restart the envelope."""
        events = self.finish()
        events.append(Gap(at_s=end / self.fs, missing_s=(resume - end) / self.fs))
        self._envelope.reset()
        return events

    def _detection_level(self, envelope: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
        if self.calibration is not None:
            thresholds = self._fixed_thresholds
            self._thresholds = thresholds
            above = (envelope >= thresholds[:, None]).any(axis=0)
            level = self.calibration.pct_mvc(envelope).max(axis=0)
            return level, above
        assert self._background is not None
        factor = self.config.threshold.adaptive_factor
        ratio = np.empty(envelope.shape, dtype=envelope.dtype)
        for lo, hi, background in self._background.segments(envelope, first):
            # 1 / background; 0 while warming up (NaN) or for a dead, all-zero channel
            with np.errstate(divide="ignore", invalid="ignore"):
                inverse = np.where(background > 0, 1.0 / background, 0.0).astype(ratio.dtype)
            np.multiply(envelope[:, lo:hi], inverse[:, None], out=ratio[:, lo:hi])
        self._thresholds = factor * self._background.background
        level = ratio.max(axis=0)
        return level, level >= factor

    def _mark_artifacts(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, EpisodeEnd):
                ep = event.episode
                artifact = self.quality.overlaps_bad(ep.start_index, ep.end_index)
                event = EpisodeEnd(dataclasses.replace(ep, artifact=artifact))
            out.append(event)
        return out
