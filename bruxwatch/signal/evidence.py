"""Does the biofeedback work for this wearer? Estimates from micro-randomized nights.

With `record --withhold 0.2`, each clench that earns feedback has its feedback withheld with
probability 0.2, decided by a seeded generator. Given and withheld clenches differ only by
chance, so comparing what followed them estimates the effect of the buzz itself, for this
person, free of night-to-night variation. Pure functions; no I/O.

Outcomes compared (first decision of each clench only; repeats while a clench goes on are not
randomized separately):
- remaining clench after the trigger, s (mean given - mean withheld, and the ratio);
- the clench ended within 2 s (difference in proportions, percentage points);
- the episode went on with another burst (difference in proportions).
Intervals: percentile bootstrap (scipy.stats.bootstrap, seeded), 95 % by default; p-value of
the remaining-time difference from a permutation test (scipy.stats.permutation_test).
Below `min_events` given or withheld clenches nothing is estimated, and the result says so.

The night-level comparison (episodes per hour, baseline nights vs feedback nights) gets a
bootstrap interval over nights; it needs at least two nights of each kind, and unlike the
micro-randomized estimate it is open to everything else that differs between nights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from bruxwatch.signal.outcomes import FeedbackOutcome

MIN_EVENTS = 10
MIN_NIGHTS = 2


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval."""

    estimate: float
    low: float
    high: float

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class FeedbackEffect:
    """Given vs withheld feedback. Durations in s, proportions 0-1; None = not estimated."""

    given: int
    withheld: int
    enough: bool
    confidence: float
    remaining_given_s: float | None
    remaining_withheld_s: float | None
    remaining_difference_s: Interval | None
    remaining_ratio: Interval | None
    stopped_given: float | None
    stopped_withheld: float | None
    stopped_difference: Interval | None
    continued_difference: Interval | None
    p_value: float | None
    sentence: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NightEffect:
    """Episodes per hour: feedback nights minus baseline nights, with its interval."""

    baseline_nights: int
    feedback_nights: int
    baseline_per_hour: float | None
    feedback_per_hour: float | None
    difference: Interval | None
    enough: bool
    sentence: str

    def to_dict(self) -> dict:
        return asdict(self)


def _bootstrap(x: np.ndarray, y: np.ndarray, statistic, confidence, resamples, rng) -> Interval:
    result = stats.bootstrap(
        (x, y),
        statistic,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        random_state=rng,
    )
    low, high = result.confidence_interval
    return Interval(float(statistic(x, y, axis=-1)), float(low), float(high))


def _mean_difference(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _mean_ratio(x, y, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(x, axis=axis) / np.mean(y, axis=axis)


def feedback_effect(
    outcomes: Sequence[FeedbackOutcome],
    *,
    min_events: int = MIN_EVENTS,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> FeedbackEffect:
    """Compare the clenches whose feedback was given with those whose feedback was withheld
    by the randomization. `outcomes` should hold only randomized first decisions."""
    known = [o for o in outcomes if o.remaining_s is not None and (o.fired or o.withheld)]
    given = [o for o in known if o.fired]
    held = [o for o in known if o.withheld and not o.fired]
    n_given, n_held = len(given), len(held)
    if n_given < min_events or n_held < min_events:
        sentence = (
            f"Too few events to say: {n_given} clenches with feedback and {n_held} with it "
            f"withheld (at least {min_events} of each are needed). Keep recording nights with "
            "`--withhold 0.2`."
        )
        return FeedbackEffect(
            n_given,
            n_held,
            False,
            confidence,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            sentence,
        )
    rng = np.random.default_rng(seed)
    remaining_given = np.array([o.remaining_s for o in given])
    remaining_held = np.array([o.remaining_s for o in held])
    stopped_given = np.array([float(o.stopped) for o in given])
    stopped_held = np.array([float(o.stopped) for o in held])
    difference = _bootstrap(
        remaining_given, remaining_held, _mean_difference, confidence, resamples, rng
    )
    ratio = _bootstrap(remaining_given, remaining_held, _mean_ratio, confidence, resamples, rng)
    stopped = _bootstrap(stopped_given, stopped_held, _mean_difference, confidence, resamples, rng)
    cont_given = np.array([float(bool(o.episode_continued)) for o in given])
    cont_held = np.array([float(bool(o.episode_continued)) for o in held])
    continued = _bootstrap(cont_given, cont_held, _mean_difference, confidence, resamples, rng)
    permutation = stats.permutation_test(
        (remaining_given, remaining_held),
        _mean_difference,
        vectorized=True,
        n_resamples=resamples,
        permutation_type="independent",
        random_state=rng,
    )
    mean_given, mean_held = float(remaining_given.mean()), float(remaining_held.mean())
    level = f"{confidence:.0%}"
    span = (
        f"{difference.estimate:+.1f} s, {level} interval {difference.low:+.1f} to "
        f"{difference.high:+.1f} s"
    )
    if difference.high < 0:
        sentence = (
            f"Yes, for this wearer: after a buzz the clench went on for {mean_given:.1f} s on "
            f"average, against {mean_held:.1f} s when the buzz was withheld ({span})."
        )
    elif difference.low > 0:
        sentence = (
            f"No: clenches went on longer after a buzz ({mean_given:.1f} s) than without "
            f"({mean_held:.1f} s) ({span})."
        )
    else:
        sentence = (
            f"No clear effect: clenches went on for {mean_given:.1f} s after a buzz and "
            f"{mean_held:.1f} s without; the difference ({span}) could be zero."
        )
    return FeedbackEffect(
        given=n_given,
        withheld=n_held,
        enough=True,
        confidence=confidence,
        remaining_given_s=mean_given,
        remaining_withheld_s=mean_held,
        remaining_difference_s=difference,
        remaining_ratio=ratio,
        stopped_given=float(stopped_given.mean()),
        stopped_withheld=float(stopped_held.mean()),
        stopped_difference=stopped,
        continued_difference=continued,
        p_value=float(permutation.pvalue),
        sentence=sentence,
    )


def night_effect(
    baseline_per_hour: Sequence[float],
    feedback_per_hour: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    min_nights: int = MIN_NIGHTS,
) -> NightEffect:
    """Mean episodes per hour of feedback nights minus baseline nights, bootstrapped over
    nights."""
    base = np.asarray(baseline_per_hour, dtype=float)
    fb = np.asarray(feedback_per_hour, dtype=float)
    base_mean = float(base.mean()) if base.size else None
    fb_mean = float(fb.mean()) if fb.size else None
    if base.size < min_nights or fb.size < min_nights:
        sentence = (
            f"Too few nights to compare: {base.size} baseline and {fb.size} feedback nights "
            f"(at least {min_nights} of each are needed)."
        )
        return NightEffect(base.size, fb.size, base_mean, fb_mean, None, False, sentence)
    rng = np.random.default_rng(seed)
    difference = _bootstrap(fb, base, _mean_difference, confidence, resamples, rng)
    level = f"{confidence:.0%}"
    if difference.covers(0.0):
        verdict = "could be zero"
    else:
        verdict = "fewer with feedback" if difference.estimate < 0 else "more with feedback"
    sentence = (
        f"Episodes per hour: {base_mean:.1f} on baseline nights, {fb_mean:.1f} on feedback "
        f"nights ({difference.estimate:+.1f}/h, {level} interval {difference.low:+.1f} to "
        f"{difference.high:+.1f}: {verdict}). Nights differ for many reasons; the per-clench "
        "comparison is the fairer test."
    )
    return NightEffect(base.size, fb.size, base_mean, fb_mean, difference, True, sentence)
