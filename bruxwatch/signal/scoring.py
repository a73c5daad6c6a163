"""A night's summary from its episodes and bursts: the indices sleep-bruxism research reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from bruxwatch.signal.events import Burst, Episode

KINDS = ("phasic", "tonic", "mixed")
RATE_FIELDS = (
    "episodes_per_hour",
    "per_hour_by_kind",
    "bursts_per_hour",
    "clench_pct",
    "work_per_hour",
)
"""The Summary fields that are rates over the good hours."""

FLOOR_DOUBT_RATIO = 2.0
"""A calibration is doubtful when a channel's rest floor during the night rose above this
multiple of its calibrated rest, or fell below its inverse."""

BAD_CHANNEL_SHARE = 0.5
"""A scored channel flagged for more than this share of the recorded time is a bad channel."""


@dataclass(frozen=True)
class ChannelQuality:
    """One scored channel's flagged time: hours with any flag, and hours per flag (flat,
    clipped, mains, invalid; a block may carry several)."""

    channel: str
    flagged_hours: float
    flags: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        """e.g. "ch2 flagged 7.9 h (flat 7.9 h)"."""
        reasons = ", ".join(f"{name} {hours:.2f} h" for name, hours in self.flags.items())
        return f"{self.channel} flagged {self.flagged_hours:.2f} h" + (
            f" ({reasons})" if reasons else ""
        )


@dataclass(frozen=True)
class Summary:
    """Night (or recording) summary.

    hours: recorded hours (gaps not counted); good_hours: hours without flagged signal
    quality, the denominator of every per-hour index. Episodes and bursts overlapping bad
    quality are not counted (artifact_episodes says how many were set aside).
    bursts_per_episode: the mean number of bursts in a counted episode (bursts outside any
    episode, such as a swallow, are not in it), the one definition every output uses.
    clench_seconds: total duration of the counted bursts; clench_pct: that time as % of the
    good-signal time (the share of the night spent above threshold in a burst): the time index.
    clench_work: the counted bursts' areas (`Burst.area`: % MVC·s when calibrated);
    work_per_hour: that per good hour, the work index (% MVC·s/h).
    hourly_episodes: counted episodes in each hour from the recording start.
    channels: flagged time of each scored channel; a channel flagged most of the night is
        left out of detection while another is good (`bad_channels` names them).
    calibration_note: why the calibration is doubtful ("" when it is not, or uncalibrated):
        the rest floor moved far from the calibrated rest (`FLOOR_DOUBT_RATIO`).
    min_good_hours: the good signal a night needs for its rates to mean anything; below it
        `enough_signal` is False and every output reads "not enough good signal" instead
        of a rate (the JSON form holds null).
    """

    hours: float
    good_hours: float
    episodes: int
    episodes_per_hour: float
    by_kind: dict[str, int]
    per_hour_by_kind: dict[str, float]
    artifact_episodes: int
    bursts: int
    bursts_per_hour: float
    bursts_per_episode: float
    clench_seconds: float
    mean_episode_s: float
    clench_pct: float
    hourly_episodes: list[int]
    calibrated: bool
    threshold: str
    channels: tuple[ChannelQuality, ...] = ()
    min_good_hours: float = 0.0
    calibration_note: str = ""
    clench_work: float = 0.0
    work_per_hour: float = 0.0

    @property
    def enough_signal(self) -> bool:
        return self.good_hours >= self.min_good_hours

    @property
    def bad_channels(self) -> list[str]:
        """Scored channels flagged for more than half of the recorded time."""
        limit = BAD_CHANNEL_SHARE * self.hours
        return [c.channel for c in self.channels if self.hours > 0 and c.flagged_hours > limit]

    def not_enough_text(self) -> str:
        return (
            f"not enough good signal ({self.good_hours:.2f} h; rates need "
            f"{self.min_good_hours:g} h)"
        )

    def to_dict(self) -> dict:
        """The JSON form: rates are null below `min_good_hours` (and `rates_note` says why)."""
        data = asdict(self)
        data["enough_signal"] = self.enough_signal
        data["bad_channels"] = self.bad_channels
        if not self.enough_signal:
            for name in RATE_FIELDS:
                value = data[name]
                data[name] = {k: None for k in value} if isinstance(value, dict) else None
            data["rates_note"] = self.not_enough_text()
        return data


def summarize(
    episodes: Sequence[Episode],
    bursts: Sequence[Burst],
    *,
    duration_s: float,
    bad_seconds: float,
    calibrated: bool,
    threshold: str,
    burst_is_artifact: Callable[[Burst], bool] = lambda burst: False,
    excluded_s: Sequence[tuple[float, float]] = (),
    missing_seconds: float = 0.0,
    channels: Sequence[ChannelQuality] = (),
    min_good_hours: float = 0.0,
    calibration_note: str = "",
) -> Summary:
    """Per-hour indices over the good-signal hours of a recording `duration_s` long.

    excluded_s: stretches (s) not scored at all, such as the calibration at the start: their
    episodes and bursts are dropped and their time is not counted.
    missing_seconds: time lost to gaps (sensor disconnected) inside `duration_s`; not counted
    as recorded or good time.
    channels: each scored channel's flagged time; min_good_hours: see `Summary`.
    """
    episodes = [e for e in episodes if not _touches(e.start_s, e.end_s, excluded_s)]
    bursts = [b for b in bursts if not _touches(b.start_s, b.end_s, excluded_s)]
    counted = [e for e in episodes if not e.artifact]
    good_bursts = [b for b in bursts if not burst_is_artifact(b)]
    excluded = sum(min(b, duration_s) - max(a, 0.0) for a, b in excluded_s if b > a)
    hours = max(0.0, duration_s - excluded - missing_seconds) / 3600.0
    good_hours = max(0.0, duration_s - excluded - missing_seconds - bad_seconds) / 3600.0

    def per_hour(count: int) -> float:
        return count / good_hours if good_hours > 0 else 0.0

    clench = sum(b.duration_s for b in good_bursts)
    work = sum(b.area for b in good_bursts)
    by_kind = {kind: sum(e.kind == kind for e in counted) for kind in KINDS}
    hourly = [0] * max(1, int(-(-duration_s // 3600)))
    for e in counted:
        hourly[min(int(e.start_s // 3600), len(hourly) - 1)] += 1
    return Summary(
        hours=hours,
        good_hours=good_hours,
        episodes=len(counted),
        episodes_per_hour=per_hour(len(counted)),
        by_kind=by_kind,
        per_hour_by_kind={kind: per_hour(n) for kind, n in by_kind.items()},
        artifact_episodes=len(episodes) - len(counted),
        bursts=len(good_bursts),
        bursts_per_hour=per_hour(len(good_bursts)),
        bursts_per_episode=(sum(e.bursts for e in counted) / len(counted)) if counted else 0.0,
        clench_seconds=clench,
        mean_episode_s=(sum(e.duration_s for e in counted) / len(counted)) if counted else 0.0,
        clench_pct=clench / (good_hours * 36.0) if good_hours > 0 else 0.0,
        hourly_episodes=hourly,
        calibrated=calibrated,
        threshold=threshold,
        channels=tuple(channels),
        min_good_hours=min_good_hours,
        calibration_note=calibration_note,
        clench_work=work,
        work_per_hour=work / good_hours if good_hours > 0 else 0.0,
    )


def calibration_note(
    names: Sequence[str], lowest: Sequence[float], highest: Sequence[float]
) -> str:
    """What to tell the user when the rest floor of a channel (its running 10th-percentile
    envelope) moved during the night to beyond `FLOOR_DOUBT_RATIO` x its calibrated rest,
    either way; "" when it did not (NaN: never measured)."""
    moved = []
    for name, low, high in zip(names, lowest, highest, strict=True):
        if high > FLOOR_DOUBT_RATIO:
            moved.append(f"rose to {high:.1f}x the calibrated rest on {name}")
        elif low < 1 / FLOOR_DOUBT_RATIO:
            moved.append(f"fell to {low:.2f}x the calibrated rest on {name}")
    if not moved:
        return ""
    return (
        "calibration doubtful: the rest floor "
        + "; ".join(moved)
        + " (electrodes drying or moved); thresholds were kept above it; recalibrate"
    )


def _touches(start: float, end: float, intervals: Sequence[tuple[float, float]]) -> bool:
    return any(start < b and a < end for a, b in intervals)
