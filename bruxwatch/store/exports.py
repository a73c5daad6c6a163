"""Episode and night tables for the dentist: CSV rows and the JSON report.

Every number is read from ScoredNight (the analysis of the stored raw samples); this module
only lays the figures out. Clock times are local to the machine making the export, with the
UTC offset written into each timestamp.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bruxwatch import __version__
from bruxwatch.signal.comparison import GroupComparison, NightCounts, compare_nights
from bruxwatch.signal.indices import clusters
from bruxwatch.signal.movement import POSITIONS
from bruxwatch.store.clinician import clinician_summary, valid_hours
from bruxwatch.store.formats import ExportOptions
from bruxwatch.store.local_time import local
from bruxwatch.store.private import private_file, private_folder
from bruxwatch.store.scored import ScoredNight
from bruxwatch.store.trial import has_plan, night_phase, trial_summary

CONTEXT_COLUMNS = (
    "hr_confirmed",
    "hr_before_bpm",
    "hr_peak_bpm",
    "during_movement",
    "position",
    "asleep",
    "grinding_sound",
    "grinding_s",
    "confirmed",
)
"""An episode's confirmation (`EpisodeContext.to_dict`): empty for an artifact."""
NO_CONTEXT = dict.fromkeys(CONTEXT_COLUMNS)
EPISODE_COLUMNS = (
    "night",
    "start_clock",
    "start_s",
    "duration_s",
    "kind",
    "bursts",
    "peak_pct_mvc",
    "work_pct_mvc_s",
    "feedback_given",
    "feedback_withheld",
    "feedback_held_back",
    "artifact",
    *CONTEXT_COLUMNS,
)

DISCLAIMER = (
    "bruxwatch measures masseter EMG activity; it is not a diagnosis. Sleep bruxism is "
    "diagnosed by a clinician, ideally with polysomnography and audio-video."
)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def local_iso(night: ScoredNight, seconds: float) -> str:
    """The clock time `seconds` into the night, local with its offset (ISO 8601)."""
    return local(night.clock(seconds)).isoformat(timespec="seconds")


def episode_rows(nights: Sequence[ScoredNight]) -> list[dict]:
    """One row per scored episode (artifacts included and flagged), nights in order."""
    rows = []
    for night in nights:
        contexts = night.contexts()
        for e in night.analysis.episodes:
            given, withheld, held = night.feedback_in(e)
            context = contexts.get(e.start_index)
            rows.append(
                {
                    "night": night.label,
                    "start_clock": local_iso(night, e.start_s),
                    "start_s": round(e.start_s, 3),
                    "duration_s": round(e.duration_s, 3),
                    "kind": e.kind,
                    "bursts": e.bursts,
                    "peak_pct_mvc": _round(e.peak_pct_mvc, 1),
                    "work_pct_mvc_s": _round(e.area, 1) if e.peak_pct_mvc is not None else None,
                    "feedback_given": given,
                    "feedback_withheld": withheld,
                    "feedback_held_back": held,
                    "artifact": int(e.artifact),
                    **(context.to_dict() if context else NO_CONTEXT),
                }
            )
    return rows


def night_row(night: ScoredNight) -> dict:
    """The night's summary figures, flat (one CSV row, one JSON object)."""
    s = night.analysis.summary
    o = night.outcome_summary
    cal = night.analysis.calibration
    found = clusters(night.analysis.episodes)

    def rate(value: float, digits: int = 2) -> float | None:
        """A per-hour figure, or None (empty in CSV) below the night's minimum good hours."""
        return round(value, digits) if s.enough_signal else None

    return {
        "night": night.label,
        "file": night.path.name,
        "started_at": local_iso(night, 0.0),
        "mode": night.mode,
        "plan_phase": night_phase(night),
        "device": night.session.device,
        "channels": " ".join(night.session.info.channels),
        "status": night.session.status,
        "calibrated": s.calibrated,
        "rest": " ".join(f"{v:.2f}" for v in cal.rest) if cal else None,
        "mvc": " ".join(f"{v:.1f}" for v in cal.mvc) if cal else None,
        "calibration_units": cal.units if cal else None,  # the stream's: uV, or ADC counts
        "threshold": s.threshold,
        "calibration_note": s.calibration_note,
        "hours": round(s.hours, 3),
        "good_hours": round(s.good_hours, 3),
        "rates": "shown" if s.enough_signal else s.not_enough_text(),
        "bad_channels": " ".join(s.bad_channels),
        "flagged_hours": " ".join(f"{c.channel}={c.flagged_hours:.3f}" for c in s.channels),
        "gap_s": round(night.gap_s, 1),
        "episodes": s.episodes,
        "episodes_per_hour": rate(s.episodes_per_hour),
        "phasic": s.by_kind["phasic"],
        "tonic": s.by_kind["tonic"],
        "mixed": s.by_kind["mixed"],
        "phasic_per_hour": rate(s.per_hour_by_kind["phasic"]),
        "tonic_per_hour": rate(s.per_hour_by_kind["tonic"]),
        "mixed_per_hour": rate(s.per_hour_by_kind["mixed"]),
        "artifact_episodes": s.artifact_episodes,
        "bursts": s.bursts,
        "bursts_per_hour": rate(s.bursts_per_hour),
        "bursts_per_episode": round(s.bursts_per_episode, 2),
        "clench_seconds": round(s.clench_seconds, 1),
        "clench_pct": rate(s.clench_pct, 3),
        "work_index": rate(s.work_per_hour, 1) if cal else None,
        "valid_hours_by_channel": " ".join(f"{k}={v:.2f}" for k, v in valid_hours(night).items()),
        "clusters": found.clusters,
        "clustered_episodes": found.clustered_episodes,
        "mean_episode_s": round(s.mean_episode_s, 2),
        "withhold": night.withhold,
        "feedback_given": o.given,
        "feedback_withheld": sum(f.withheld for f in night.feedback),
        "feedback_held_back": o.held_back,
        "stopped_within_2s": o.stopped,
        "stopped_fraction": _round(o.stopped_fraction, 3),
        **confirmation_row(night),
    }


def confirmation_row(night: ScoredNight) -> dict:
    """The heart-rate, movement and sound figures of a night, flat (None where it had
    none of them)."""
    c = night.confirmation.summary if night.confirmation else None
    return {
        "hr_confirmed": c.hr_confirmed if c and c.has_heart_rate else None,
        "hr_confirmed_per_hour": c.hr_confirmed_per_hour if c and c.has_heart_rate else None,
        "hr_unknown": c.episodes - c.hr_known if c and c.has_heart_rate else None,
        "movement_flagged": c.movement_flagged if c and c.has_accelerometer else None,
        "confirmed": c.confirmed if c else None,
        "confirmed_per_hour": c.confirmed_per_hour if c else None,
        "mean_hr_bpm": c.mean_hr_bpm if c else None,
        "resting_hr_bpm": c.resting_hr_bpm if c else None,
        "sleep_hours": c.sleep_hours if c else None,
        "episodes_per_sleep_hour": c.episodes_per_sleep_hour if c else None,
        "grinding_sounds": c.grinding_sounds if c and c.has_sound else None,
        **{
            f"{p}_hours": c.hours_by_position.get(p) if c and c.has_accelerometer else None
            for p in POSITIONS
        },
        **{
            f"{p}_per_hour": c.per_hour_by_position.get(p) if c and c.has_accelerometer else None
            for p in POSITIONS
        },
    }


def comparison(nights: Sequence[ScoredNight]) -> GroupComparison:
    """Baseline vs feedback nights, pooled; a group needs the nights' minimum of good hours."""
    return compare_nights(
        [
            NightCounts(n.mode, n.analysis.summary.episodes, n.analysis.summary.good_hours)
            for n in nights
        ],
        min_hours=max((n.analysis.summary.min_good_hours for n in nights), default=0.0),
    )


def comparison_text(nights: Sequence[ScoredNight], found: dict | None = None) -> list[str]:
    """The baseline-vs-feedback comparison in sentences, with its caveats: the same words in
    the PDF, the terminal and the JSON (`comparison.text`). found: `evidence(nights)`, if
    already computed (its intervals are bootstrapped)."""
    c = comparison(nights)
    nightly = (found or evidence(nights))["night_effect"]
    lines = [
        _group_text("baseline", c.baseline_nights, c.baseline_per_hour, c.baseline_hours),
        _group_text("feedback", c.feedback_nights, c.feedback_per_hour, c.feedback_hours),
    ]
    if c.comparable:
        pct = f" ({c.change_pct:+.0f} %)" if c.change_pct is not None else ""
        lines.append(f"change with feedback: {c.change_per_hour:+.1f} episodes/h{pct}")
        if nightly["enough"]:
            d = nightly["difference"]
            lines.append(
                f"nightly means {d['estimate']:+.1f}/h, 95 % CI {d['low']:+.1f} to {d['high']:+.1f}"
            )
        else:
            lines.append("(an interval needs 2+ nights of each kind)")
        lines.append(COMPARISON_CAVEAT)
    elif c.baseline_nights and c.feedback_nights:
        lines.append("Needs more good signal in each kind of night.")
    else:
        lines.append(
            "Needs at least one night of each kind: record with --mode baseline for a few nights."
        )
    return lines


COMPARISON_CAVEAT = "Nights differ for many reasons: the per-clench test is the fairer one."


def _group_text(mode: str, count: int, rate: float | None, hours: float) -> str:
    if not count:
        return f"{mode}: no nights"
    figure = f"{rate:.1f} episodes/h" if rate is not None else "not enough good signal"
    return f"{mode}: {figure} ({count} night{'s' if count != 1 else ''}, {hours:.1f} h)"


def short_sessions(nights: Sequence[ScoredNight]) -> tuple[list, list]:
    """(nights, short sessions): a session recorded for less than its settings'
    `min_night_hours` is not a night (a screenshot's seconds, a test at the desk); a report
    lists it apart and counts it in nothing."""
    whole: list[ScoredNight] = []
    short: list[ScoredNight] = []
    for n in nights:
        is_night = n.analysis.summary.hours >= n.config.quality.min_night_hours
        (whole if is_night else short).append(n)
    return whole, short


def short_text(short: Sequence[ScoredNight]) -> str:
    """One line naming the short sessions a report left out."""
    need = max(n.config.quality.min_night_hours for n in short)
    listed = ", ".join(
        f"{n.label} ({n.analysis.summary.hours:.2f} h, {n.analysis.summary.episodes} episodes)"
        for n in short
    )
    return f"left out, shorter than {need:g} h (not nights): {listed}"


def evidence(nights: Sequence[ScoredNight]) -> dict:
    """ "Does feedback help?": the micro-randomized estimate pooled over the nights recorded
    with --withhold, and the baseline-vs-feedback nights comparison with its interval."""
    from bruxwatch.signal.evidence import feedback_effect, night_effect

    randomized = [o for n in nights for o in n.randomized_outcomes()]
    rated = [n for n in nights if n.analysis.summary.enough_signal]  # nights with a rate
    base = [n.analysis.summary.episodes_per_hour for n in rated if n.mode == "baseline"]
    fb = [n.analysis.summary.episodes_per_hour for n in rated if n.mode == "feedback"]
    return {
        "randomized_nights": sum(1 for n in nights if n.randomized_outcomes()),
        "feedback_effect": feedback_effect(randomized).to_dict(),
        "night_effect": night_effect(base, fb).to_dict(),
    }


def report_dict(
    nights: Sequence[ScoredNight],
    patient: str | None = None,
    short: Sequence[ScoredNight] = (),
) -> dict:
    """The machine-readable report: every night's figures, the baseline/feedback comparison,
    the hourly counts, the scoring rules and the short sessions left out."""
    from bruxwatch.signal.config import SignalConfig

    rules = nights[0].config if nights else SignalConfig()
    found = evidence(nights)
    return {
        "software": f"bruxwatch {__version__}",
        "patient": patient,
        "nights": [
            {**night_row(n), "hourly_episodes": n.analysis.summary.hourly_episodes} for n in nights
        ],
        "comparison": {**comparison(nights).to_dict(), "text": comparison_text(nights, found)},
        "evidence": found,
        "clinician": clinician_summary(nights),
        "plan": trial_summary(nights) if has_plan(nights) else None,
        "scoring": scoring_rules(rules),
        "scoring_differs": [
            n.label for n in nights if scoring_rules(n.config) != scoring_rules(rules)
        ],
        "short_sessions": [
            {
                "night": n.label,
                "file": n.path.name,
                "hours": round(n.analysis.summary.hours, 3),
                "episodes": n.analysis.summary.episodes,
            }
            for n in short
        ],
        "note": DISCLAIMER,
    }


def scoring_rules(config) -> dict:
    """The detection and scoring settings `config` describes, as printed on the report (of
    the first night; `scoring_differs` names the nights scored with other ones)."""
    d, t, f, e = config.detector, config.threshold, config.filter, config.envelope
    return {
        "band_pass_hz": list(f.band_hz),
        "mains_notch": _mains_text(config.filter),
        "envelope_rms_window_s": e.rms_window_s,
        "threshold": f"rest + {t.mvc_fraction:.0%} of (MVC - rest), at least "
        f"{t.min_rest_multiple:g} x rest; uncalibrated: {t.adaptive_factor:g} x the "
        f"{t.background_percentile:g}th percentile of the last {t.background_window_s:g} s",
        "burst_min_s": d.min_burst_s,
        "burst_merge_gap_s": d.merge_gap_s,
        "tonic_burst_min_s": d.tonic_min_s,
        "phasic_episode_min_bursts": d.min_phasic_bursts,
        "episode_gap_s": d.episode_gap_s,
        "bad_signal_block_s": config.quality.block_s,
    }


def _mains_text(f) -> str:
    if f.mains_hz is None:
        return "off"
    which = "found from the signal" if f.mains_hz == "auto" else f"{f.mains_hz:g} Hz"
    harmonics = (
        "and each harmonic present" if f.notch_harmonics == "auto" else f"{f.notch_harmonics} lines"
    )
    return f"{which}, {harmonics}"


def write_rows(path: Path, rows: Sequence[dict], columns: Sequence[str] | None = None) -> None:
    """Write dict rows as CSV (None as an empty cell)."""
    columns = list(columns or (rows[0].keys() if rows else []))
    with private_file(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})


def write_report_csv(folder: Path, nights: Sequence[ScoredNight]) -> list[Path]:
    """episodes.csv (one row per episode) and nights.csv (one row per night) in `folder`."""
    private_folder(folder)
    episodes, per_night = folder / "episodes.csv", folder / "nights.csv"
    write_rows(episodes, episode_rows(nights), EPISODE_COLUMNS)
    write_rows(per_night, [night_row(n) for n in nights])
    return [episodes, per_night]


def write_samples_csv(recording, path: Path) -> int:
    """The raw samples as CSV: `time_s` (from the recording's start; gaps show as jumps) and
    one column per channel in the recording's units. Returns the rows written."""
    channels = recording.info.channels
    fs = recording.info.fs
    row = "%.4f," + ",".join(["%.3f"] * len(channels)) + "\n"
    rows = 0
    with private_file(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(("time_s", *channels)) + "\n")
        for chunk in recording.chunks(max_samples=50_000):
            t = np.arange(chunk.first_index, chunk.end_index) / fs
            block = np.column_stack((t, chunk.samples.T))
            out.write((row * block.shape[0]) % tuple(block.ravel().tolist()))
            rows += block.shape[0]
    return rows


def write_samples(recording, path: Path, options: ExportOptions) -> str:
    """`export --csv`: the raw samples (write_samples_csv)."""
    return f"{path} ({write_samples_csv(recording, path)} samples)"


def write_report_folder(nights: Sequence[ScoredNight], folder: Path, options: ExportOptions) -> str:
    """`report --csv`: episodes.csv and nights.csv in `folder` (write_report_csv)."""
    return ", ".join(map(str, write_report_csv(folder, nights)))
