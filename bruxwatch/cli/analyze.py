"""`bruxwatch analyze`: score a recording file or a stored night and print its summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bruxwatch.cli.arguments import add_channels_option, add_mains_option, sample_rate, time_range
from bruxwatch.cli.common import (
    CliError,
    progress_bar,
    read_input,
    signal_config,
    with_channels,
)
from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.console import clock, lost_text
from bruxwatch.signal import Analysis, CalibrationError, SignalConfig, analyze, calibrate
from bruxwatch.signal.confirmation import ConfirmationSummary
from bruxwatch.signal.pipeline import scored_channels
from bruxwatch.signal.scoring import Summary
from bruxwatch.store.importers import FileRecording


def cmd_analyze(args: argparse.Namespace) -> int:
    if Path(args.input).suffix in (".sqlite", ".db"):
        return _analyze_night(args)
    recording = read_input(Path(args.input), args.fs)
    config = with_channels(signal_config(args), args.channels, len(recording.channels))
    calibration = calibration_from_ranges(recording, args.rest, args.mvc, config)
    exclude = [args.rest, args.mvc] if calibration is not None else []
    with progress_bar("scoring", enabled=not args.quiet) as tick:
        if recording.gaps:  # lost packets: score the stream with its gaps
            from bruxwatch.signal.analysis import analyze_chunks
            from bruxwatch.stream import StreamInfo

            info = StreamInfo(
                fs=recording.fs,
                channels=recording.channels,
                units=recording.units,
                kind="raw",
                device=recording.source,
            )
            analysis = analyze_chunks(
                recording.chunks(),
                info,
                calibration=calibration,
                config=config,
                progress=tick,
                exclude_s=exclude,
            )
        else:
            analysis = analyze(
                recording.samples,
                recording.fs,
                calibration=calibration,
                config=config,
                channels=recording.channels,
                units=recording.units,
                progress=tick,
                exclude_s=exclude,
            )
    if args.json:
        json.dump(analysis.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        title = f"{args.input} ({recording.source}, {recording.fs:g} Hz)"
        if recording.gaps:
            lost = sum(n for _, n in recording.gaps) / recording.fs
            title += f"; {lost_text(len(recording.gaps), lost)}"
        print(format_summary(analysis, title=title))
    return 0


def _analyze_night(args: argparse.Namespace) -> int:
    """Re-score a night recorded by `bruxwatch record` from its raw samples, with the
    settings and calibration it was recorded with unless the command line says otherwise."""
    import dataclasses

    from bruxwatch.store.recording import Recording
    from bruxwatch.store.scored import score_night, stored_scoring

    try:
        night = Recording(args.input)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    with night:
        try:
            scoring = stored_scoring(night, channels=args.channels, mains=args.mains)
        except StoreError as exc:
            raise CliError(str(exc)) from None
        if args.rest or args.mvc:
            values, _ = night.samples()
            flat = FileRecording(
                samples=values,
                fs=night.info.fs,
                channels=night.info.channels,
                units=night.info.units,
            )
            calibration = calibration_from_ranges(flat, args.rest, args.mvc, scoring.config)
            scoring = dataclasses.replace(
                scoring, calibration=calibration, exclude_s=[args.rest, args.mvc]
            )
        with progress_bar("scoring", enabled=not args.quiet) as tick:
            scored = score_night(night, progress=tick, scoring=scoring)
        analysis = scored.analysis
        title = (
            f"{args.input} ({night.session.status}, {night.session.mode}, {night.session.device})"
        )
    if args.json:
        json.dump(_night_dict(scored), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        more = confirmation_text(scored.confirmation.summary) if scored.confirmation else ""
        print(format_summary(analysis, title=title, more=more))
    return 0


def _night_dict(night) -> dict:
    """A stored night's JSON: the analysis, each episode with its confirmation, and the
    night's confirmation figures."""
    data = night.analysis.to_dict()
    contexts = night.contexts()
    for row, episode in zip(data["episodes"], night.analysis.episodes, strict=True):
        context = contexts.get(episode.start_index)
        row.update(context.to_dict() if context else {})
    if night.confirmation is not None:
        data["confirmation"] = night.confirmation.summary.to_dict()
    return data


def calibration_from_ranges(recording: FileRecording, rest, mvc, config: SignalConfig):
    """The calibration from `--rest A:B` and `--mvc A:B` (s) of `recording`; None when
    neither is given, one line for a range outside the recording or a failed calibration."""
    if rest is None and mvc is None:
        return None
    if rest is None or mvc is None:
        raise CliError("calibration needs both --rest A:B and --mvc A:B")
    duration = recording.duration_s
    for name, (a, b) in (("--rest", rest), ("--mvc", mvc)):
        if not 0 <= a < b <= duration + 1e-9:
            raise CliError(f"{name} {a:g}:{b:g} is outside the recording (0 to {duration:.3f} s)")
    scored = list(scored_channels(tuple(recording.channels), config))
    envelope = _envelope_of(recording, config, max(rest[1], mvc[1]))[scored]
    fs = recording.fs
    try:
        return calibrate(
            envelope[:, int(rest[0] * fs) : int(rest[1] * fs)],
            envelope[:, int(mvc[0] * fs) : int(mvc[1] * fs)],
            config.threshold,
            units=recording.units,
            names=[recording.channels[c] for c in scored],
        )
    except CalibrationError as exc:
        raise CliError(f"calibration failed: {exc}") from None


def _envelope_of(recording: FileRecording, config: SignalConfig, hi: float) -> np.ndarray:
    """The pipeline's own envelope of the recording's first `hi` seconds."""
    from bruxwatch.signal import Pipeline
    from bruxwatch.stream import Chunk, StreamInfo

    info = StreamInfo(fs=recording.fs, channels=recording.channels, units=recording.units)
    end = int(np.ceil(hi * recording.fs))
    pipeline = Pipeline(info, config)
    return pipeline.process(Chunk(0, recording.samples[:, :end])).envelope


def format_summary(analysis: Analysis, title: str = "", more: str = "") -> str:
    """A readable table of the night's figures and its episodes; `more`: lines to add
    after them (what the heart rate and the accelerometer say)."""
    s = analysis.summary
    rated = s.enough_signal
    lines = []
    if title:
        lines.append(title)
    rows = [
        ("recorded", f"{s.hours:.2f} h ({s.good_hours:.2f} h with good signal)"),
        (
            "scoring",
            "calibrated (% MVC)" if s.calibrated else "NOT calibrated: adaptive background",
        ),
        ("threshold", s.threshold),
        *([("calibration", s.calibration_note)] if s.calibration_note else []),
        *_channel_rows(s),
        ("episodes", f"{s.episodes}" + (f"  ({s.episodes_per_hour:.1f} per hour)" * rated)),
        *[
            (f"  {kind}", f"{s.by_kind[kind]}  ({s.per_hour_by_kind[kind]:.1f} per hour)")
            for kind in ("phasic", "tonic", "mixed")
        ]
        * rated,
        ("set aside (bad signal)", f"{s.artifact_episodes}"),
        (
            "bursts",
            f"{s.bursts}  ("
            + (f"{s.bursts_per_hour:.1f} per hour, " * rated)
            + f"{s.bursts_per_episode:.1f} per episode)",
        ),
        *([] if rated else [("per hour", s.not_enough_text())]),
        ("clench time", f"{s.clench_seconds:.1f} s (mean episode {s.mean_episode_s:.1f} s)"),
        ("episodes by hour", " ".join(str(n) for n in s.hourly_episodes)),
    ]
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    if analysis.episodes:
        peak_units = "% MVC" if s.calibrated else "x bg"
        lines.append("")
        lines.append(
            f"  {'start':>10}  {'duration':>8}  {'kind':<6}  {'bursts':>6}  "
            f"{'peak ' + peak_units:>10}"
        )
        for e in analysis.episodes:
            peak = e.peak_pct_mvc if e.peak_pct_mvc is not None else e.peak_level
            note = "  artifact" if e.artifact else ""
            lines.append(
                f"  {clock(e.start_s):>10}  {e.duration_s:7.1f}s  {e.kind:<6}  {e.bursts:>6}  "
                f"{peak:10.1f}{note}"
            )
    if more:
        lines += ["", more]
    lines.append("")
    lines.append("bruxwatch measures jaw-muscle activity; it does not diagnose anything.")
    return "\n".join(lines)


def _channel_rows(s: Summary) -> list[tuple[str, str]]:
    """A row per scored channel with flagged time, and one naming the channels left out."""
    rows = [("signal quality", c.text()) for c in s.channels if c.flagged_hours > 0]
    if s.bad_channels:
        others = len(s.bad_channels) < len(s.channels)
        note = " (scored on the others)" if others else " (no good channel)"
        rows.append(("bad channels", ", ".join(s.bad_channels) + note))
    return rows


def add_analyze_command(sub) -> None:
    """The `analyze` command's arguments."""
    p = sub.add_parser("analyze", help="score a recording: episodes, bursts, per-hour indices")
    p.add_argument(
        "input",
        help="a night (.sqlite), EDF/BDF, OpenBCI GUI .txt, BrainFlow CSV or plain CSV",
    )
    p.add_argument(
        "--fs", type=sample_rate, help="sample rate in Hz (unless the CSV has a time column)"
    )
    p.add_argument("--rest", type=time_range, metavar="A:B", help="seconds of the file at rest")
    p.add_argument("--mvc", type=time_range, metavar="A:B", help="seconds with maximal clenches")
    add_mains_option(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_channels_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)


def confirmation_text(summary: ConfirmationSummary) -> str:
    """The figures in a few lines for the console; "" when the night had no heart rate,
    accelerometer or microphone."""
    lines = []
    if summary.has_heart_rate:
        resting = summary.resting_hr_bpm
        lines.append(
            f"heart rate: mean {summary.mean_hr_bpm:.0f} bpm"
            + (f", resting {resting:.0f} bpm" if resting is not None else "")
            + f" ({summary.beats} beats, {summary.beats_rejected} intervals set aside)"
        )
        lines.append(
            f"HR-confirmed episodes: {summary.hr_confirmed} of {summary.episodes}"
            f" ({summary.episodes - summary.hr_known} with too few beats to tell)"
        )
    if summary.has_accelerometer:
        held = [
            f"{p} {h:.1f} h" + (f" ({r:.1f}/h)" if r is not None else "")
            for p, h in summary.hours_by_position.items()
            if (r := summary.per_hour_by_position.get(p)) is not None or h >= 0.05
        ]
        lines.append("position: " + (", ".join(held) or "none held"))
        lines.append(f"episodes during body movement: {summary.movement_flagged}")
        if summary.sleep_hours is not None:
            rate = summary.episodes_per_sleep_hour
            lines.append(
                f"estimated sleep (actigraphy): {summary.sleep_hours:.1f} h"
                + (f", {rate:.1f} episodes per hour of it" if rate is not None else "")
            )
    if summary.has_sound:
        lines.append(
            f"grinding sounds: {summary.grinding_sounds} of {summary.episodes} episodes"
            f" ({summary.sound_clips} with a sound clip; the research criteria for sleep"
            " bruxism ask for at least 2 a night)"
        )
    if lines and (summary.has_heart_rate or summary.has_accelerometer):
        per_hour = summary.confirmed_per_hour
        lines.append(
            f"confirmed episodes: {summary.confirmed}"
            + (f" ({per_hour:.1f}/h)" if per_hour is not None else "")
        )
    return "\n".join(lines)
