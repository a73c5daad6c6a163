"""The clinician's figures of scored nights, in one place for the PDF page, the JSON, the CSV
and the terminal: valid recording time per channel, the time and work indices, clusters, the
research reference marks and the night-to-night variability (`signal.indices`).
"""

from __future__ import annotations

from collections.abc import Sequence

from bruxwatch.signal.indices import (
    MARKS_CAVEAT,
    REFERENCE_MARKS,
    against_marks,
    clusters,
    variability,
)
from bruxwatch.store.local_time import local
from bruxwatch.store.scored import ScoredNight
from bruxwatch.store.trial import night_phase


def calibrated(night: ScoredNight) -> bool:
    """Levels in % MVC: the work index means something only then."""
    return night.analysis.calibration is not None


def valid_hours(night: ScoredNight) -> dict[str, float]:
    """Hours of usable signal on each scored channel: recorded hours (gaps and the
    calibration left out) less the hours that channel was flagged."""
    s = night.analysis.summary
    return {c.channel: max(0.0, s.hours - c.flagged_hours) for c in s.channels}


def clock_span(night: ScoredNight) -> tuple[str, str]:
    """Local clock times of the recording's first and last sample, HH:MM."""
    end_s = night.analysis.n_samples / night.analysis.fs
    return f"{local(night.clock(0.0)):%H:%M}", f"{local(night.clock(end_s)):%H:%M}"


def night_indices(night: ScoredNight) -> dict:
    """One night's clinician figures (rates None when the night has too little good signal,
    the work index None when it is not calibrated)."""
    s = night.analysis.summary
    rated = s.enough_signal
    start, end = clock_span(night)
    marks = against_marks(s)
    return {
        "night": night.label,
        "mode": night.mode,
        "phase": night_phase(night) or night.mode,
        "clock": f"{start}-{end}",
        "recorded_hours": round(s.hours, 2),
        "valid_hours": round(s.good_hours, 2),
        "valid_hours_by_channel": {k: round(v, 2) for k, v in valid_hours(night).items()},
        "time_index_pct": round(s.clench_pct, 3) if rated else None,
        "work_index": round(s.work_per_hour, 1) if rated and calibrated(night) else None,
        "clusters": clusters(night.analysis.episodes).to_dict(),
        "marks": {r.mark.index: None if r.value is None else round(r.value, 2) for r in marks},
        "above_marks": [r.mark.index for r in marks if r.above],
    }


def pooled_marks(nights: Sequence[ScoredNight]) -> dict[str, float | None]:
    """The three research indices over the nights together: the rates over the rated
    nights' summed good hours, bursts per episode over every night's episodes."""
    summaries = [n.analysis.summary for n in nights]
    rated = [s for s in summaries if s.enough_signal]
    hours = sum(s.good_hours for s in rated)
    episodes = sum(s.episodes for s in summaries)
    in_episodes = sum(s.bursts_per_episode * s.episodes for s in summaries)
    return {
        "episodes_per_hour": sum(s.episodes for s in rated) / hours if hours > 0 else None,
        "bursts_per_hour": sum(s.bursts for s in rated) / hours if hours > 0 else None,
        "bursts_per_episode": in_episodes / episodes if episodes else None,
    }


def clinician_summary(nights: Sequence[ScoredNight]) -> dict:
    """The period's clinician figures: per night, pooled against the marks, how many nights
    were above each mark, and the night-to-night variability of each index."""
    per_night = [night_indices(n) for n in nights]
    pooled = pooled_marks(nights)
    found = [c["clusters"] for c in per_night]
    episodes = sum(c["episodes"] for c in found)
    clustered = sum(c["clustered_episodes"] for c in found)
    return {
        "valid_hours": round(sum(n.analysis.summary.good_hours for n in nights), 2),
        "recorded_hours": round(sum(n.analysis.summary.hours for n in nights), 2),
        "marks": [
            {
                "index": m.index,
                "label": m.label,
                "above": m.above,
                "pooled": None if pooled[m.index] is None else round(pooled[m.index], 2),
                "nights_above": sum(m.index in c["above_marks"] for c in per_night),
                "nights_rated": sum(c["marks"][m.index] is not None for c in per_night),
            }
            for m in REFERENCE_MARKS
        ],
        "marks_caveat": MARKS_CAVEAT,
        "clusters": {
            "episodes": episodes,
            "clusters": sum(c["clusters"] for c in found),
            "clustered_episodes": clustered,
            "clustered_share": round(clustered / episodes, 3) if episodes else None,
        },
        "variability": {
            "episodes_per_hour": variability(
                [c["marks"]["episodes_per_hour"] for c in per_night]
            ).to_dict(),
            "bursts_per_hour": variability(
                [c["marks"]["bursts_per_hour"] for c in per_night]
            ).to_dict(),
            "time_index_pct": variability([c["time_index_pct"] for c in per_night]).to_dict(),
            "work_index": variability([c["work_index"] for c in per_night]).to_dict(),
        },
        "nights": per_night,
    }


def clinician_lines(nights: Sequence[ScoredNight], summary: dict | None = None) -> list[str]:
    """The clinician's figures in sentences: the terminal's block, the PDF page's text.
    summary: `clinician_summary(nights)`, if already made."""
    c = summary or clinician_summary(nights)
    lines = [f"Valid recording time: {c['valid_hours']:.1f} h of {c['recorded_hours']:.1f} h"]
    for m in c["marks"]:
        pooled = "-" if m["pooled"] is None else f"{m['pooled']:.1f}"
        lines.append(
            f"{m['label']}: {pooled} (reference mark > {m['above']:g}); above it on "
            f"{m['nights_above']} of {m['nights_rated']} nights"
        )
    k = c["clusters"]
    share = "" if k["clustered_share"] is None else f" ({100 * k['clustered_share']:.0f} %)"
    lines.append(
        f"Clusters (episodes less than 100 s apart): {k['clusters']}, holding "
        f"{k['clustered_episodes']} of {k['episodes']} episodes{share}"
    )
    v = c["variability"]
    lines.append(
        "Night to night, episodes/h: "
        + _spread(v["episodes_per_hour"])
        + "; work index: "
        + _spread(v["work_index"], unit=" %MVC·s/h", digits=0)
    )
    lines.append(MARKS_CAVEAT)
    return lines


def _spread(v: dict, unit: str = "", digits: int = 1) -> str:
    if v["mean"] is None:
        return "-"
    if v["sd"] is None:
        return f"{v['mean']:.{digits}f}{unit} (1 night)"
    cv = f", CV {v['cv_pct']:.0f} %" if v["cv_pct"] is not None else ""
    return (
        f"mean {v['mean']:.{digits}f}{unit}, SD {v['sd']:.{digits}f}{cv}, range "
        f"{v['low']:.{digits}f}-{v['high']:.{digits}f}"
    )
