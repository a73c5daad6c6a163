"""The report page's panels below its key figures: episodes per hour, the comparison of
baseline and feedback nights, whether feedback helps, every night's timeline and the table
of nights (matplotlib axes on the page `report.py` lays out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from bruxwatch.store.exports import comparison_text
from bruxwatch.store.local_time import evening_of, local, offset_text
from bruxwatch.store.scored import ScoredNight
from bruxwatch.ui.colours import KIND_HEX, MODE_HEX

MAX_TABLE_ROWS = 10
ROWS_BESIDE_BODY = 5
"""Nights in the table when the heart-and-body lines need the space under it."""
MAX_TIMELINE_ROWS = 14


def rates_chart(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    ax = fig.add_axes((0.08, 0.615, 0.50, 0.16))
    if len(nights) == 1:
        s = nights[0].analysis.summary
        hourly = {k: np.zeros(len(s.hourly_episodes)) for k in KIND_HEX}
        for e in nights[0].analysis.episodes:
            if not e.artifact:
                hour = min(int(e.start_s // 3600), len(s.hourly_episodes) - 1)
                hourly[e.kind][hour] += 1
        bottom = np.zeros(len(s.hourly_episodes))
        x = np.arange(bottom.size)
        for kind, colour in KIND_HEX.items():
            ax.bar(x, hourly[kind], bottom=bottom, color=colour, label=kind, width=0.8)
            bottom += hourly[kind]
        start = nights[0].started_at.astimezone()
        ax.set_xticks(x, [f"{(start + dt.timedelta(hours=int(h))):%H}h" for h in x], fontsize=7)
        ax.legend(fontsize=7, frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1))
        ax.set_title("Episodes in each hour of the night", fontsize=9, pad=16)
    else:
        x = np.arange(len(nights))
        rates = [
            n.analysis.summary.episodes_per_hour if n.analysis.summary.enough_signal else np.nan
            for n in nights
        ]
        colours = [MODE_HEX.get(n.mode, "#4285f4") for n in nights]
        ax.plot(x, rates, color="#999999", linewidth=1, zorder=1)
        ax.scatter(x, rates, c=colours, s=28, zorder=2)
        for mode, colour in MODE_HEX.items():
            ax.scatter([], [], c=colour, s=28, label=f"{mode} night")
        ax.set_xticks(x, [f"{evening_of(n.started_at):%d %b}" for n in nights], fontsize=7)
        if len(nights) > 8:
            ax.tick_params(axis="x", labelrotation=60)
        ax.set_ylim(bottom=0)
        ax.set_title("Episodes per hour, night by night", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    ax.set_ylabel("episodes / h" if len(nights) > 1 else "episodes", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)


def comparison_box(fig: Figure, nights: Sequence[ScoredNight], found: dict) -> None:
    """The comparison's sentences (`exports.comparison_text`), wrapped to the box."""
    import textwrap

    x, y = 0.61, 0.795
    fig.text(x, y, "Baseline vs biofeedback nights", fontsize=9, weight="bold")
    k = 0
    for sentence in comparison_text(nights, found):
        bold = sentence.startswith("change with feedback")
        for line in textwrap.wrap(sentence, 50):
            fig.text(
                x, y - 0.018 - 0.0145 * k, line, fontsize=7.5, weight="bold" if bold else "normal"
            )
            k += 1


def evidence_box(fig: Figure, effect: dict) -> None:
    """ "Does feedback help?": the micro-randomized estimate, in numbers and one sentence."""
    import textwrap

    x, y = 0.61, 0.675
    fig.text(x, y, "Does feedback help?", fontsize=9, weight="bold")
    lines: list[str] = []
    if effect["enough"]:
        diff, ratio = effect["remaining_difference_s"], effect["remaining_ratio"]
        lines.append(
            f"clench left after a buzz: {effect['remaining_given_s']:.1f} s; "
            f"withheld: {effect['remaining_withheld_s']:.1f} s"
        )
        lines.append(
            f"difference {diff['estimate']:+.1f} s (95 % CI {diff['low']:+.1f} to "
            f"{diff['high']:+.1f}), ratio {ratio['estimate']:.2f}"
        )
        lines.append(
            f"stopped within 2 s: {100 * effect['stopped_given']:.0f} % vs "
            f"{100 * effect['stopped_withheld']:.0f} %; {effect['given']} given, "
            f"{effect['withheld']} withheld"
        )
    wrapped = textwrap.wrap(effect["sentence"], 56)
    for k, line in enumerate(lines + wrapped):
        weight = "bold" if k >= len(lines) else "normal"
        fig.text(x, y - 0.016 - 0.0125 * k, line, fontsize=6.8, weight=weight)


def clock_hours(night: ScoredNight) -> float:
    """Where the night began on a clock axis: local hours since midnight before the evening
    it belongs to (23:07 -> 23.12; 00:30 the next morning -> 24.5)."""
    start = local(night.started_at)
    midnight = dt.datetime.combine(evening_of(start), dt.time(0))
    return (start.replace(tzinfo=None) - midnight).total_seconds() / 3600


def clock_ticks(ax, lo: float, hi: float) -> None:
    """Hour ticks labelled on the clock (25 -> 01:00) between `lo` and `hi` hours."""
    step = 1 if hi - lo <= 10 else 2
    ticks = np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)
    ax.set_xticks(ticks, [f"{int(h) % 24:02d}:00" for h in ticks])


def timeline(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    shown = list(nights[-MAX_TIMELINE_ROWS:])
    height = min(0.19, 0.06 + 0.03 * len(shown))
    ax = fig.add_axes((0.22, 0.545 - height, 0.72, height))
    starts = [clock_hours(n) for n in shown]
    ends = [
        at + n.analysis.n_samples / n.analysis.fs / 3600
        for at, n in zip(starts, shown, strict=True)
    ]
    lo, hi = min(starts), max(max(ends), min(starts) + 0.1)
    for row, (night, at) in enumerate(zip(shown, starts, strict=True)):
        y = len(shown) - 1 - row
        fs = night.analysis.fs
        hours = night.analysis.n_samples / fs / 3600
        ax.add_patch(_rect(at, y - 0.3, hours, 0.6, "#f2f2f2"))
        for a, b in night.analysis.bad_intervals:
            ax.add_patch(_rect(at + a / fs / 3600, y - 0.3, (b - a) / fs / 3600, 0.6, "#bdbdbd"))
        for e in night.analysis.episodes:
            if e.artifact:
                continue
            width = max(e.duration_s / 3600, (hi - lo) / 600)
            ax.add_patch(_rect(at + e.start_s / 3600, y - 0.28, width, 0.56, KIND_HEX[e.kind]))
        given = [at + o.at_s / 3600 for o in night.outcomes if o.fired]
        if given:
            ax.plot(given, [y - 0.42] * len(given), "|", color="black", markersize=3)
    ax.set_xlim(lo, hi)
    clock_ticks(ax, lo, hi)
    ax.set_ylim(-0.6, len(shown) - 0.4)
    ax.set_yticks(
        range(len(shown)),
        [f"{local(n.started_at):%a %d %b}  {n.mode}" for n in reversed(shown)],
        fontsize=6.5 if len(shown) > 7 else 7.5,
    )
    ax.set_xlabel(f"local clock time (UTC{offset_text(shown[0].started_at)})", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    title = "Each night: episodes by kind, feedback (|), bad signal grey"
    if len(nights) > len(shown):
        title += f" (last {len(shown)} of {len(nights)} nights)"
    ax.set_title(title, fontsize=9, loc="left", pad=14)
    ax.spines[["top", "right", "left"]].set_visible(False)
    for kind, colour in KIND_HEX.items():
        ax.add_patch(_rect(0, -9, 0, 0, colour)).set_label(kind)
    ax.legend(fontsize=7, frameon=False, ncols=3, loc="lower right", bbox_to_anchor=(1, 1))


def _rect(x: float, y: float, w: float, h: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="none")


def nights_table(
    fig: Figure, nights: Sequence[ScoredNight], max_rows: int = MAX_TABLE_ROWS
) -> None:
    shown = list(nights[-max_rows:])
    header = [
        "night",
        "mode",
        "good h",
        "ep/h",
        "phasic/h",
        "tonic/h",
        "mixed/h",
        "bursts/h",
        "clench %",
        "fb given",
        "stopped",
    ]
    rows = []
    for n in shown:
        s, o = n.analysis.summary, n.outcome_summary
        rated = [
            s.episodes_per_hour,
            s.per_hour_by_kind["phasic"],
            s.per_hour_by_kind["tonic"],
            s.per_hour_by_kind["mixed"],
            s.bursts_per_hour,
        ]
        rows.append(
            [
                f"{n.started_at.astimezone():%d %b %H:%M}",
                n.mode,
                f"{s.good_hours:.1f}",
                *[f"{r:.1f}" if s.enough_signal else "-" for r in rated],
                f"{s.clench_pct:.2f}" if s.enough_signal else "-",
                str(o.given),
                "-" if o.stopped_fraction is None else f"{100 * o.stopped_fraction:.0f} %",
            ]
        )
    ax = fig.add_axes((0.06, 0.115, 0.88, 0.2))
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.15)
    for (r, _c), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#eeeeee")
    if len(nights) > len(shown):
        ax.set_title(
            f"last {len(shown)} of {len(nights)} nights; all in nights.csv",
            fontsize=7,
            loc="right",
            pad=1,
        )
