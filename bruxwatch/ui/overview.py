"""What the night review draws, computed without Qt: a min/max-decimated level trace of the
whole night, its episodes, feedback, gaps and bad-quality stretches, and detail windows.

A night at 1 kHz has 28.8 M samples per channel; the overview keeps a few thousand (min, max)
pairs, so the review opens fast and zooms without stalls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal import Pipeline
from bruxwatch.signal.events import BurstEnd, QualityChanged
from bruxwatch.signal.heart_rate import HeartRate, heart_rate
from bruxwatch.signal.pipeline import processing_delay
from bruxwatch.store.local_time import local, stamp
from bruxwatch.store.recording import Recording
from bruxwatch.store.scored import night_heart, stored_signal_config
from bruxwatch.stream import Chunk

OVERVIEW_BINS = 4000


class MinMaxDecimator:
    """Streaming (min, max) of a 1-D signal over fixed bins of `bin_samples` global samples."""

    def __init__(self, bin_samples: int) -> None:
        self.bin = max(1, int(bin_samples))
        self.starts: list[int] = []
        self.lows: list[float] = []
        self.highs: list[float] = []

    def add(self, first_index: int, values: np.ndarray) -> None:
        if values.size == 0:
            return
        b = self.bin
        bins = (first_index + np.arange(values.size)) // b
        cuts = np.flatnonzero(np.diff(bins)) + 1
        edges = np.r_[0, cuts]
        lows = np.minimum.reduceat(values, edges)
        highs = np.maximum.reduceat(values, edges)
        for k, (lo, hi) in enumerate(zip(lows.tolist(), highs.tolist(), strict=True)):
            start = int(bins[edges[k]]) * b
            if self.starts and self.starts[-1] == start:  # a bin split over two chunks
                self.lows[-1] = min(self.lows[-1], lo)
                self.highs[-1] = max(self.highs[-1], hi)
            else:
                self.starts.append(start)
                self.lows.append(lo)
                self.highs.append(hi)


@dataclass
class NightOverview:
    """Everything the review window shows of one night (times in seconds)."""

    title: str
    fs: float
    duration_s: float
    level_units: str
    bin_starts_s: np.ndarray
    level_low: np.ndarray
    level_high: np.ndarray
    threshold: float | None
    episodes: list[dict]
    feedback: list[FeedbackRecord]
    gaps_s: list[tuple[float, float]]
    bad_s: list[tuple[float, float]]
    hourly: dict[str, np.ndarray] = field(default_factory=dict)
    calibration_s: tuple[float, float] | None = None
    heart: HeartRate | None = None
    """The accepted beat-to-beat heart rate (None: ECG removal off, or no beats)."""
    started_at: str = ""
    """The wall-clock time of sample 0 (ISO; the clock axes and the table read it)."""
    bad_by_channel: dict[str, list[tuple[float, float, tuple[str, ...]]]] = field(
        default_factory=dict
    )
    """Each scored channel's flagged stretches: (start s, end s, the flags at its start)."""
    bursts: int = 0
    """Bursts the scoring found (an episode needs a tonic one, or several phasic ones)."""


def kept_overview(recording: Recording) -> NightOverview:
    """`night_overview`, or the one kept when the night was recorded or last reviewed
    (store.score_cache: the same key as its score, signed; a night being recorded is
    computed each time)."""
    from bruxwatch.store.score_cache import load_kept, night_key, save
    from bruxwatch.store.scored import stored_scoring

    if recording.session.status == "recording":
        return night_overview(recording)
    key = night_key(recording, stored_scoring(recording), None) + "-overview"
    kept = load_kept(key)
    if isinstance(kept, NightOverview):
        return kept
    overview = night_overview(recording)
    save(key, overview)
    return overview


def night_overview(recording: Recording, bins: int = OVERVIEW_BINS) -> NightOverview:
    """Score the recording's raw samples once and decimate the detection level for display."""
    info, fs = recording.info, recording.info.fs
    end = max(1, recording.end_index)
    decimator = MinMaxDecimator(int(np.ceil(end / bins)))
    pipeline = Pipeline(
        info, stored_signal_config(recording.session), recording.session.calibration
    )
    quality_starts: dict[int, tuple[float, tuple[str, ...]]] = {}
    bad: list[tuple[float, float]] = []
    by_channel: dict[int, list[tuple[float, float, tuple[str, ...]]]] = {}
    bursts = 0

    def note(events) -> None:
        nonlocal bursts
        for event in events:
            if isinstance(event, BurstEnd):
                bursts += 1
            elif isinstance(event, QualityChanged):
                if event.flags:
                    quality_starts.setdefault(event.channel, (event.at_s, event.flags))
                elif event.channel in quality_starts:
                    since, flags = quality_starts.pop(event.channel)
                    bad.append((since, event.at_s))
                    by_channel.setdefault(event.channel, []).append((since, event.at_s, flags))

    for chunk in recording.chunks():
        out = pipeline.process(chunk)
        decimator.add(out.first_index, out.level.astype(np.float32))
        note(out.events)
    note(pipeline.finish())
    for channel, (since, flags) in quality_starts.items():
        bad.append((since, end / fs))
        by_channel.setdefault(channel, []).append((since, end / fs, flags))
    episodes = [e for e in recording.episodes() if not e["artifact"]]
    hours = max(1, int(np.ceil(end / fs / 3600)))
    hourly = {kind: np.zeros(hours, dtype=int) for kind in ("phasic", "tonic", "mixed")}
    for e in episodes:
        hourly[e["kind"]][min(hours - 1, int(e["start_index"] / fs // 3600))] += 1
    gaps = [((at - n) / fs, at / fs) for at, n in recording.gaps()]
    threshold, _units = level_threshold(recording)
    session = recording.session
    return NightOverview(
        title=f"{recording.path.name} — {stamp(session.started_at)}, "
        f"{session.mode}, {session.status}",
        fs=fs,
        duration_s=end / fs,
        level_units=pipeline.level_units,
        bin_starts_s=np.asarray(decimator.starts) / fs,
        level_low=np.asarray(decimator.lows),
        level_high=np.asarray(decimator.highs),
        threshold=threshold,
        episodes=episodes,
        feedback=recording.feedback(),
        gaps_s=gaps,
        bad_s=bad,
        heart=night_heart(recording, pipeline.config, _heart(pipeline)),
        hourly=hourly,
        calibration_s=tuple(session.config["calibration_s"])
        if "calibration_s" in session.config
        else None,
        started_at=session.started_at,
        bad_by_channel={info.channels[c]: v for c, v in sorted(by_channel.items())},
        bursts=bursts,
    )


def no_episodes_reason(night: NightOverview) -> str:
    """Why a night shows no episodes, in a sentence (the review's empty state)."""
    if night.duration_s < 60:
        return f"No episodes: the recording is only {night.duration_s:.0f} s long."
    calibration = night.calibration_s[1] - night.calibration_s[0] if night.calibration_s else 0
    scored_s = max(1e-9, night.duration_s - calibration)
    bad_s = _covered(night.bad_s + night.gaps_s)
    if bad_s >= 0.9 * scored_s:
        parts = []
        for name, stretches in night.bad_by_channel.items():
            since, _end, flags = stretches[0]
            what = "off (flat)" if "flat" in flags else " and ".join(flags)
            parts.append(f"{name} {what} from {_clock(night.started_at, since)}")
        lost = (
            f"; the sensor's link lost for {_covered(night.gaps_s) / 60:.0f} min"
            if night.gaps_s
            else ""
        )
        return "No episodes: all signal bad: " + ("; ".join(parts) or "every channel") + lost + "."
    top = float(np.nanmax(night.level_high)) if night.level_high.size else 0.0
    if night.threshold is not None and top < night.threshold:
        return (
            f"No episodes: the level never reached the threshold (highest {top:.1f}, "
            f"threshold {night.threshold:.1f} {night.level_units}): no clenching was scored."
        )
    return (
        f"No episodes: {night.bursts} burst(s) above the threshold, but none made an "
        "episode (a tonic burst, or phasic bursts in a series)."
    )


def _covered(stretches: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of (start, end) stretches."""
    total, reach = 0.0, -np.inf
    for a, b in sorted(stretches):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def _clock(started_at: str, seconds: float) -> str:
    return f"{local(started_at) + dt.timedelta(seconds=seconds):%H:%M}"


def detail_window(
    recording: Recording, start_s: float, end_s: float, settle_s: float = 10.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times s, filtered EMG (channels, n), envelope (channels, n)) for [start_s, end_s),
    filtered from `settle_s` earlier so the filters have settled."""
    times, outs, keeps = _window(recording, start_s, end_s, settle_s)
    if not times:
        n = recording.info.n_channels
        return np.zeros(0), np.zeros((n, 0)), np.zeros((n, 0))
    filtered = [out.filtered[:, keep] for out, keep in zip(outs, keeps, strict=True)]
    envelope = [out.envelope[:, keep] for out, keep in zip(outs, keeps, strict=True)]
    return np.concatenate(times), np.concatenate(filtered, axis=1), np.concatenate(envelope, axis=1)


def level_window(
    recording: Recording, start_s: float, end_s: float, settle_s: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """(times s, detection level) for [start_s, end_s): % MVC when the night is calibrated,
    x background otherwise (as the scoring saw it, `settle_s` of filtering earlier)."""
    times, outs, keeps = _window(recording, start_s, end_s, settle_s)
    if not times:
        return np.zeros(0), np.zeros(0)
    level = [out.level[keep] for out, keep in zip(outs, keeps, strict=True)]
    return np.concatenate(times), np.concatenate(level)


def _window(recording: Recording, start_s: float, end_s: float, settle_s: float):
    """The stored night's pipeline run over [start_s - settle_s, end_s): the times kept,
    each chunk's output and the mask of its samples inside [start_s, end_s)."""
    fs = recording.info.fs
    lo = max(0, int((start_s - settle_s) * fs))
    hi = int(end_s * fs)
    pipeline = Pipeline(
        recording.info, stored_signal_config(recording.session), recording.session.calibration
    )
    times, outs, keeps = [], [], []
    # the chain hands samples on late (ECG removal): read that much past the end
    delay = processing_delay(fs, recording.info.kind, pipeline.config)
    for first, samples in recording.read(lo, hi + delay):
        out = pipeline.process(Chunk(first, samples))
        index = np.arange(out.first_index, out.first_index + out.envelope.shape[1])
        keep = (index >= int(start_s * fs)) & (index < hi)
        times.append(index[keep] / fs)
        outs.append(out)
        keeps.append(keep)
    return times, outs, keeps


def level_threshold(recording: Recording) -> tuple[float, str]:
    """(the threshold, its units) on the detection level of a stored night: the highest
    scored channel's threshold in % MVC, or the adaptive factor x background."""
    calibration = recording.session.calibration
    config = stored_signal_config(recording.session)
    if calibration is not None:
        return float(np.max(calibration.threshold_pct_mvc(config.threshold))), "% MVC"
    return config.threshold.adaptive_factor, "x background"


def _heart(pipeline: Pipeline) -> HeartRate | None:
    """The heart rate from the R peaks the scoring found, or None without any."""
    if not pipeline.r_peaks:
        return None
    found = heart_rate(pipeline.r_peaks, pipeline.beats_matched, pipeline.fs, pipeline.config.heart)
    return found if found.rr_s.size else None
