"""Records the detector and pipeline emit. Times are seconds from session start (device clock).

Every record also keeps its sample indices, so streaming and offline runs can be compared exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EpisodeKind = Literal["phasic", "tonic", "mixed"]
BurstKind = Literal["phasic", "tonic"]


@dataclass(frozen=True)
class Span:
    """Samples `start_index` up to (not including) `end_index` at `fs` Hz, and the same in
    seconds from the session's start."""

    start_index: int
    end_index: int
    fs: float

    @property
    def start_s(self) -> float:
        return self.start_index / self.fs

    @property
    def end_s(self) -> float:
        return self.end_index / self.fs

    @property
    def duration_s(self) -> float:
        return (self.end_index - self.start_index) / self.fs


@dataclass(frozen=True)
class Burst(Span):
    """One clench burst: envelope above threshold for at least the minimum burst length.

    start_index/end_index: first sample and one past the last sample above threshold.
    peak: highest detection level in the burst (% MVC when calibrated, × background otherwise).
    area: the level summed over the burst's samples above threshold, times 1/fs: % MVC·s
        when calibrated (the burst's share of the work index). A sum of floats: chunkings
        agree on it to rounding (about 1e-9 of it), not bit for bit, so events compare
        equal without it.
    """

    kind: BurstKind
    peak: float
    area: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class Episode(Span):
    """A scored episode: bursts less than the joining gap apart, phasic / tonic / mixed.

    peak_pct_mvc: highest % MVC reached (None when the recording is not calibrated).
    peak_level: highest detection level in the level units of the analysis.
    artifact: the episode overlaps a stretch of bad signal quality and is not counted.
    area: its bursts' areas added up (level units·s: % MVC·s when calibrated; as
        `Burst.area`, not compared).
    """

    kind: EpisodeKind
    bursts: int
    phasic_bursts: int
    tonic_bursts: int
    peak_level: float
    peak_pct_mvc: float | None
    artifact: bool = False
    area: float = field(default=0.0, compare=False)


@dataclass(frozen=True)
class Onset:
    """Something that began at `start_s`, known to have begun at `at_s` (s)."""

    start_s: float
    at_s: float


@dataclass(frozen=True)
class BurstStart(Onset):
    """A burst has lasted the minimum burst length. at_s: when that became known."""


@dataclass(frozen=True)
class BurstEnd:
    burst: Burst


@dataclass(frozen=True)
class EpisodeStart(Onset):
    """A group of bursts has met an episode rule (a tonic burst, or enough phasic bursts).

    kind: the rule met first ("tonic" or "phasic"); the final kind is in EpisodeEnd.
    """

    kind: EpisodeKind


@dataclass(frozen=True)
class EpisodeEnd:
    episode: Episode


@dataclass(frozen=True)
class Gap:
    """Samples lost in transmission (dropped packets, a reconnect) before `at_s`.

    bridged: the gap was short enough (DetectorConfig.bridge_gap_s) for scoring to carry on
        across it; bursts and episodes under way did not end. The samples are missing all
        the same.
    """

    at_s: float
    missing_s: float
    bridged: bool = False


@dataclass(frozen=True)
class QualityChanged:
    """A channel's quality flags changed at the start of a quality block."""

    at_s: float
    channel: int
    flags: tuple[str, ...]


@dataclass(frozen=True)
class MainsChanged:
    """From `at_s` on, the filter notches these mains lines (Hz): the fundamental `mains_hz`
    and the harmonics found with it (`signal.mains`)."""

    at_s: float
    mains_hz: float
    notches_hz: tuple[float, ...]


Event = BurstStart | BurstEnd | EpisodeStart | EpisodeEnd | Gap | QualityChanged | MainsChanged
