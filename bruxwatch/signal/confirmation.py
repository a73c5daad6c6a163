"""What the heart and the body say about each scored episode, and the night's rates with it.

An episode keeps its EMG scoring and gains (see `EpisodeContext`):
- HR-confirmed or not (`signal.heart_rate`: the heart rate rose by `heart.rise` around its
  onset), or unknown without enough beats;
- during body movement or not (`signal.movement`: a moving epoch within
  `movement.episode_margin_s` of it): jaw EMG then may be the movement's, not clenching;
- the body position at its onset, and whether the actigraphy estimate had the wearer asleep;
- a grinding sound or not (`signal.sound`), where a sound clip was kept around it.

The night (`ConfirmationSummary`) gets, beside the EMG's rates: HR-confirmed episodes per
hour, movement-flagged episodes, *confirmed* episodes (HR-confirmed, or of unknown heart
rate, and not during movement) per hour, mean and resting heart rate, hours and episode
rates per position, hours of estimated sleep with the episodes per hour of it, and the
episodes with a grinding sound (the research criteria ask for at least two a night). A
grinding sound is evidence for an episode, but its absence is none against it (clenching
is silent): it does not enter *confirmed*. Rates are per good-signal hour as in
`signal.scoring`, per position per hour in it, and per hour of estimated sleep for the sleep
rate; a rate over less than `MIN_RATE_HOURS`, or of a night without enough good signal, is
None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.events import Episode
from bruxwatch.signal.heart_rate import EpisodeHeart, HeartRate, episode_heart
from bruxwatch.signal.movement import POSITIONS, Epochs, activity_counts, sleep_minutes
from bruxwatch.signal.scoring import Summary
from bruxwatch.signal.sound import Clip, GrindingScore, episode_grinding

MIN_RATE_HOURS = 0.25
"""Hours a rate needs under it (a position held for minutes has no rate)."""


@dataclass(frozen=True)
class EpisodeContext:
    """One episode's confirmation. heart: None without heart rate; moving, position,
    asleep: None without an accelerometer there; sound: None without a clip around it."""

    heart: EpisodeHeart | None
    moving: bool | None
    position: str | None
    asleep: bool | None
    sound: GrindingScore | None = None

    @property
    def grinding(self) -> bool | None:
        return None if self.sound is None else self.sound.grinding

    @property
    def hr_confirmed(self) -> bool | None:
        return None if self.heart is None else self.heart.confirmed

    @property
    def confirmed(self) -> bool:
        """Counted as confirmed: not during movement, and HR-confirmed unless the heart
        rate there is unknown."""
        return self.moving is not True and self.hr_confirmed is not False

    def to_dict(self) -> dict:
        heart = self.heart
        return {
            "hr_confirmed": self.hr_confirmed,
            "hr_before_bpm": _rounded(heart.baseline_bpm if heart else None),
            "hr_peak_bpm": _rounded(heart.peak_bpm if heart else None),
            "during_movement": self.moving,
            "position": self.position,
            "asleep": self.asleep,
            "grinding_sound": self.grinding,
            "grinding_s": None if self.sound is None else self.sound.seconds,
            "confirmed": self.confirmed,
        }


@dataclass(frozen=True)
class ConfirmationSummary:
    """The night's confirmation figures (see the module's docstring).

    episodes: the counted episodes (artifacts left out); hr_known: those with enough beats
    to tell; beats / beats_rejected: R peaks found and RR intervals set aside as artifacts;
    sound_clips: episodes with a clip around them; grinding_sounds: those with grinding.
    """

    episodes: int
    has_heart_rate: bool
    has_accelerometer: bool
    hr_known: int = 0
    hr_confirmed: int = 0
    hr_confirmed_per_hour: float | None = None
    movement_flagged: int = 0
    confirmed: int = 0
    confirmed_per_hour: float | None = None
    mean_hr_bpm: float | None = None
    resting_hr_bpm: float | None = None
    beats: int = 0
    beats_rejected: int = 0
    hours_by_position: dict[str, float] = field(default_factory=dict)
    episodes_by_position: dict[str, int] = field(default_factory=dict)
    per_hour_by_position: dict[str, float | None] = field(default_factory=dict)
    sleep_hours: float | None = None
    episodes_asleep: int = 0
    episodes_per_sleep_hour: float | None = None
    has_sound: bool = False
    sound_clips: int = 0
    grinding_sounds: int = 0

    @property
    def has_data(self) -> bool:
        """The night had a heart rate, an accelerometer or sound to confirm with."""
        return self.has_heart_rate or self.has_accelerometer or self.has_sound

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Confirmation:
    """Per counted episode its context (same order as `episodes`), and the summary."""

    episodes: list[Episode]
    contexts: list[EpisodeContext]
    summary: ConfirmationSummary
    sleep: np.ndarray | None = None
    """Per minute from the recording's start: 1 asleep, 0 awake, -1 unknown (None: no
    accelerometer)."""


def confirm(
    episodes: list[Episode],
    night: Summary,
    config: SignalConfig,
    heart: HeartRate | None = None,
    epochs: Epochs | None = None,
    clips: list[Clip] | None = None,
) -> Confirmation:
    """The confirmation of the counted `episodes` (not artifacts) of a night summarized
    by `night`, from its heart rate, accelerometer epochs and sound clips (each may be
    None: the night had none). Without enough good signal (`Summary.enough_signal`) there
    are no rates."""
    counted = [e for e in episodes if not e.artifact]
    sleep = None
    if epochs is not None:
        sleep = sleep_minutes(activity_counts(epochs, config.movement))
    contexts = [_context(e, config, heart, epochs, sleep, clips) for e in counted]
    hours = night.good_hours if night.enough_signal else 0.0
    summary = _summary(counted, contexts, hours, heart, epochs, sleep, night.enough_signal)
    if clips is not None:
        summary = replace(
            summary,
            has_sound=True,
            sound_clips=sum(c.sound is not None for c in contexts),
            grinding_sounds=sum(c.grinding is True for c in contexts),
        )
    return Confirmation(counted, contexts, summary, sleep)


def _context(
    episode: Episode,
    config: SignalConfig,
    heart: HeartRate | None,
    epochs: Epochs | None,
    sleep: np.ndarray | None,
    clips: list[Clip] | None,
) -> EpisodeContext:
    moving = position = asleep = None
    if epochs is not None and sleep is not None:
        moving = epochs.moving_near(episode.start_s, episode.end_s, config.movement)
        position = epochs.position_at(episode.start_s)
        minute = int(episode.start_s // 60.0)
        if 0 <= minute < sleep.size and sleep[minute] >= 0:
            asleep = bool(sleep[minute])
    beats = None if heart is None else episode_heart(heart, episode.start_s, config.heart)
    sound = None
    if clips:
        sound = episode_grinding(clips, episode.start_s, episode.end_s, config.sound)
    return EpisodeContext(beats, moving, position, asleep, sound)


def _summary(
    episodes: list[Episode],
    contexts: list[EpisodeContext],
    good_hours: float,
    heart: HeartRate | None,
    epochs: Epochs | None,
    sleep: np.ndarray | None,
    rates: bool,
) -> ConfirmationSummary:
    """The figures; `good_hours` 0 (no rates) for a night without enough good signal."""
    hr_confirmed = sum(c.hr_confirmed is True for c in contexts)
    confirmed = sum(c.confirmed for c in contexts)
    figures: dict = {}
    if heart is not None:
        figures.update(
            hr_known=sum(c.hr_confirmed is not None for c in contexts),
            hr_confirmed=hr_confirmed,
            hr_confirmed_per_hour=_rate(hr_confirmed, good_hours),
            mean_hr_bpm=_rounded(heart.mean_bpm()),
            resting_hr_bpm=_rounded(heart.resting_bpm()),
            beats=heart.beats,
            beats_rejected=heart.rejected,
        )
    if epochs is not None and sleep is not None:
        hours = epochs.hours_by_position()
        by_position = {p: sum(c.position == p for c in contexts) for p in POSITIONS}
        sleep_hours = float(np.sum(sleep == 1)) / 60.0
        asleep = sum(c.asleep is True for c in contexts)
        figures.update(
            movement_flagged=sum(c.moving is True for c in contexts),
            hours_by_position={p: round(h, 3) for p, h in hours.items()},
            episodes_by_position=by_position,
            per_hour_by_position={
                p: _rate(by_position[p], hours[p] if rates else 0.0) for p in POSITIONS
            },
            sleep_hours=round(sleep_hours, 3),
            episodes_asleep=asleep,
            episodes_per_sleep_hour=_rate(asleep, sleep_hours if rates else 0.0),
        )
    return ConfirmationSummary(
        episodes=len(episodes),
        has_heart_rate=heart is not None and heart.rr_s.size > 0,
        has_accelerometer=epochs is not None,
        confirmed=confirmed,
        confirmed_per_hour=_rate(confirmed, good_hours),
        **figures,
    )


def _rate(count: int, hours: float) -> float | None:
    return None if hours < MIN_RATE_HOURS else round(count / hours, 3)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
