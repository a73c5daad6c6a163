"""The report's pages for the clinician (matplotlib, no Qt): the nights against the research
reference marks, the indices night by night with their spread, one example trace of each
episode kind, and the list of episodes with clock times. Figures from `store.clinician`.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from bruxwatch.signal.events import Episode
from bruxwatch.signal.indices import MARKS_CAVEAT, REFERENCE_MARKS
from bruxwatch.store.clinician import clinician_lines, clinician_summary
from bruxwatch.store.exports import DISCLAIMER, episode_rows
from bruxwatch.store.local_time import evening_of, local, offset_text
from bruxwatch.store.scored import ScoredNight
from bruxwatch.store.trial import night_phase
from bruxwatch.ui.colours import KIND_HEX, PHASE_HEX

A4 = (8.27, 11.69)
MAX_INDEX_ROWS = 16
"""Nights in the page's table of indices (the most recent; all are in nights.csv)."""
EPISODE_ROWS_PER_PAGE = 52
MAX_EPISODE_PAGES = 4
TRACE_CONTEXT_S = 6.0
"""Seconds shown before and after an example episode."""
MAX_TRACE_S = 60.0


def clinician_figure(nights: Sequence[ScoredNight], patient: str | None = None) -> Figure:
    """The clinician's page: reference marks, indices, variability, example traces."""
    fig = Figure(figsize=A4)
    summary = clinician_summary(nights)
    who = f"{patient}  ·  " if patient else ""
    fig.text(
        0.06, 0.965, "For the clinician: indices and reference marks", fontsize=15, weight="bold"
    )
    fig.text(
        0.06,
        0.947,
        f"{who}{len(nights)} night{'s' if len(nights) != 1 else ''}, valid recording time "
        f"{summary['valid_hours']:.1f} h of {summary['recorded_hours']:.1f} h recorded; clock "
        f"times local (UTC{offset_text(nights[0].started_at)})",
        fontsize=8.5,
    )
    _marks_table(fig, summary)
    _marks_charts(fig, nights)
    bottom = _indices_table(fig, summary)
    _summary_lines(fig, nights, summary, bottom - 0.02)
    example_traces(fig, nights)
    fig.text(0.06, 0.035, DISCLAIMER, fontsize=7, weight="bold", wrap=True, va="top")
    return fig


def _marks_table(fig: Figure, summary: dict) -> None:
    ax = fig.add_axes((0.06, 0.862, 0.88, 0.068))
    ax.axis("off")
    rows = []
    for m in summary["marks"]:
        pooled = "-" if m["pooled"] is None else f"{m['pooled']:.1f}"
        rows.append(
            [
                m["label"],
                pooled,
                f"> {m['above']:g}",
                f"{m['nights_above']} of {m['nights_rated']}",
            ]
        )
    table = ax.table(
        cellText=rows,
        colLabels=["index", "all nights together", "reference mark", "nights above the mark"],
        bbox=(0, 0, 1, 1),
        cellLoc="center",
    )
    _style(table, 7.5)


def _marks_charts(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    """Episodes/h and bursts/h night by night, the reference mark dashed."""
    x = np.arange(len(nights))
    kinds = [night_phase(n) or n.mode for n in nights]
    colours = [PHASE_HEX.get(k, "#4285f4") for k in kinds]
    labels = [f"{evening_of(n.started_at):%d %b}" for n in nights]
    for k, (field, mark, title) in enumerate(
        (
            ("episodes_per_hour", REFERENCE_MARKS[0], "Episodes per hour"),
            ("bursts_per_hour", REFERENCE_MARKS[1], "Bursts per hour"),
        )
    ):
        ax = fig.add_axes((0.08 + 0.47 * k, 0.685, 0.40, 0.12))
        values = [
            getattr(n.analysis.summary, field) if n.analysis.summary.enough_signal else np.nan
            for n in nights
        ]
        ax.bar(x, values, color=colours, width=0.7)
        ax.axhline(mark.above, color="#222222", linestyle="--", linewidth=1)
        ax.text(
            1.0,
            mark.above,
            f" mark {mark.above:g}",
            transform=ax.get_yaxis_transform(),
            fontsize=6.5,
            va="center",
        )
        ax.set_title(title + " (good-signal hours)", fontsize=8.5)
        step = max(1, int(np.ceil(len(nights) / 8)))
        ax.set_xticks(x[::step], labels[::step], fontsize=6.5)
        ax.tick_params(labelsize=6.5)
        top = np.nanmax(values) if np.isfinite(values).any() else 0.0
        ax.set_ylim(0, max(top, mark.above) * 1.15)
        ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.patches import Patch

    fig.legend(
        handles=[
            Patch(color=c, label=f"{kind} night") for kind, c in PHASE_HEX.items() if kind in kinds
        ],
        fontsize=7,
        frameon=False,
        ncols=2,
        loc="center",
        bbox_to_anchor=(0.5, 0.842),
    )


ROW_HEIGHT = 0.0155
"""Height of a row of the indices table, as a fraction of the page."""


def _indices_table(fig: Figure, summary: dict) -> float:
    """The table of nights; returns its bottom edge (fraction of the page)."""
    shown = summary["nights"][-MAX_INDEX_ROWS:]
    rows = []
    for c in shown:
        marks = c["marks"]
        by_channel = " / ".join(f"{v:.1f}" for v in c["valid_hours_by_channel"].values())
        k = c["clusters"]
        rows.append(
            [
                c["night"][5:],
                c["phase"],
                c["clock"],
                f"{c['valid_hours']:.1f} ({by_channel})",
                _cell(marks["episodes_per_hour"]),
                _cell(marks["bursts_per_hour"]),
                _cell(marks["bursts_per_episode"]),
                _cell(c["time_index_pct"], ".2f"),
                _cell(c["work_index"], ".0f"),
                f"{k['clusters']} ({k['clustered_episodes']})",
            ]
        )
    height = ROW_HEIGHT * (len(rows) + 1.8)
    top = 0.64
    ax = fig.add_axes((0.04, top - height, 0.92, height))
    ax.axis("off")
    header = [
        "night",
        "mode",
        "clock",
        "valid h\n(per ch.)",
        "ep/h",
        "bursts/h",
        "bursts/ep",
        "time idx %",
        "work idx\n%MVC·s/h",
        "clusters\n(episodes)",
    ]
    table = ax.table(cellText=rows, colLabels=header, bbox=(0, 0, 1, 1), cellLoc="center")
    _style(table, 6.5)
    for (r, _c), cell in table.get_celld().items():
        cell.set_height(1.8 / (len(rows) + 1.8) if r == 0 else 1 / (len(rows) + 1.8))
    title = "Night by night"
    if len(summary["nights"]) > len(shown):
        title += f" (the last {len(shown)} of {len(summary['nights'])} nights; all in nights.csv)"
    ax.set_title(title, fontsize=9, loc="left", weight="bold", pad=4)
    return top - height


def _summary_lines(fig: Figure, nights: Sequence[ScoredNight], summary: dict, y: float) -> None:
    """Clusters and variability in sentences from `y` down (the marks are drawn apart)."""
    lines = [line for line in clinician_lines(nights, summary)[4:] if line != MARKS_CAVEAT]
    for line in lines:
        for part in textwrap.wrap(line, 120):
            fig.text(0.06, y, part, fontsize=7.5)
            y -= 0.013
    for part in textwrap.wrap(
        MARKS_CAVEAT + " Time index: % of the good-signal time in a clench burst. Work index: "
        "the level above threshold integrated over the bursts, % MVC·s per good hour "
        "(calibrated nights only). A cluster: episodes less than 100 s apart.",
        130,
    ):
        fig.text(0.06, y, part, fontsize=6.5, color="#333333")
        y -= 0.011


# ----------------------------------------------------------------------- example traces
def typical_episodes(nights: Sequence[ScoredNight]) -> dict[str, tuple[ScoredNight, Episode]]:
    """For each kind, the counted episode of median duration over all the nights (the
    earlier one on a tie)."""
    found: dict[str, list[tuple[float, int, int, ScoredNight, Episode]]] = {}
    for k, night in enumerate(nights):
        for e in night.analysis.episodes:
            if not e.artifact:
                found.setdefault(e.kind, []).append((e.duration_s, k, e.start_index, night, e))
    typical = {}
    for kind in KIND_HEX:
        if kind in found:
            ordered = sorted(found[kind], key=lambda item: item[:3])
            _d, _k, _i, night, episode = ordered[(len(ordered) - 1) // 2]
            typical[kind] = (night, episode)
    return typical


def example_traces(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    """One typical episode of each kind: its detection level against clock time, the
    threshold dashed, the episode shaded."""
    from bruxwatch.store.recording import Recording
    from bruxwatch.ui.overview import level_threshold, level_window

    typical = typical_episodes(nights)
    fig.text(
        0.06,
        0.255,
        "A typical episode of each kind (median duration)",
        fontsize=9,
        weight="bold",
    )
    fig.text(
        0.06,
        0.243,
        "the detection level against the night's clock; the episode shaded, the threshold "
        "dashed red",
        fontsize=7,
        color="#444444",
    )
    for k, kind in enumerate(KIND_HEX):
        ax = fig.add_axes((0.08 + 0.31 * k, 0.08, 0.25, 0.13))
        ax.tick_params(labelsize=6.5)
        ax.spines[["top", "right"]].set_visible(False)
        if kind not in typical:
            ax.set_title(f"{kind}: none this period", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        night, e = typical[kind]
        lo = e.start_s - TRACE_CONTEXT_S
        hi = min(e.end_s + TRACE_CONTEXT_S, lo + MAX_TRACE_S)
        with Recording(night.path) as recording:
            t, level = level_window(recording, lo, hi)
            threshold, units = level_threshold(recording)
        ax.axvspan(e.start_s, min(e.end_s, hi), color=KIND_HEX[kind], alpha=0.18, lw=0)
        ax.plot(t, level, color="#222222", linewidth=0.6)
        ax.axhline(threshold, color="#d00000", linestyle="--", linewidth=0.8)
        ticks = np.linspace(lo, hi, 3)
        ax.set_xticks(ticks, [f"{local(night.clock(s)):%H:%M:%S}" for s in ticks], fontsize=6)
        ax.set_xlim(lo, hi)
        ax.set_ylabel(units, fontsize=7)
        ax.set_title(
            f"{kind}: {e.duration_s:.1f} s, {e.bursts} burst{'s' if e.bursts != 1 else ''}\n"
            f"{evening_of(night.started_at):%d %b}",
            fontsize=7.5,
        )


# ------------------------------------------------------------------------ episode list
def episode_list_figures(nights: Sequence[ScoredNight]) -> list[Figure]:
    """The counted episodes with clock times, EPISODE_ROWS_PER_PAGE to a page; beyond
    MAX_EPISODE_PAGES pages, the most recent ones (all are in episodes.csv)."""
    rows = [r for r in episode_rows(nights) if not r["artifact"]]
    room = EPISODE_ROWS_PER_PAGE * MAX_EPISODE_PAGES
    shown = rows[-room:]
    pages = [
        shown[k : k + EPISODE_ROWS_PER_PAGE] for k in range(0, len(shown), EPISODE_ROWS_PER_PAGE)
    ]
    figures = []
    for number, page in enumerate(pages or [[]], start=1):
        fig = Figure(figsize=A4)
        title = "Episodes"
        if len(pages) > 1:
            title += f" ({number} of {len(pages)})"
        fig.text(0.06, 0.965, title, fontsize=15, weight="bold")
        note = (
            f"{len(rows)} counted episodes"
            + (f"; the last {len(shown)} listed" if len(shown) < len(rows) else "")
            + "; all, with those set aside for bad signal, in episodes.csv. "
            "HR: heart rate up around the onset; move: during body movement; "
            "sound: a grinding sound; fb: feedback given."
        )
        for k, part in enumerate(textwrap.wrap(note, 130)):
            fig.text(0.06, 0.948 - 0.012 * k, part, fontsize=7)
        if page:
            _episode_table(fig, page)
        else:
            fig.text(0.06, 0.9, "No counted episodes in these nights.", fontsize=9)
        figures.append(fig)
    return figures


def _episode_table(fig: Figure, rows: Sequence[dict]) -> None:
    header = [
        "night",
        "start (clock)",
        "length s",
        "kind",
        "bursts",
        "peak\n%MVC",
        "work\n%MVC·s",
        "HR",
        "move",
        "position",
        "sound",
        "fb",
    ]
    cells = []
    for r in rows:
        start = dt.datetime.fromisoformat(r["start_clock"])
        cells.append(
            [
                r["night"][5:16],
                f"{start:%a %H:%M:%S}",
                f"{r['duration_s']:.1f}",
                r["kind"],
                str(r["bursts"]),
                _cell(r["peak_pct_mvc"], ".0f"),
                _cell(r["work_pct_mvc_s"], ".0f"),
                _yes_no(r["hr_confirmed"]),
                _yes_no(r["during_movement"]),
                r["position"] or "-",
                _yes_no(r["grinding_sound"]),
                str(r["feedback_given"]),
            ]
        )
    ax = fig.add_axes((0.04, 0.03, 0.92, 0.89))
    ax.axis("off")
    widths = [1.3, 1.3, 0.8, 0.8, 0.7, 0.8, 0.9, 0.6, 0.6, 0.9, 0.6, 0.5]
    table = ax.table(
        cellText=cells,
        colLabels=header,
        colWidths=[w / sum(widths) for w in widths],
        loc="upper center",
        cellLoc="center",
    )
    _style(table, 6.5)
    for (r, c), cell in table.get_celld().items():
        if r == 0:
            cell.set_height(cell.get_height() * 1.7)
        if r > 0 and c == 3:
            cell.get_text().set_color(KIND_HEX.get(cells[r - 1][3], "#000000"))


# ----------------------------------------------------------------------------- helpers
def _cell(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _style(table, size: float) -> None:
    table.auto_set_font_size(False)
    table.set_fontsize(size)
    for (r, _c), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if r == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#eeeeee")
