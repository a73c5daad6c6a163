"""A night's summary from its episodes and bursts: the indices sleep-bruxism research reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from bruxwatch.signal.events import Burst, Episode

KINDS = ("phasic", "tonic", "mixed")


@dataclass(frozen=True)
class Summary:
    """Night (or recording) summary.

    hours: recorded hours (gaps not counted); good_hours: hours without flagged signal
    quality, the denominator of every per-hour index. Episodes and bursts overlapping bad
    quality are not counted (artifact_episodes says how many were set aside).
    clench_seconds: total duration of the counted bursts; clench_pct: that time as % of the
    good-signal time (the share of the night spent above threshold in a burst).
    hourly_episodes: counted episodes in each hour from the recording start.
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

    def to_dict(self) -> dict:
        return asdict(self)


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
) -> Summary:
    """Per-hour indices over the good-signal hours of a recording `duration_s` long.

    excluded_s: stretches (s) not scored at all, such as the calibration at the start: their
    episodes and bursts are dropped and their time is not counted.
    missing_seconds: time lost to gaps (sensor disconnected) inside `duration_s`; not counted
    as recorded or good time.
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
    )


def _touches(start: float, end: float, intervals: Sequence[tuple[float, float]]) -> bool:
    return any(start < b and a < end for a, b in intervals)
