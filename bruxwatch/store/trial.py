"""The trial plan's results: each block's episode rate, the change from baseline, and the
habituation trend within the feedback block (`signal.habituation`), for the report's plan
page, its JSON and the terminal. A night's block is the one the recorder stored with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bruxwatch.signal.habituation import trend
from bruxwatch.store.local_time import evening_of
from bruxwatch.store.scored import ScoredNight


def night_phase(night: ScoredNight) -> str | None:
    """The plan block the night was recorded in (None: recorded without a plan)."""
    return night.session.config.get("plan_phase")


def has_plan(nights: Sequence[ScoredNight]) -> bool:
    return any(night_phase(n) for n in nights)


def phase_blocks(nights: Sequence[ScoredNight]) -> list[dict]:
    """Consecutive nights of one block, in order: name, first and last evening, nights,
    good hours and the pooled episode rate (None under the nights' minimum good hours)."""
    blocks: list[dict] = []
    for night in nights:
        name = night_phase(night) or "no plan"
        if not blocks or blocks[-1]["phase"] != name:
            blocks.append({"phase": name, "nights": []})
        blocks[-1]["nights"].append(night)
    out = []
    for block in blocks:
        members = block["nights"]
        summaries = [n.analysis.summary for n in members]
        rated = [s for s in summaries if s.enough_signal]
        hours = sum(s.good_hours for s in rated)
        need = max(s.min_good_hours for s in summaries)
        out.append(
            {
                "phase": block["phase"],
                "first": evening_of(members[0].started_at).isoformat(),
                "last": evening_of(members[-1].started_at).isoformat(),
                "nights": len(members),
                "good_hours": round(hours, 2),
                "episodes_per_hour": (
                    round(sum(s.episodes for s in rated) / hours, 2)
                    if rated and hours >= need
                    else None
                ),
            }
        )
    return out


def habituation(nights: Sequence[ScoredNight]):
    """The trend of the nightly rate over the feedback block's rated nights, by days from
    the block's first night (`signal.habituation.Trend`)."""
    feedback = [n for n in nights if night_phase(n) == "feedback"]
    rated = [n for n in feedback if n.analysis.summary.enough_signal]
    if not rated:
        return trend([], [])
    first = evening_of(feedback[0].started_at)
    days = [(evening_of(n.started_at) - first).days for n in rated]
    return trend(days, [n.analysis.summary.episodes_per_hour for n in rated])


def trial_summary(nights: Sequence[ScoredNight]) -> dict:
    """Blocks, change of each from the baseline block, and habituation (JSON form)."""
    blocks = phase_blocks(nights)
    base = next((b for b in blocks if b["phase"] == "baseline"), None)
    reference = base["episodes_per_hour"] if base else None
    for b in blocks:
        rate = b["episodes_per_hour"]
        b["change_from_baseline_pct"] = (
            round(100 * (rate - reference) / reference, 1)
            if rate is not None and reference
            else None
        )
    return {"blocks": blocks, "habituation": habituation(nights).to_dict()}


def trial_lines(nights: Sequence[ScoredNight]) -> list[str]:
    """The trial's results in sentences (terminal and PDF)."""
    found = trial_summary(nights)
    lines = []
    for b in found["blocks"]:
        rate = "-" if b["episodes_per_hour"] is None else f"{b['episodes_per_hour']:.1f}"
        change = (
            f", {b['change_from_baseline_pct']:+.0f} % from baseline"
            if b["change_from_baseline_pct"] is not None and b["phase"] != "baseline"
            else ""
        )
        lines.append(
            f"{b['phase']}: {b['first']} to {b['last']}, {b['nights']} nights, "
            f"{rate} episodes/h{change}"
        )
    lines.append(found["habituation"]["sentence"])
    return lines
