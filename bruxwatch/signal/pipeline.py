"""Pipeline = filter → envelope → threshold → detector, with quality gates, one chunk at a time.

The same object scores a live stream chunk by chunk and a whole night in one call
(`bruxwatch.signal.analyze` feeds it): every stage carries its state and takes its decisions at
exact sample indices, so any chunking yields the same events.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from bruxwatch.signal import compiled
from bruxwatch.signal.calibration import AdaptiveBackground, Calibration
from bruxwatch.signal.concealment import RecentSamples
from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.detector import EpisodeDetector
from bruxwatch.signal.ecg import EcgCanceller
from bruxwatch.signal.envelope import MovingAverage, MovingRms, window_samples
from bruxwatch.signal.events import EpisodeEnd, Event, Gap, MainsChanged
from bruxwatch.signal.filters import StreamingFilter, band_edges, design_sos
from bruxwatch.signal.hysteresis import Hysteresis
from bruxwatch.signal.mains import CANDIDATES_HZ, MainsTracker, NotchPlan
from bruxwatch.signal.quality import QualityMonitor
from bruxwatch.signal.room import widened, with_room
from bruxwatch.stream import ECG_CHANNEL, Chunk, StreamInfo


@dataclass
class Filtered:
    """Stage 1's result: the chunk as float64 (channels, n) and its band-passed version.

    first_index: index of raw[:, 0]. Earlier than the chunk's own first index when a short
        gap before it was bridged (the concealment of the gap comes first) and, once ECG
        removal has run (`cleaned`), by the samples it holds back (`EcgCanceller.delay`):
        then the arrays end that many samples before the chunk does.
    bridged: samples of concealment put in for a short gap at index `bridged_at` (0: none).
    restarted: a long gap came before the chunk: ECG removal hands on what it holds
        (`before_gap`, scored before this chunk's samples) and starts again.
    cleaned: ECG removal has run on `filtered` (it runs at the start of `score`, so that the
        two stages of `analyze` share the work).
    invalid: (channels, n) bool where the input was impossible (not finite, beyond the rails
        or `max_abs`) and held at the last valid value; None when every sample was valid.
    notches: (sample index, plan) where the mains notches changed inside the chunk.
    room: columns free before `raw` and `filtered` in the arrays they are views of (0: none).
        ECG removal puts the samples it held back there, instead of joining copies.
    """

    raw: np.ndarray
    filtered: np.ndarray
    first_index: int = 0
    bridged: int = 0
    invalid: np.ndarray | None = None
    notches: list[tuple[int, NotchPlan]] = field(default_factory=list)
    bridged_at: int = 0
    before_gap: Filtered | None = None
    restarted: bool = False
    cleaned: bool = False
    room: int = 0


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
        ecg_lead = info.channels.index(ECG_CHANNEL) if ECG_CHANNEL in info.channels else None
        scored = scored_channels(info.channels, config)
        if any(not 0 <= c < n_channels for c in scored):
            raise ValueError(f"masseter channels {scored} outside the {n_channels} channels")
        if not scored:
            raise ValueError("no channel to score: the only channel is wired as ECG")
        self.scored = list(scored)
        self.calibration = calibration
        if calibration is not None and len(calibration.rest) != len(self.scored):
            raise ValueError(
                f"calibration has {len(calibration.rest)} channels, {len(self.scored)} are scored"
            )
        self._mains: MainsTracker | None = None
        self._ecg: EcgCanceller | None = None
        if info.kind == "raw" and config.ecg.remove:
            self._ecg = EcgCanceller(fs, n_channels, config.ecg, detect_on=ecg_lead)
        self._delayed = _DelayLine()  # raw input kept in step with what the canceller holds
        if info.kind == "raw":
            _, high = band_edges(fs, config.filter)
            self._mains = MainsTracker(fs, high, config.filter)
            self.sos = design_sos(fs, config.filter, self._mains.plan.frequencies)
            self._filter: StreamingFilter | None = StreamingFilter(self.sos, n_channels)
            self._notched = self._mains.plan.frequencies
            self._envelope: MovingRms | MovingAverage = MovingRms(
                window_samples(config.envelope.rms_window_s, fs), n_channels
            )
        else:
            self.sos = np.zeros((0, 6))
            self._filter = None
            self._envelope = MovingAverage(
                window_samples(config.envelope.envelope_smoothing_s, fs), n_channels
            )
        # the running floor: the background of adaptive scoring, and the guard of calibrated
        # thresholds (never below min_rest_multiple x the floor, as at calibration)
        self._background = AdaptiveBackground(fs, len(self.scored), config.threshold)
        if calibration is not None:
            self._fixed_thresholds = calibration.thresholds(config.threshold)
            self._rest = np.asarray(calibration.rest, dtype=np.float64)
            self.floor_vs_rest = np.full((2, len(self.scored)), np.nan)  # lowest, highest
            self._floor_seen: np.ndarray | None = None  # the running floor last guarded
        self._hysteresis = Hysteresis()  # onset at the threshold, offset at release_fraction
        self._work = _DetectionWork()
        self.detector = EpisodeDetector(fs, config.detector, pct_mvc=calibration is not None)
        self.quality = QualityMonitor(
            fs,
            n_channels,
            config.quality,
            rails=info.rails,
            mains_hz=_mains_checked(config.filter.mains_hz) if info.kind == "raw" else (),
            scored=tuple(self.scored),
        )
        self._all_scored = self.scored == list(range(n_channels))
        self._bridge = round(config.detector.bridge_gap_s * fs)
        # the raw samples just before the next chunk: a short gap is stood in for by a copy
        # of them, and an impossible first sample is held at the last one
        # enough for a stand-in of the longest gap bridged, taken whole mains periods back
        self._recent = RecentSamples(n_channels, self._bridge + round(0.1 * fs))
        limit = config.quality.max_abs
        low, high = info.rails if info.rails is not None else (-limit, limit)
        self._valid_range = (max(low, -limit), min(high, limit))  # of a possible sample
        self._filter_next: int | None = None
        self._next_index: int | None = None
        self._thresholds = np.full(len(self.scored), np.nan)
        if calibration is not None:
            self._thresholds = self._fixed_thresholds.copy()

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
        x = np.asarray(chunk.samples)
        if x.ndim != 2 or x.shape[0] != self.info.n_channels:
            raise ValueError(f"chunk must be (channels={self.info.n_channels}, n), got {x.shape}")
        room = 0 if self._ecg is None else self._ecg.delay  # what ECG removal holds back
        x, checked = self._float64(x, room)
        room = room if checked else 0  # the check found impossible samples: held in a copy
        first = chunk.first_index
        if self._filter_next is not None and first < self._filter_next:
            raise ValueError(f"chunk at sample {first} overlaps samples already processed")
        gap = 0 if self._filter_next is None else first - self._filter_next
        restarted = False
        if gap > self._bridge or (gap and not self._recent):
            gap = -1  # too long to bridge: everything restarts
            restarted = True
            self._recent.clear()
            if self._filter is not None:
                self._filter.reset()
        x, invalid = (x, None) if checked else self._held_valid(x)
        bridged = max(gap, 0)
        if bridged:
            room = 0
            mains = self._mains.plan.mains_hz if self._mains is not None else None
            period = self.fs / mains if mains else None
            x = np.concatenate((self._recent.stand_in(bridged, period), x), axis=1)
            if invalid is not None:
                invalid = np.pad(invalid, ((0, 0), (bridged, 0)))
        start = first - bridged
        notches: list[tuple[int, NotchPlan]] = []
        if self._filter is None:
            filtered = x
        else:
            changes = self._mains.feed(x, start) if self._mains is not None else []
            if not changes:
                out = with_room(x.shape, room) if room else None
                filtered = self._filter.process(x, out)
            else:  # the notches change at exact samples: filter the pieces between
                room = 0
                pieces, pos = [], 0
                for offset, plan in changes:
                    pieces.append(self._filter.process(x[:, pos:offset]))
                    self._retune(plan)
                    notches.append((start + offset, plan))
                    pos = offset
                pieces.append(self._filter.process(x[:, pos:]))
                filtered = np.concatenate(pieces, axis=1)
        self._recent.add(x)
        self._filter_next = first + chunk.n
        return Filtered(
            raw=x,
            filtered=filtered,
            first_index=start,
            bridged=bridged,
            invalid=invalid,
            notches=notches,
            bridged_at=start,
            restarted=restarted,
            cleaned=self._ecg is None,
            room=room,
        )

    def _cleaned(self, stage: Filtered) -> Filtered:
        """`stage` with ECG removed: the samples the canceller hands on (and the raw input in
        step with them), after what it held before a long gap."""
        assert self._ecg is not None
        before_gap = None
        if stage.restarted:
            before_gap = self._flush_held()
            self._ecg.reset()
        filtered, start = self._ecg.process(stage.filtered, stage.first_index, stage.room)
        raw, invalid = self._delayed.process(
            stage.raw, stage.invalid, filtered.shape[1], stage.room
        )
        return dataclasses.replace(
            stage,
            raw=raw,
            filtered=filtered,
            first_index=start,
            invalid=invalid,
            before_gap=before_gap,
            cleaned=True,
        )

    def _flush_held(self) -> Filtered | None:
        """What the ECG canceller still holds, as a stage-1 result (None: nothing)."""
        assert self._ecg is not None
        if not self._ecg.holding:
            return None
        filtered, start = self._ecg.flush()
        raw, invalid = self._delayed.flush()
        return Filtered(
            raw=raw, filtered=filtered, first_index=start, invalid=invalid, cleaned=True
        )

    @property
    def finds_beats(self) -> bool:
        """ECG removal runs (raw EMG with `ecg.remove`), so `r_peaks` are found."""
        return self._ecg is not None

    @property
    def r_peaks(self) -> list[int]:
        """Sample indices of the heart's R peaks found in the EMG (ECG removal on)."""
        return [] if self._ecg is None else self._ecg.r_peaks

    @property
    def beats_matched(self) -> list[bool]:
        """For each of `r_peaks`: its beat looked like the QRS template (see signal.ecg)."""
        return [] if self._ecg is None else self._ecg.matched

    @property
    def notches_hz(self) -> tuple[float, ...]:
        """The mains lines (Hz) the filter notches now."""
        return () if self._mains is None else self._mains.plan.frequencies

    def _retune(self, plan: NotchPlan) -> None:
        """Notch `plan`'s lines from the next sample on; notches kept carry their state."""
        assert self._filter is not None
        now = self._notched
        wanted = plan.frequencies
        sos = design_sos(self.fs, self.config.filter, wanted)
        bandpass = sos.shape[0] - len(wanted)
        carried: list[int | None] = list(range(bandpass))
        carried += [bandpass + now.index(f) if f in now else None for f in wanted]
        self._filter.replace_sections(sos, carried)
        self._notched = wanted

    def _float64(self, samples: np.ndarray, room: int) -> tuple[np.ndarray, bool]:
        """The chunk as float64, and whether every sample is known to be possible (True: no
        need to check them again): with the compiled loops, a long float block is converted
        and checked in one pass, into an array with `room` free columns before it."""
        fast = compiled.kernels_for(samples.shape[1])
        if fast is None or samples.dtype not in (np.float32, np.float64):
            return np.asarray(samples, dtype=np.float64), False
        if samples.strides[1] != samples.itemsize:
            samples = np.ascontiguousarray(samples)  # rows must be contiguous
        x = with_room(samples.shape, room)
        low, high = self._valid_range
        return x, fast.checked_float64(samples, x, low, high)

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

    def score(self, chunk: Chunk | None, stage: Filtered) -> ProcessedChunk:
        """Stage 2 of `process`: ECG removal, envelope, quality, threshold and detection."""
        if not stage.cleaned:
            stage = self._cleaned(stage)
        events: list[Event] = []
        if stage.before_gap is not None:
            events += self.score(None, stage.before_gap).events
        first = stage.first_index
        if self._next_index is None:
            self._next_index = first
        elif first < self._next_index:
            raise ValueError(f"chunk at sample {first} overlaps samples already processed")
        elif first > self._next_index:
            events += self._break(self._next_index, first)
        if stage.bridged:
            at_s = stage.bridged_at / self.fs
            events.append(Gap(at_s=at_s, missing_s=stage.bridged / self.fs, bridged=True))
        for index, plan in stage.notches:
            assert plan.mains_hz is not None
            events.append(MainsChanged(index / self.fs, plan.mains_hz, plan.frequencies))
        filtered = stage.filtered
        envelope = self._envelope.process(filtered)
        events += self.quality.process(stage.raw, filtered, first, stage.invalid)
        scored = envelope if self._all_scored else envelope[self.scored]
        taking_part = self.quality.taking_part(first, filtered.shape[-1])
        level, above = self._detection_level(scored, first, taking_part)
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
        """End of stream: score what ECG removal still holds, judge the last quality block and
        close open bursts and episodes."""
        events: list[Event] = []
        if self._ecg is not None:
            held = self._flush_held()
            if held is not None:
                events += self.score(None, held).events
        return events + self._close()

    # ---------------------------------------------------------------------------- private
    def _close(self) -> list[Event]:
        events: list[Event] = list(self.quality.finish())
        events += self._mark_artifacts(self.detector.finish(self.next_index))
        return events

    def _break(self, end: int, resume: int) -> list[Event]:
        """Samples [end, resume) were lost: close what was open, restart the envelope."""
        events = self._close()
        events.append(Gap(at_s=end / self.fs, missing_s=(resume - end) / self.fs))
        self._envelope.reset()
        self._hysteresis.reset()
        return events

    def _detection_level(
        self, envelope: np.ndarray, first: int, taking_part: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Level and above-threshold per sample over the scored channels taking part
        (`taking_part` (scored, n) bool, None: all); a channel left out does not count."""
        release = self.config.threshold.release_fraction
        if self.calibration is not None:
            over, held, pct = self._work.arrays(envelope.shape)  # held: above the release
            segments = self._background.segments(envelope, first)
            if segments:
                if len(segments) == 1 and segments[0][2] is self._floor_seen:
                    thresholds = self._thresholds[None]  # a live chunk: the floor is the same
                else:
                    thresholds = self._guarded(np.array([floor for _, _, floor in segments]))
                    self._floor_seen = segments[-1][2]  # replaced, never changed, when updated
                stretches = _stretches_of_equal(segments, thresholds)
                fast = compiled.kernels_for(envelope.shape[1])
                if fast is not None and envelope.dtype == np.float32:  # one compiled pass
                    self._thresholds = thresholds[-1]
                    return self._calibrated_level(
                        fast, envelope, stretches, thresholds, taking_part
                    )
                for lo, hi, k in stretches:
                    np.greater_equal(envelope[:, lo:hi], thresholds[k, :, None], out=over[:, lo:hi])
                    np.greater_equal(
                        envelope[:, lo:hi], release * thresholds[k, :, None], out=held[:, lo:hi]
                    )
                self._thresholds = thresholds[-1]
            self.calibration.pct_mvc(envelope, out=pct)
            if taking_part is not None:
                over &= taking_part
                held &= taking_part
                pct[~taking_part] = -np.inf
            above = self._hysteresis.process(over.any(axis=0), held.any(axis=0))
            return pct.max(axis=0), above
        assert self._background is not None
        factor = self.config.threshold.adaptive_factor
        segments = self._background.segments(envelope, first)
        inverses = []
        for _, _, background in segments:
            # 1 / background; 0 while warming up (NaN) or for a dead, all-zero channel
            with np.errstate(divide="ignore", invalid="ignore"):
                inverses.append(np.where(background > 0, 1.0 / background, 0.0))
        fast = compiled.kernels_for(envelope.shape[1])
        if fast is not None and segments and envelope.dtype == np.float32:
            level = np.empty(envelope.shape[1], dtype=np.float32)
            everyone = taking_part is None
            fast.adaptive_level(
                np.ascontiguousarray(envelope),
                np.array([lo for lo, _, _ in segments], dtype=np.int64),
                np.array([hi for _, hi, _ in segments], dtype=np.int64),
                np.array(inverses, dtype=np.float32),
                np.ones((1, 1), dtype=bool) if everyone else np.ascontiguousarray(taking_part),
                everyone,
                level,
            )
        else:
            ratio = np.empty(envelope.shape, dtype=envelope.dtype)
            for (lo, hi, _), inverse in zip(segments, inverses, strict=True):
                inverse = inverse.astype(ratio.dtype)
                np.multiply(envelope[:, lo:hi], inverse[:, None], out=ratio[:, lo:hi])
            if taking_part is not None:
                ratio[~taking_part] = 0
            level = ratio.max(axis=0)
        self._thresholds = factor * self._background.background
        return level, self._hysteresis.process(level >= factor, level >= release * factor)

    def _calibrated_level(
        self,
        fast,
        envelope: np.ndarray,
        stretches: list[tuple[int, int, int]],
        thresholds: np.ndarray,
        taking_part: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The calibrated branch of `_detection_level` through `compiled.calibrated_level`."""
        assert self.calibration is not None
        n = envelope.shape[1]
        starts = np.array([lo for lo, _, _ in stretches], dtype=np.int64)
        ends = np.array([hi for _, hi, _ in stretches], dtype=np.int64)
        chosen = np.ascontiguousarray(thresholds[[k for _, _, k in stretches]], dtype=np.float64)
        releases = self.config.threshold.release_fraction * chosen
        rest, scale = self.calibration.pct_terms()
        on, stay = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
        level = np.empty(n)
        everyone = taking_part is None
        part = np.ones((1, 1), dtype=bool) if everyone else taking_part
        fast.calibrated_level(
            np.ascontiguousarray(envelope),
            starts,
            ends,
            chosen,
            releases,
            rest,
            scale,
            np.ascontiguousarray(part),
            everyone,
            on,
            stay,
            level,
        )
        return level, self._hysteresis.process(on, stay)

    def _guarded(self, floors: np.ndarray) -> np.ndarray:
        """The calibrated thresholds under running floors (segments, channels) (NaN: warming
        up), raised where a floor has risen so far that they would no longer be
        `min_rest_multiple` x above it; the floor's lowest and highest ratio to the
        calibrated rest are kept for the night's summary."""
        ratio = floors / np.maximum(self._rest, 1e-12)  # fmin and fmax pass over NaN
        low, high = self.floor_vs_rest
        self.floor_vs_rest = np.stack(
            (np.fmin(low, np.fmin.reduce(ratio)), np.fmax(high, np.fmax.reduce(ratio)))
        )
        return np.fmax(self._fixed_thresholds, self.config.threshold.min_rest_multiple * floors)

    def _mark_artifacts(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, EpisodeEnd):
                ep = event.episode
                artifact = self.quality.overlaps_bad(ep.start_index, ep.end_index)
                event = EpisodeEnd(dataclasses.replace(ep, artifact=artifact))
            out.append(event)
        return out


def scored_channels(channels: tuple[str, ...], config: SignalConfig) -> tuple[int, ...]:
    """The channels (0-based) scored as EMG: `masseter_channels`, by default every channel
    but one wired as ECG (named `ECG_CHANNEL`)."""
    if config.masseter_channels:
        return tuple(config.masseter_channels)
    return tuple(c for c, name in enumerate(channels) if name != ECG_CHANNEL)


def processing_delay(fs: float, kind: str, config: SignalConfig) -> int:
    """Samples the signal chain hands on late: the detector, and so every feedback decision,
    sees sample i only once sample i + delay has arrived (ECG removal holds them back)."""
    if kind != "raw" or not config.ecg.remove:
        return 0
    return EcgCanceller(fs, 1, config.ecg).delay


def _mains_checked(mains_hz) -> tuple[float, ...]:
    """The mains lines whose residue after the notches the quality gate judges: both 50 and
    60 Hz (hum at the one not notched is residue too), none with the notch turned off."""
    return () if mains_hz is None else CANDIDATES_HZ


def _stretches_of_equal(
    segments: list[tuple[int, int, np.ndarray]], values: np.ndarray
) -> list[tuple[int, int, int]]:
    """The segments [lo, hi) joined where the rows of `values` (one per segment) stay the
    same: (lo, hi, index of a row that holds throughout)."""
    if len(segments) == 1:
        return [(segments[0][0], segments[0][1], 0)]
    changes = np.flatnonzero((values[1:] != values[:-1]).any(axis=1)) + 1
    starts = [0, *changes.tolist()]
    ends = [*changes.tolist(), len(segments)]
    return [(segments[a][0], segments[b - 1][1], a) for a, b in zip(starts, ends, strict=True)]


class _DetectionWork:
    """The detection level's work arrays, kept from chunk to chunk (grown to the longest):
    above the threshold, above the release threshold (bool) and % MVC (float64), each
    (scored channels, n). Nothing of them leaves `_detection_level`."""

    def __init__(self) -> None:
        self._over = self._held = np.empty((0, 0), dtype=bool)
        self._pct = np.empty((0, 0))

    def arrays(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows, n = shape
        if self._pct.shape[0] != rows or self._pct.shape[1] < n:
            self._over = np.empty(shape, dtype=bool)
            self._held = np.empty(shape, dtype=bool)
            self._pct = np.empty(shape)
        return self._over[:, :n], self._held[:, :n], self._pct[:, :n]


class _DelayLine:
    """The raw input (and where it was impossible), kept in step with the samples the ECG
    canceller holds back: it hands on as many as the canceller does, oldest first."""

    def __init__(self) -> None:
        self._raw: np.ndarray | None = None
        self._invalid: np.ndarray | None = None

    def process(
        self, raw: np.ndarray, invalid: np.ndarray | None, ready: int, room: int = 0
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The `ready` oldest samples of what is held and `raw` (channels, n); what is held
        goes into the `room` free columns before `raw` when it fills them exactly (as from
        the second chunk on), so the array `raw` was cut from is used whole."""
        if self._raw is not None and self._raw.shape[1]:
            held = self._raw.shape[1]
            if invalid is not None or self._invalid is not None:
                invalid = np.concatenate(
                    (_mask(self._invalid, self._raw), _mask(invalid, raw)), axis=1
                )
            if held == room:
                raw = widened(raw, held)
                raw[:, :held] = self._raw
            else:
                raw = np.concatenate((self._raw, raw), axis=1)
        self._raw, out = raw[:, ready:], raw[:, :ready]
        if invalid is None:
            self._invalid = None
            return out, None
        self._invalid = invalid[:, ready:]
        return out, invalid[:, :ready] if invalid[:, :ready].any() else None

    def flush(self) -> tuple[np.ndarray, np.ndarray | None]:
        raw, invalid = self._raw, self._invalid
        self._raw = self._invalid = None
        assert raw is not None
        return raw, invalid if invalid is not None and invalid.any() else None


def _mask(invalid: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    return np.zeros(like.shape, dtype=bool) if invalid is None else invalid
