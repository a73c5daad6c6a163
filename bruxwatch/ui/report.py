"""The PDF report for the dentist (matplotlib, no Qt): how much this person clenches, and
whether biofeedback nights differ from baseline nights.

Page 1, the summary: header (who, when, device), the key figures, episodes per hour (stacked
by kind for one night, a trend across nights for several), every night's timeline on the
clock, a table of nights, the baseline-versus-feedback comparison, and the scoring rules with
the plain statement that this is a measurement, not a diagnosis. Page 2, for the clinician:
the research reference marks, the indices night by night, clusters, variability and a typical
trace of each episode kind (`report_clinician`). Then the list of episodes. All figures come
from `ScoredNight`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bruxwatch import __version__
from bruxwatch.signal.confirmation import MIN_RATE_HOURS
from bruxwatch.signal.movement import POSITIONS
from bruxwatch.store.exports import DISCLAIMER, evidence, scoring_rules
from bruxwatch.store.formats import ExportOptions
from bruxwatch.store.local_time import evening_of, offset_text, stamp
from bruxwatch.store.private import private_file
from bruxwatch.store.scored import ScoredNight
from bruxwatch.stream import units_text
from bruxwatch.ui.colours import KIND_HEX
from bruxwatch.ui.report_panels import (
    MAX_TABLE_ROWS,
    ROWS_BESIDE_BODY,
    comparison_box,
    evidence_box,
    nights_table,
    rates_chart,
    timeline,
)

A4 = (8.27, 11.69)


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
    units = units_text(cal.units)
    return f"yes: rest {rest} {units}, maximal clench {mvc} {units} ({level})"


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def render_report(
    nights: Sequence[ScoredNight],
    path: str | Path,
    patient: str | None = None,
    short: Sequence[ScoredNight] = (),
) -> Path:
    """Write the PDF report of `nights` (in recording order) to `path`; `short`: sessions
    too short to be nights, named apart (`exports.short_sessions`)."""
    from matplotlib.backends.backend_pdf import PdfPages

    path = Path(path)
    pages = report_pages(nights, patient, short)
    document = io.BytesIO()  # made in memory: a full disk fails one plain write, not the PDF
    with PdfPages(document, metadata={"Title": "bruxwatch report", "Creator": "bruxwatch"}) as pdf:
        for fig in pages:
            pdf.savefig(fig)
    with private_file(path, "wb") as out:
        out.write(document.getvalue())
    return path


def report_pages(
    nights: Sequence[ScoredNight],
    patient: str | None = None,
    short: Sequence[ScoredNight] = (),
) -> list[Figure]:
    """Every page of the report: the summary, the clinician's page, the trial plan's page
    (nights recorded under a plan), the episode list."""
    from bruxwatch.store.trial import has_plan
    from bruxwatch.ui.report_clinician import clinician_figure, episode_list_figures
    from bruxwatch.ui.report_plan import plan_figure

    return [
        report_figure(nights, patient, short),
        clinician_figure(nights, patient),
        *([plan_figure(nights)] if has_plan(nights) else []),
        *episode_list_figures(nights),
    ]


def write_pdf(nights: Sequence[ScoredNight], path: Path, options: ExportOptions) -> str:
    """`report --pdf` (render_report)."""
    return str(render_report(nights, path, patient=options.patient, short=options.short))


def report_figure(
    nights: Sequence[ScoredNight],
    patient: str | None = None,
    short: Sequence[ScoredNight] = (),
) -> Figure:
    """The report's first page as a matplotlib Figure (A4), e.g. to look at it as a PNG."""
    if not nights:
        raise ValueError("no nights to report")
    fig = Figure(figsize=A4)
    _header(fig, nights, patient, short)
    _key_figures(fig, nights)
    rates_chart(fig, nights)
    found = evidence(nights)  # bootstrap intervals: computed once for both boxes
    comparison_box(fig, nights, found)
    evidence_box(fig, found["feedback_effect"])
    timeline(fig, nights)
    body = any(n.confirmation and n.confirmation.summary.has_data for n in nights)
    nights_table(fig, nights, ROWS_BESIDE_BODY if body else MAX_TABLE_ROWS)
    if body:
        _body_block(fig, nights)
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
    kinds = {k: sum(s.by_kind[k] for s in summaries) for k in KIND_HEX}
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
                for k in KIND_HEX
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


def _body_block(fig: Figure, nights: Sequence[ScoredNight]) -> None:
    """Under the nights' table: what the heart rate and the accelerometer say."""
    summaries = [n.analysis.summary for n in nights]
    good = sum(s.good_hours for s in summaries)
    rated = good > 0 and good >= max(s.min_good_hours for s in summaries)
    heard = any(n.confirmation and n.confirmation.summary.has_sound for n in nights)
    title = (
        "Heart rate, movement, position and sound" if heard else "Heart rate, movement and position"
    )
    fig.text(0.06, 0.178, title, fontsize=9, weight="bold")
    lines = _body_lines(nights, (lambda count: f"{count / good:.1f}") if rated else None)
    for k, line in enumerate(lines):
        fig.text(0.06, 0.163 - 0.0135 * k, line, fontsize=7.5)


def _body_lines(nights: Sequence[ScoredNight], per_hour) -> list[str]:
    """HR confirmation, movement and position over the nights (signal.confirmation), or
    why there are none; per_hour: count -> rate text (None: no rates)."""
    found = [n.confirmation.summary for n in nights if n.confirmation is not None]
    hearts = [c for c in found if c.has_heart_rate]
    bodies = [c for c in found if c.has_accelerometer]
    lines = []
    if hearts:
        confirmed = sum(c.hr_confirmed for c in hearts)
        unknown = sum(c.episodes - c.hr_known for c in hearts)
        total = sum(c.episodes for c in hearts)
        resting = [c.resting_hr_bpm for c in hearts if c.resting_hr_bpm is not None]
        lines.append(
            f"Heart: {confirmed} of {total} episodes HR-confirmed (heart rate up 20 % around "
            f"the onset), {unknown} with too few beats to tell"
            + (f"; resting heart rate {np.median(resting):.0f} bpm" if resting else "")
        )
    if bodies:
        hours = {p: sum(c.hours_by_position.get(p, 0.0) for c in bodies) for p in POSITIONS}
        count = {p: sum(c.episodes_by_position.get(p, 0) for c in bodies) for p in POSITIONS}
        held = [
            f"{p} {hours[p]:.1f} h"
            + (f" ({count[p] / hours[p]:.1f}/h)" if per_hour and hours[p] >= MIN_RATE_HOURS else "")
            for p in POSITIONS
            if hours[p] >= 0.05
        ]
        moved = sum(c.movement_flagged for c in bodies)
        sleep = sum(c.sleep_hours or 0.0 for c in bodies)
        lines.append(f"Position: {', '.join(held) or 'none held'}")
        lines.append(
            f"Movement: {moved} episode{'s' if moved != 1 else ''} during body movement (may be "
            f"the movement's, not clenching); estimated sleep {sleep:.1f} h (actigraphy)"
        )
    heard = [c for c in found if c.has_sound]
    if heard:
        grinding = [c.grinding_sounds for c in heard]
        meeting = sum(g >= 2 for g in grinding)
        lines.append(
            f"Sound: {sum(grinding)} of {sum(c.episodes for c in heard)} episodes with a "
            f"grinding sound; {meeting} of {len(heard)} night{'s' if len(heard) != 1 else ''}"
            " with at least 2 (what the research criteria for sleep bruxism ask for)"
        )
    confirmed = sum(c.confirmed for c in found)
    rate = f" = {per_hour(confirmed)} per hour" if per_hour is not None else ""
    lines.append(
        f"Confirmed (not during movement, and HR-confirmed where the heart rate is known): "
        f"{confirmed}{rate}"
    )
    return lines


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
