"""The report's page for a trial plan (matplotlib, no Qt): the nightly episode rate across
the baseline, feedback and withdrawal blocks, each block's rate and change from baseline,
the trend within the feedback block (habituation) and the per-clench evidence beside it.
Figures from `store.trial`.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from bruxwatch.signal.indices import REFERENCE_MARKS
from bruxwatch.store.exports import DISCLAIMER, evidence
from bruxwatch.store.local_time import evening_of
from bruxwatch.store.scored import ScoredNight
from bruxwatch.store.trial import night_phase, trial_lines, trial_summary
from bruxwatch.ui.colours import PHASE_HEX

A4 = (8.27, 11.69)


def plan_figure(nights: Sequence[ScoredNight]) -> Figure:
    """The trial plan's page."""
    fig = Figure(figsize=A4)
    found = trial_summary(nights)
    fig.text(0.06, 0.965, "Trial plan: baseline, feedback, withdrawal", fontsize=15, weight="bold")
    fig.text(
        0.06,
        0.947,
        "Feedback was on only in the feedback block. The blocks show whether the rate falls "
        "with feedback,\nwhether it stays down while feedback goes on (habituation) and after "
        "it stops (withdrawal).",
        fontsize=8,
        va="top",
    )
    _rate_chart(fig, nights, found)
    _blocks_table(fig, found)
    lines = trial_lines(nights)[-1:]  # the habituation sentence (the blocks are the table)
    lines.append("Per clench: " + evidence(nights)["feedback_effect"]["sentence"])
    y = 0.36
    for line in lines:
        for part in textwrap.wrap(line, 115):
            fig.text(0.06, y, part, fontsize=8)
            y -= 0.015
        y -= 0.006
    fig.text(0.06, 0.035, DISCLAIMER, fontsize=7, weight="bold", wrap=True, va="top")
    return fig


def _rate_chart(fig: Figure, nights: Sequence[ScoredNight], found: dict) -> None:
    ax = fig.add_axes((0.09, 0.6, 0.84, 0.28))
    evenings = [evening_of(n.started_at) for n in nights]
    x = np.array([(e - evenings[0]).days for e in evenings], dtype=float)
    rates = np.array(
        [
            n.analysis.summary.episodes_per_hour if n.analysis.summary.enough_signal else np.nan
            for n in nights
        ]
    )
    phases = [night_phase(n) or "no plan" for n in nights]
    top = max(np.nanmax(rates) if np.isfinite(rates).any() else 0.0, REFERENCE_MARKS[0].above)
    for block in found["blocks"]:
        a = (dt.date.fromisoformat(block["first"]) - evenings[0]).days - 0.5
        b = (dt.date.fromisoformat(block["last"]) - evenings[0]).days + 0.5
        colour = PHASE_HEX.get(block["phase"], "#999999")
        ax.axvspan(a, b, color=colour, alpha=0.10, lw=0)
        ax.text((a + b) / 2, top * 1.13, block["phase"], ha="center", fontsize=8, color=colour)
        if block["episodes_per_hour"] is not None:
            ax.plot([a, b], [block["episodes_per_hour"]] * 2, color=colour, linewidth=2)
    ax.plot(x, rates, color="#aaaaaa", linewidth=0.8, zorder=1)
    ax.scatter(x, rates, c=[PHASE_HEX.get(p, "#999999") for p in phases], s=18, zorder=2)
    trend = found["habituation"]
    fb = [k for k, p in enumerate(phases) if p == "feedback"]
    if trend["per_week"] is not None and fb:
        days = np.array([x[fb[0]], x[fb[-1]]])
        fitted = trend["intercept"] + trend["per_week"] / 7 * (days - x[fb[0]])
        ax.plot(
            days, fitted, color="#000000", linestyle=":", linewidth=1.5, label="trend in feedback"
        )
    mark = REFERENCE_MARKS[0].above
    ax.axhline(mark, color="#222222", linestyle="--", linewidth=0.8)
    ax.text(
        1.0, mark, f" mark {mark:g}", transform=ax.get_yaxis_transform(), fontsize=7, va="center"
    )
    ax.set_ylim(0, top * 1.2)
    ax.set_xlim(-0.7, x[-1] + 0.7)
    step = max(1, int(np.ceil(len(nights) / 12)))
    ticks = x[::step]
    ax.set_xticks(ticks, [f"{evenings[int(k)]:%d %b}" for k in range(0, len(nights), step)])
    ax.tick_params(labelsize=7)
    ax.set_ylabel("episodes per good hour", fontsize=8)
    ax.set_title(
        "Episodes per hour, night by night (solid: each block's rate; dotted: the trend "
        "within feedback; dashed: reference mark)",
        fontsize=8.5,
        loc="left",
        pad=18,
    )
    ax.spines[["top", "right"]].set_visible(False)


def _blocks_table(fig: Figure, found: dict) -> None:
    rows = []
    for b in found["blocks"]:
        first, last = (dt.date.fromisoformat(b[k]) for k in ("first", "last"))
        rate = "-" if b["episodes_per_hour"] is None else f"{b['episodes_per_hour']:.1f}"
        change = b["change_from_baseline_pct"]
        rows.append(
            [
                b["phase"],
                f"{first:%a %d %b} - {last:%a %d %b}",
                str(b["nights"]),
                f"{b['good_hours']:.1f}",
                rate,
                "-" if change is None or b["phase"] == "baseline" else f"{change:+.0f} %",
            ]
        )
    ax = fig.add_axes((0.06, 0.42, 0.88, 0.028 * (len(rows) + 1)))
    ax.axis("off")
    table = ax.table(
        cellText=rows,
        colLabels=["block", "evenings", "nights", "good h", "episodes/h", "from baseline"],
        bbox=(0, 0, 1, 1),
        colWidths=[0.13, 0.32, 0.1, 0.12, 0.15, 0.18],
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#eeeeee")
        elif c == 0:
            cell.get_text().set_color(PHASE_HEX.get(rows[r - 1][0], "#000000"))
