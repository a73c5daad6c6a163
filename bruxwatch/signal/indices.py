"""The figures a clinician reads off a night beside the episode counts: how episodes cluster,
where a night stands against the sleep-laboratory research criteria, and how much the
nights vary (docs/clinician.md explains each one).

Pure arithmetic on scored episodes and summaries; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bruxwatch.signal.events import Episode
from bruxwatch.signal.scoring import Summary

CLUSTER_GAP_S = 100.0
"""Episodes that begin less than this long (s) after the previous one ended are one cluster."""


@dataclass(frozen=True)
class ReferenceMark:
    """One research cut-off for sleep bruxism: `index` above `above` (per good hour, or per
    episode). A mark grades how much activity a night had; it is not a diagnosis."""

    index: str
    label: str
    above: float
    unit: str


REFERENCE_MARKS = (
    ReferenceMark("episodes_per_hour", "episodes per hour", 4.0, "/h"),
    ReferenceMark("bursts_per_hour", "bursts per hour", 25.0, "/h"),
    ReferenceMark("bursts_per_episode", "bursts per episode", 6.0, ""),
)
"""The sleep-laboratory research criteria for sleep bruxism (masseter EMG with audio-video
in a sleep laboratory): more than 4 episodes/h, more than 25 bursts/h, more than 6 bursts
per episode. Home surface EMG counts more events than the laboratory's scoring, so these
mark a night's place, not a threshold for a diagnosis."""

MARKS_CAVEAT = (
    "Reference marks: the sleep-laboratory research criteria for sleep bruxism. By the 2018 "
    "international consensus on bruxism, such cut-offs grade activity in otherwise healthy "
    "people; they do not make a diagnosis, and home EMG counts more events than laboratory "
    "scoring does."
)


@dataclass(frozen=True)
class Clusters:
    """How a night's counted episodes group in time (`CLUSTER_GAP_S`).

    clusters: groups of 2+ episodes; clustered_episodes: the episodes in them;
    largest: episodes in the largest group (1 when none cluster, 0 with no episodes);
    median_interval_s: median time from one episode's end to the next one's start (None
    with fewer than two episodes).
    """

    episodes: int
    clusters: int
    clustered_episodes: int
    largest: int
    median_interval_s: float | None

    @property
    def clustered_share(self) -> float | None:
        """Share of the episodes that are in a cluster (None without episodes)."""
        return self.clustered_episodes / self.episodes if self.episodes else None

    def to_dict(self) -> dict:
        data = asdict(self)
        share = self.clustered_share
        data["clustered_share"] = None if share is None else round(share, 3)
        if self.median_interval_s is not None:
            data["median_interval_s"] = round(self.median_interval_s, 1)
        return data


def clusters(episodes: Sequence[Episode], gap_s: float = CLUSTER_GAP_S) -> Clusters:
    """Clusters of the counted (non-artifact) `episodes`, taken in time order."""
    counted = sorted((e for e in episodes if not e.artifact), key=lambda e: e.start_index)
    sizes: list[int] = []
    intervals: list[float] = []
    for k, e in enumerate(counted):
        interval = e.start_s - counted[k - 1].end_s if k else math.inf
        if k:
            intervals.append(interval)
        if interval < gap_s:
            sizes[-1] += 1
        else:
            sizes.append(1)
    grouped = [s for s in sizes if s > 1]
    return Clusters(
        episodes=len(counted),
        clusters=len(grouped),
        clustered_episodes=sum(grouped),
        largest=max(sizes, default=0),
        median_interval_s=_median(intervals),
    )


@dataclass(frozen=True)
class MarkResult:
    """A night's (or a period's) value of one reference mark's index; None: no rate."""

    mark: ReferenceMark
    value: float | None

    @property
    def above(self) -> bool | None:
        return None if self.value is None else self.value > self.mark.above


def against_marks(summary: Summary) -> list[MarkResult]:
    """The night's three research indices beside their marks (rates None when the night
    has too little good signal; bursts per episode None without episodes)."""
    values = {
        "episodes_per_hour": summary.episodes_per_hour if summary.enough_signal else None,
        "bursts_per_hour": summary.bursts_per_hour if summary.enough_signal else None,
        "bursts_per_episode": summary.bursts_per_episode if summary.episodes else None,
    }
    return [MarkResult(mark, values[mark.index]) for mark in REFERENCE_MARKS]


@dataclass(frozen=True)
class Variability:
    """Night-to-night spread of one index over the nights that have it.

    sd: sample standard deviation (None under 2 nights); cv_pct: sd as % of the mean (None
    when the mean is 0)."""

    nights: int
    mean: float | None
    sd: float | None
    cv_pct: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict:
        return {k: (None if v is None else round(v, 3)) for k, v in asdict(self).items()}


def variability(values: Sequence[float | None]) -> Variability:
    """Mean, SD, CV and range of the values that are not None."""
    known = [float(v) for v in values if v is not None]
    if not known:
        return Variability(0, None, None, None, None, None)
    mean = sum(known) / len(known)
    sd = (
        math.sqrt(sum((v - mean) ** 2 for v in known) / (len(known) - 1))
        if len(known) > 1
        else None
    )
    cv = 100.0 * sd / mean if sd is not None and mean > 0 else None
    return Variability(len(known), mean, sd, cv, min(known), max(known))


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
