"""Baseline nights versus biofeedback nights: the change in episodes per hour (pure arithmetic).

Rates are pooled per group (all counted episodes / all good-signal hours), so a short night
weighs less than a full one, the way a sleep lab pools a multi-night study.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class NightCounts:
    """What one night contributes: its mode ("baseline" or "feedback"), counted episodes and
    good-signal hours."""

    mode: str
    episodes: int
    good_hours: float


@dataclass(frozen=True)
class GroupComparison:
    """Episodes per good-signal hour in baseline and feedback nights, and the change.

    change_per_hour: feedback rate - baseline rate (negative = fewer with feedback);
    change_pct: that change as % of the baseline rate. None where a group is empty or has
    too little good signal (`compare_nights`' min_hours).
    """

    baseline_nights: int
    feedback_nights: int
    baseline_hours: float
    feedback_hours: float
    baseline_per_hour: float | None
    feedback_per_hour: float | None
    change_per_hour: float | None
    change_pct: float | None

    @property
    def comparable(self) -> bool:
        return self.change_per_hour is not None

    def to_dict(self) -> dict:
        return asdict(self)


def _rate(nights: Sequence[NightCounts], min_hours: float) -> tuple[float, float | None]:
    hours = sum(n.good_hours for n in nights)
    enough = hours > 0 and hours >= min_hours
    return hours, (sum(n.episodes for n in nights) / hours if enough else None)


def compare_nights(nights: Sequence[NightCounts], min_hours: float = 0.0) -> GroupComparison:
    """Pool baseline and feedback nights separately and compare their episode rates (nights
    of any other mode, e.g. imported from another tool, are left out). A group with fewer
    good-signal hours than `min_hours` has no rate (None), like a night."""
    baseline = [n for n in nights if n.mode == "baseline"]
    feedback = [n for n in nights if n.mode == "feedback"]
    base_hours, base_rate = _rate(baseline, min_hours)
    fb_hours, fb_rate = _rate(feedback, min_hours)
    change = pct = None
    if base_rate is not None and fb_rate is not None:
        change = fb_rate - base_rate
        pct = 100.0 * change / base_rate if base_rate > 0 else None
    return GroupComparison(
        baseline_nights=len(baseline),
        feedback_nights=len(feedback),
        baseline_hours=base_hours,
        feedback_hours=fb_hours,
        baseline_per_hour=base_rate,
        feedback_per_hour=fb_rate,
        change_per_hour=change,
        change_pct=pct,
    )
