"""What happened after each feedback decision: did the clench stop soon after the buzz?

Pure functions over scored bursts and episodes (no I/O). A feedback decision is made at its
trigger sample (the sample that completed the onset delay of a clench). Its outcome is read
from the bursts the analysis found: the burst that contains the trigger, how much of it was
left, and whether its episode went on with further bursts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from bruxwatch.signal.events import Burst, Episode

STOP_WINDOW_S = 2.0
"""A clench "stopped after feedback" when its burst ended within this many seconds (s)."""


@dataclass(frozen=True)
class FeedbackOutcome:
    """The outcome of one feedback decision (given or held back).

    at_s: trigger time, s from the recording start. fired: the buzz/alert was given;
    withheld: held back by the micro-randomization (not by baseline mode or a rule).
    remaining_s: clench left after the trigger, s (None: no burst contains the trigger, e.g.
    it fell into a gap or a stretch scored differently). stopped: remaining_s <= window.
    episode_continued: the episode had another burst after the one that triggered.
    """

    at_s: float
    fired: bool
    remaining_s: float | None
    stopped: bool | None
    episode_continued: bool | None
    withheld: bool = False


@dataclass(frozen=True)
class OutcomeSummary:
    """Counts over a night's (or several nights') feedback decisions.

    stopped_fraction: of the given feedback with a known outcome, the fraction whose clench
    ended within `window_s` (None when there is none).
    """

    given: int
    held_back: int
    with_outcome: int
    stopped: int
    stopped_fraction: float | None
    median_remaining_s: float | None
    window_s: float

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def feedback_outcomes(
    triggers: Sequence[tuple[int, bool] | tuple[int, bool, bool]],
    bursts: Sequence[Burst],
    episodes: Sequence[Episode],
    fs: float,
    window_s: float = STOP_WINDOW_S,
) -> list[FeedbackOutcome]:
    """Outcome of each (trigger sample index, fired[, withheld]) decision, given the scored
    `bursts` and `episodes` (both in time order) of the same recording sampled at `fs` Hz."""
    starts = [b.start_index for b in bursts]
    episode_starts = [e.start_index for e in episodes]
    result = []
    for trigger in triggers:
        index, fired = trigger[0], trigger[1]
        withheld = bool(trigger[2]) if len(trigger) > 2 else False
        k = bisect_right(starts, index) - 1
        burst = bursts[k] if k >= 0 and index <= bursts[k].end_index else None
        if burst is None:
            result.append(FeedbackOutcome(index / fs, fired, None, None, None, withheld))
            continue
        remaining = (burst.end_index - index) / fs
        continued = None
        j = bisect_right(episode_starts, burst.start_index) - 1
        if j >= 0 and burst.end_index <= episodes[j].end_index:
            continued = episodes[j].end_index > burst.end_index
        result.append(
            FeedbackOutcome(
                index / fs, fired, remaining, remaining <= window_s, continued, withheld
            )
        )
    return result


def summarize_outcomes(
    outcomes: Sequence[FeedbackOutcome], window_s: float = STOP_WINDOW_S
) -> OutcomeSummary:
    """How often feedback was given and how often the clench stopped within `window_s`."""
    given = [o for o in outcomes if o.fired]
    known = [o for o in given if o.remaining_s is not None]
    stopped = sum(bool(o.stopped) for o in known)
    remaining = sorted(o.remaining_s for o in known)
    median = None
    if remaining:
        mid = len(remaining) // 2
        median = remaining[mid] if len(remaining) % 2 else (remaining[mid - 1] + remaining[mid]) / 2
    return OutcomeSummary(
        given=len(given),
        held_back=len(outcomes) - len(given),
        with_outcome=len(known),
        stopped=stopped,
        stopped_fraction=stopped / len(known) if known else None,
        median_remaining_s=median,
        window_s=window_s,
    )
