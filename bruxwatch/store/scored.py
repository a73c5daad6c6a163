"""A stored night scored for the report: the same `analyze_chunks` as `bruxwatch analyze`, on
the raw samples the recorder kept, with the calibration and mains setting it stored, plus what
happened after each feedback decision. Every figure in the reports and exports comes from here;
no second implementation of the arithmetic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bruxwatch.config import with_mains
from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal.analysis import Analysis, analyze_chunks
from bruxwatch.signal.calibration import Calibration
from bruxwatch.signal.config import FilterConfig, SignalConfig
from bruxwatch.signal.confirmation import Confirmation, EpisodeContext, confirm
from bruxwatch.signal.events import Episode
from bruxwatch.signal.heart_rate import HeartRate
from bruxwatch.signal.movement import EpochAccumulator, Epochs
from bruxwatch.signal.outcomes import (
    FeedbackOutcome,
    OutcomeSummary,
    feedback_outcomes,
    summarize_outcomes,
)
from bruxwatch.signal.pipeline import processing_delay, scored_channels
from bruxwatch.signal.pulse import PulseDetector
from bruxwatch.store.local_time import night_label
from bruxwatch.store.night_schema import SessionInfo
from bruxwatch.store.recording import Recording
from bruxwatch.stream import ACCEL, ECG_CHANNEL, PPG, gapless_chunks

READ_AHEAD = 4
"""Stored blocks decoded ahead, in a thread of their own, while a night is scored."""


@dataclass
class ScoredNight:
    """One night, scored. Times in `analysis` are seconds from the recording's sample 0, which
    was taken at `started_at` (UTC); gap_s: seconds lost to disconnects."""

    path: Path
    session: SessionInfo
    started_at: dt.datetime
    analysis: Analysis
    feedback: list[FeedbackRecord]
    outcomes: list[FeedbackOutcome]
    outcome_summary: OutcomeSummary
    gap_s: float
    mains_hz: float | None
    config: SignalConfig = dataclasses.field(default_factory=SignalConfig)
    """The signal settings the night was scored with (its own, as recorded)."""
    confirmation: Confirmation | None = None
    """What the heart rate and the accelerometer say of each counted episode."""

    @property
    def withhold(self) -> float:
        """The micro-randomization's withheld fraction this night was recorded with (0: none)."""
        return float(self.session.config.get("withhold", 0.0) or 0.0)

    def randomized_outcomes(self) -> list[FeedbackOutcome]:
        """Outcomes of the randomized decisions: each clench's first decision, on a night
        recorded with 0 < withhold < 1 (given or withheld by chance, nothing else)."""
        if not 0.0 < self.withhold < 1.0 or self.mode != "feedback":
            return []
        return [
            o
            for o, f in zip(self.outcomes, self.feedback, strict=True)
            if f.first_pulse and (f.fired or f.withheld)
        ]

    @property
    def mode(self) -> str:
        """ "feedback" or "baseline" (feedback logged but never given)."""
        return self.session.mode

    @property
    def label(self) -> str:
        """The evening the night began on and its local start time (or its file's name, for
        a night named by another tool): `local_time.night_label`."""
        return night_label(self.started_at, self.path.stem)

    def contexts(self) -> dict[int, EpisodeContext]:
        """Each counted episode's confirmation, by its first sample index."""
        if self.confirmation is None:
            return {}
        c = self.confirmation
        return {e.start_index: ctx for e, ctx in zip(c.episodes, c.contexts, strict=True)}

    def clock(self, seconds: float) -> dt.datetime:
        return self.started_at + dt.timedelta(seconds=seconds)

    def feedback_in(self, episode: Episode) -> tuple[int, int, int]:
        """(given, withheld by the randomization, held back otherwise) feedback decisions
        triggered during `episode`."""
        inside = [
            f for f in self.feedback if episode.start_index <= f.trigger_index <= episode.end_index
        ]
        given = sum(f.fired for f in inside)
        withheld = sum(f.withheld for f in inside)
        return given, withheld, len(inside) - given - withheld


def stored_signal_config(session: SessionInfo) -> SignalConfig:
    """The signal settings a night was recorded with (older nights stored only the mains)."""
    if "signal" in session.config:
        from bruxwatch.config import signal_config_from_dict

        return signal_config_from_dict(session.config["signal"])
    return SignalConfig(filter=FilterConfig(mains_hz=session.config.get("mains_hz", 50.0)))


@dataclass(frozen=True)
class Scoring:
    """How a night is scored: the settings, the calibration (None: against an adaptive
    background) and the stretches (s) kept out of its counts (the guided calibration's)."""

    config: SignalConfig
    calibration: Calibration | None
    exclude_s: list[tuple[float, float]]


def stored_scoring(
    recording: Recording,
    channels: tuple[int, ...] | None = None,
    mains: float | str | None = None,
) -> Scoring:
    """The scoring `recording` was recorded with; channels: score these (0-based) instead;
    mains: `--mains` instead of the stored setting (see config.with_mains)."""
    session = recording.session
    config, calibration = picked_channels(
        with_mains(stored_signal_config(session), mains),
        session.calibration,
        recording.info.channels,
        channels,
    )
    stretch = session.config.get("calibration_s")
    return Scoring(config, calibration, [tuple(stretch)] if stretch else [])


def score_night(
    recording: Recording,
    progress: Callable[[int, int], None] | None = None,
    channels: tuple[int, ...] | None = None,
    scoring: Scoring | None = None,
) -> ScoredNight:
    """Re-score `recording` from its raw samples as `bruxwatch analyze NIGHT.sqlite` does:
    with `scoring`, by default the stored one (on `channels`, 0-based, when given)."""
    session = recording.session
    scoring = scoring or stored_scoring(recording, channels)
    config = scoring.config
    analysis = analyze_chunks(
        recording.chunks(read_ahead=READ_AHEAD),
        recording.info,
        calibration=scoring.calibration,
        config=config,
        progress=progress,
        total=recording.end_index,
        exclude_s=scoring.exclude_s,
    )
    feedback = recording.feedback()
    # a decision (buzz, or none) was taken when the detector had seen the trigger sample,
    # `delay` samples after it arrived: what the wearer could answer starts there
    delay = processing_delay(recording.info.fs, recording.info.kind, config)
    outcomes = feedback_outcomes(
        [(f.trigger_index + delay, f.fired, f.withheld) for f in feedback],
        analysis.bursts,
        analysis.episodes,
        recording.info.fs,
    )
    started = dt.datetime.fromisoformat(session.started_at)
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return ScoredNight(
        path=recording.path,
        session=session,
        started_at=started,
        analysis=analysis,
        feedback=feedback,
        outcomes=outcomes,
        outcome_summary=summarize_outcomes(outcomes),
        gap_s=sum(n for _at, n in recording.gaps()) / recording.info.fs,
        mains_hz=config.filter.mains_hz,
        config=config,
        confirmation=confirm(
            analysis.episodes,
            analysis.summary,
            config,
            night_heart(recording, config, analysis.heart),
            accelerometer_epochs(recording, config),
            recording.sound_clips(),
        ),
    )


def night_heart(
    recording: Recording, config: SignalConfig, from_scoring: HeartRate | None
) -> HeartRate | None:
    """The night's heart rate from the best source it has: a channel wired as ECG (what
    the scoring found there, `from_scoring`), else a pulse sensor (`PPG`, which a clench
    does not hide), else the ECG in the masseter leads (`from_scoring` again)."""
    if ECG_CHANNEL in recording.info.channels:
        return from_scoring
    info = recording.aux_streams().get(PPG)
    if info is None:
        return from_scoring
    detector = PulseDetector(info.fs, config.heart)
    for chunk in gapless_chunks(*recording.aux_samples(PPG), PPG):
        detector.add(chunk.first_index, chunk.samples[0])
    return detector.heart()


def accelerometer_epochs(recording: Recording, config: SignalConfig) -> Epochs | None:
    """The night's accelerometer (the `ACCEL` stream) as movement epochs; None without one."""
    info = recording.aux_streams().get(ACCEL)
    if info is None or info.n_channels != 3:
        return None
    accumulator = EpochAccumulator(info.fs, config.movement)
    for chunk in gapless_chunks(*recording.aux_samples(ACCEL), ACCEL):
        accumulator.add(chunk.first_index, chunk.samples)
    return accumulator.finish()


def picked_channels(
    config: SignalConfig,
    calibration: Calibration | None,
    names: tuple[str, ...],
    channels: tuple[int, ...] | None,
) -> tuple[SignalConfig, Calibration | None]:
    """`config` scoring `channels` (0-based; None: as it was), and the calibration of just
    those. Raises StoreError, naming the channels 1-based, when one is not in the recording
    or was not calibrated."""
    if channels is None:
        return config, calibration
    n_channels = len(names)
    missing = [c + 1 for c in channels if not 0 <= c < n_channels]
    if missing:
        raise StoreError(
            f"channel {', '.join(map(str, missing))} is not in the recording "
            f"(it has {n_channels}: 1-{n_channels})"
        )
    if calibration is not None:
        before = list(scored_channels(names, config))
        uncalibrated = [c + 1 for c in channels if c not in before]
        if uncalibrated:
            raise StoreError(
                f"channel {', '.join(map(str, uncalibrated))} was not calibrated "
                f"(calibrated: {', '.join(str(c + 1) for c in before)})"
            )
        calibration = calibration.picked(tuple(before.index(c) for c in channels))
    return dataclasses.replace(config, masseter_channels=tuple(channels)), calibration
