"""Does the effect of feedback wear off? The trend of the nightly episode rate across the
feedback block of a trial plan: a least-squares line through (day of the block, episodes
per good hour), its slope per week with a 95 % interval (Student's t on n - 2 degrees of
freedom). A rate that climbs back during feedback is what habituation to the buzz looks like.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

MIN_NIGHTS = 4
"""Fewer nights with a rate in the block than this give no trend."""


@dataclass(frozen=True)
class Trend:
    """The slope (episodes/h per week) of the nightly rate over the block, with its 95 %
    interval; None below MIN_NIGHTS. intercept: the fitted rate on the block's first day."""

    nights: int
    per_week: float | None = None
    low: float | None = None
    high: float | None = None
    intercept: float | None = None

    @property
    def enough(self) -> bool:
        return self.per_week is not None

    def sentence(self) -> str:
        if not self.enough:
            return (
                f"Habituation: too few feedback nights with a rate to tell ({self.nights}; "
                f"at least {MIN_NIGHTS} needed)."
            )
        span = (
            f"{self.per_week:+.2f} episodes/h per week "
            f"(95 % CI {self.low:+.2f} to {self.high:+.2f})"
        )
        if self.low > 0:
            verdict = (
                "the rate rose during the feedback block: the wearer may be getting used "
                "to the feedback"
            )
        elif self.high < 0:
            verdict = "the rate kept falling during the feedback block: no sign of habituation"
        else:
            verdict = "no clear trend within the feedback block"
        return f"Habituation: {span} over {self.nights} nights; {verdict}."

    def to_dict(self) -> dict:
        data = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        data["sentence"] = self.sentence()
        return data


def trend(days: Sequence[float], rates: Sequence[float]) -> Trend:
    """The least-squares trend of `rates` (episodes/h) against `days` (days into the
    block), in episodes/h per week."""
    from scipy import stats

    n = len(days)
    if n < MIN_NIGHTS or len(set(days)) < 2:
        return Trend(n)
    mean_x = sum(days) / n
    mean_y = sum(rates) / n
    sxx = sum((x - mean_x) ** 2 for x in days)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(days, rates, strict=True)) / sxx
    intercept = mean_y - slope * mean_x
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(days, rates, strict=True))
    se = math.sqrt(residual / (n - 2) / sxx)
    half = float(stats.t.ppf(0.975, n - 2)) * se
    return Trend(n, 7 * slope, 7 * (slope - half), 7 * (slope + half), intercept)
