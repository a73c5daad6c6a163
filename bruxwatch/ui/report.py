"""The one-page PDF for the dentist (matplotlib, no Qt): how much this person clenches, and
whether biofeedback nights differ from baseline nights.

Layout of the A4 page: header (who, when, device), the key figures, episodes per hour (stacked
by kind for one night, a trend across nights for several), every night's timeline, a table of
nights, the baseline-versus-feedback comparison, and the scoring rules with the plain statement
that this is a measurement, not a diagnosis. All figures come from `ScoredNight`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bruxwatch import __version__
from bruxwatch.store.exports import DISCLAIMER, comparison_text, evidence, scoring_rules
from bruxwatch.store.formats import ExportOptions
from bruxwatch.store.local_time import evening_of, offset_text, stamp
from bruxwatch.store.private import private_file
from bruxwatch.store.scored import ScoredNight

KIND_COLOURS = {"phasic": "#4285f4", "tonic": "#db4437", "mixed": "#f4a000"}
MODE_COLOURS = {"baseline": "#7f7f7f", "feedback": "#0f9d58"}
A4 = (8.27, 11.69)
MAX_TABLE_ROWS = 10
MAX_TIMELINE_ROWS = 14


def _fmt(value: float | None, spec: str = ".1f", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def _calibration_text(nights: Sequence[ScoredNight], calibrated: int) -> str:
    cal = nights[0].analysis.calibration
    if len(nights) > 1:
        return f"{calibrated} of {len(nights)} nights (rest + maximal clench)"
    if cal is None:
        return "no: levels relative to the night's own background"
    rest = " / ".join(f"{v:.1f}" for v in cal.rest)
    mvc = " / ".join(f"{v:.0f}" for v in cal.mvc)
    level = "RMS" if cal.units == "uV" else "envelope"
    return f"yes: rest {rest} {cal.units}, maximal clench {mvc} {cal.units} ({level})"


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def render_report(
    nights: Sequence[ScoredNight],
    path: str | Path,
    patient: str | None = None,
    short: Sequence[ScoredNight] = (),
) -> Path:
    """Write the one-page PDF report of `nights` (in recording order) to `path`; `short`:
    sessions too short to be nights, named apart (`exports.short_sessions`)."""
    path = Path(path)
    fig = report_figure(nights, patient, short)
    page = io.BytesIO()  # made in memory: a full disk fails one plain write, not the PDF writer
    fig.savefig(page, format="pdf", metadata={"Title": "bruxwatch report", "Creator": "bruxwatch"})
    with private_file(path, "wb") as out:
        out.write(page.getvalue())
    return path


def write_pdf(nights: Sequence[ScoredNight], path: Path, options: ExportOptions) -> str:
    """`report --pdf` (render_report)."""
    return str(render_report(nights, path, patient=options.patient, short=options.short))


def report_figure(
    nights: Sequence[ScoredNight],
    patient: str | None = None,
    short: Sequence[ScoredNight] = (),
) -> Figure:
    """The report page as a matplotlib Figure (A4), e.g. to look at it as a PNG."""
    if not nights:
        raise ValueError("no nights to report")
    fig = Figure(figsize=A4)
    _header(fig, nights, patient, short)
    _key_figures(fig, nights)
    _rates_chart(fig, nights)
    found = evidence(nights)  # bootstrap intervals: computed once for both boxes
    _comparison_box(fig, nights, found)
    _evidence_box(fig, found["feedback_effect"])
    _timeline(fig, nights)
    _nights_table(fig, nights)
    _footer(fig, nights)
    return fig


# ------------------------------------------------------------------------------- parts
def _header(
    fig: Figure, nights: Sequence[ScoredNight], patient: str | None, short: Sequence[ScoredNight]
) -> None:
    first, last = evening_of(nights[0].started_at), evening_of(nights[-1].started_at)
    span = f"{first:%d %b %Y}" if len(nights) == 1 else f"{first:%d %b} - {last:%d %b %Y}"
    devices = sorted({n.session.device.split(" (")[0] for n in nights})
    channels = sorted({", ".join(n.session.info.channels) for n in nights})
    fig.text(0.06, 0.965, "Jaw-clenching EMG report", fontsize=17, weight="bold")
    who = f"{patient}  ·  " if patient else ""
    plural = "s" if len(nights) > 1 else ""
    fig.text(0.06, 0.947, f"{who}{len(nights)} night{plural}, {span}", fontsize=9.5)
    fig.text(
        0.06,
        0.932,
        f"device: {', '.join(devices)}  ·  channels: {'; '.join(channels)}  ·  nights dated by "
        f"the evening they began, clock times local (UTC{offset_text(nights[0].started_at)})",
        fontsize=7.5,
        color="#444444",
    )
    if short:
        need = max(n.config.quality.min_night_hours for n in short)
        dates = ", ".join(f"{evening_of(n.started_at):%d %b}" for n in short[:6])
        fig.text(
            0.06,
            0.920,
            f"left out: {len(short)} session{'s' if len(short) > 1 else ''} shorter than "
            f"{need:g} h, not nights ({dates}{' ...' if len(short) > 6 else ''})",
            fontsize=7,
            color="#444444",
        )


def _key_figures(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    summaries = [n.analysis.summary for n in nights]
    hours = sum(s.hours for s in summaries)
    good = sum(s.good_hours for s in summaries)
    episodes = sum(s.episodes for s in summaries)
    kinds = {k: sum(s.by_kind[k] for s in summaries) for k in KIND_COLOURS}
    bursts = sum(s.bursts for s in summaries)
    clench = sum(s.clench_seconds for s in summaries)
    counted_eps = [e for n in nights for e in n.analysis.episodes if not e.artifact]
    mean_ep = np.mean([e.duration_s for e in counted_eps]) if counted_eps else 0.0
    # bursts per episode: the bursts inside the counted episodes, per episode (as in the CSV)
    per_episode = sum(e.bursts for e in counted_eps) / len(counted_eps) if counted_eps else 0.0
    given = sum(n.outcome_summary.given for n in nights)
    known = sum(n.outcome_summary.with_outcome for n in nights)
    stopped = sum(n.outcome_summary.stopped for n in nights)
    calibrated = sum(s.calibrated for s in summaries)

    need = max(s.min_good_hours for s in summaries)
    rated = good > 0 and good >= need

    def per_hour(count: float) -> str:
        return f"{count / good:.1f}" if rated else "-"

    left = [
        ("Recorded", f"{hours:.1f} h ({good:.1f} h good signal)"),
        ("Calibrated", _calibration_text(nights, calibrated)),
        ("Episodes", f"{episodes}  =  {per_hour(episodes)} per hour" if rated else f"{episodes}"),
        (
            "  by kind",
            "  ".join(
                f"{k} {kinds[k]}" + (f" ({per_hour(kinds[k])}/h)" if rated else "")
                for k in KIND_COLOURS
            ),
        ),
        (
            "Bursts",
            f"{bursts}  =  {per_hour(bursts)} per hour, {per_episode:.1f} per episode"
            if rated
            else f"{bursts}  ({per_episode:.1f} per episode)",
        ),
        ("Signal", _quality_text(nights, good, need)),
    ]
    right = [
        (
            "Clenching",
            f"{_duration(clench)} in total"
            + (f", {clench / good / 36:.2f} % of the good-signal time" if rated else ""),
        ),
        ("Mean episode", f"{mean_ep:.1f} s"),
        (
            "Feedback",
            f"{given} given"
            + (
                f"; the clench stopped within 2 s {stopped} times ({100 * stopped / known:.0f} %)"
                if known
                else ""
            ),
        ),
    ]
    y = 0.905
    for label, value in left:
        fig.text(0.06, y, label, fontsize=8.5, weight="bold")
        fig.text(0.17, y, value, fontsize=8.5)
        y -= 0.017
    y = 0.905
    for label, value in right:
        fig.text(0.60, y, label, fontsize=8.5, weight="bold")
        fig.text(0.60, y - 0.013, value, fontsize=7.5, wrap=True)
        y -= 0.029


def _quality_text(nights: Sequence[ScoredNight], good: float, need: float) -> str:
    """Why rates are missing, and which channels were bad on which night."""
    parts = []
    if good < need:
        parts.append(f"not enough good signal for rates ({good:.1f} h of {need:g} h)")
    short = sum(not n.analysis.summary.enough_signal for n in nights)
    if short and good >= need:
        parts.append(f"{short} night(s) under {need:g} h of good signal: no rates (-)")
    bad = [
        (f"{evening_of(n.started_at):%d %b} " if len(nights) > 1 else "")
        + ", ".join(n.analysis.summary.bad_channels)
        for n in nights
        if n.analysis.summary.bad_channels
    ]
    doubtful = [
        f"{evening_of(n.started_at):%d %b}" for n in nights if n.analysis.summary.calibration_note
    ]
    if doubtful:
        parts.append("calibration doubtful (rest floor moved; recalibrate): " + ", ".join(doubtful))
    if bad:
        parts.append(
            "bad channel (left out): " + "; ".join(bad[:4]) + (" ..." if len(bad) > 4 else "")
        )
    return "; ".join(parts) or "good on every channel scored"


def _rates_chart(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    ax = fig.add_axes((0.08, 0.615, 0.50, 0.16))
    if len(nights) == 1:
        s = nights[0].analysis.summary
        hourly = {k: np.zeros(len(s.hourly_episodes)) for k in KIND_COLOURS}
        for e in nights[0].analysis.episodes:
            if not e.artifact:
                hour = min(int(e.start_s // 3600), len(s.hourly_episodes) - 1)
                hourly[e.kind][hour] += 1
        bottom = np.zeros(len(s.hourly_episodes))
        x = np.arange(bottom.size)
        for kind, colour in KIND_COLOURS.items():
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
        colours = [MODE_COLOURS.get(n.mode, "#4285f4") for n in nights]
        ax.plot(x, rates, color="#999999", linewidth=1, zorder=1)
        ax.scatter(x, rates, c=colours, s=28, zorder=2)
        for mode, colour in MODE_COLOURS.items():
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


def _comparison_box(fig: Figure, nights: Sequence[ScoredNight], found: dict) -> None:
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


def _evidence_box(fig: Figure, effect: dict) -> None:
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


def _timeline(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    shown = list(nights[-MAX_TIMELINE_ROWS:])
    height = min(0.19, 0.06 + 0.03 * len(shown))
    ax = fig.add_axes((0.22, 0.545 - height, 0.72, height))
    longest = max(n.analysis.n_samples / n.analysis.fs / 3600 for n in shown)
    for row, night in enumerate(shown):
        y = len(shown) - 1 - row
        hours = night.analysis.n_samples / night.analysis.fs / 3600
        ax.add_patch(_rect(0, y - 0.3, hours, 0.6, "#f2f2f2"))
        for a, b in night.analysis.bad_intervals:
            fs = night.analysis.fs
            ax.add_patch(_rect(a / fs / 3600, y - 0.3, (b - a) / fs / 3600, 0.6, "#bdbdbd"))
        for e in night.analysis.episodes:
            if e.artifact:
                continue
            width = max(e.duration_s / 3600, longest / 600)
            ax.add_patch(_rect(e.start_s / 3600, y - 0.28, width, 0.56, KIND_COLOURS[e.kind]))
        given = [o.at_s / 3600 for o in night.outcomes if o.fired]
        if given:
            ax.plot(given, [y - 0.42] * len(given), "|", color="black", markersize=3)
    ax.set_xlim(0, max(longest, 0.1))
    ax.set_ylim(-0.6, len(shown) - 0.4)
    ax.set_yticks(
        range(len(shown)),
        [f"{n.started_at.astimezone():%a %d %b %H:%M}  {n.mode}" for n in reversed(shown)],
        fontsize=6.5 if len(shown) > 7 else 7.5,
    )
    ax.set_xlabel("hours since the recording started", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    title = "Each night: episodes by kind, feedback given (|), bad signal grey"
    if len(nights) > len(shown):
        title += f" (last {len(shown)} of {len(nights)} nights)"
    ax.set_title(title, fontsize=9, loc="left", pad=14)
    ax.spines[["top", "right", "left"]].set_visible(False)
    for kind, colour in KIND_COLOURS.items():
        ax.add_patch(_rect(0, -9, 0, 0, colour)).set_label(kind)
    ax.legend(fontsize=7, frameon=False, ncols=3, loc="lower right", bbox_to_anchor=(1, 1))


def _rect(x: float, y: float, w: float, h: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="none")


def _nights_table(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    shown = list(nights[-MAX_TABLE_ROWS:])
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
        ax.set_title(f"last {len(shown)} of {len(nights)} nights; all in nights.csv", fontsize=7)


def _footer(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    """The scoring rules, from the settings the nights were scored with."""
    config = nights[0].config
    r = scoring_rules(config)
    others = [n for n in nights if scoring_rules(n.config) != r]
    rules = (
        f"Scoring: masseter EMG band-pass {r['band_pass_hz'][0]:g}-{r['band_pass_hz'][1]:g} Hz "
        f"(upper edge at most 0.45 x sample rate), notches at the mains frequency and its "
        f"harmonics found in the signal, heartbeats (ECG) subtracted, RMS envelope over "
        f"{r['envelope_rms_window_s']:g} s. Threshold: {r['threshold']}. Burst: above threshold "
        f"for at least {r['burst_min_s']:g} s (phasic) or {r['tonic_burst_min_s']:g} s (tonic). "
        f"Episode: bursts less than {r['episode_gap_s']:g} s apart; phasic = at least "
        f"{r['phasic_episode_min_bursts']} phasic bursts, tonic = a tonic burst, mixed = both. "
        "Per-hour figures use the hours with good signal, and need at least "
        f"{config.quality.min_good_hours:g} h of it; episodes during bad signal "
        "(electrode off, clipping, mains interference) are not counted; a channel with bad "
        "signal is left out while another is good. 'Stopped' = the clench "
        "ended within 2 s of the feedback."
    )
    if others:
        rules += (
            f" {len(others)} of the {len(nights)} nights were scored with other settings"
            " (their threshold is in nights.csv)."
        )
    fig.text(0.06, 0.085, rules, fontsize=6.5, wrap=True, va="top", color="#333333")
    fig.text(0.06, 0.03, DISCLAIMER, fontsize=7.5, weight="bold", wrap=True, va="top")
    fig.text(
        0.94,
        0.008,
        f"bruxwatch {__version__}, made {stamp(dt.datetime.now(dt.UTC))}",
        fontsize=6,
        ha="right",
        color="#777777",
    )
