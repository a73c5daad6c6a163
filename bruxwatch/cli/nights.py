"""Stored nights looked at: `review` and `report`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bruxwatch.cli.arguments import add_channels_option, add_jobs_option, add_rescore_option
from bruxwatch.cli.common import (
    CliError,
    check_screenshot_path,
    has_display,
    progress_bar,
    read_input,
    signal_config,
    writing,
)
from bruxwatch.cli.formats import REPORT_FORMATS, Format, add_format_options, asked_for
from bruxwatch.errors import StoreError
from bruxwatch.signal import SignalConfig
from bruxwatch.store.recording import DamagedRecording


def cmd_review(args: argparse.Namespace) -> int:

    from bruxwatch.store.nights import find_nights
    from bruxwatch.store.recording import Recording

    if args.screenshot:
        check_screenshot_path(Path(args.screenshot))
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and (
        os.environ.get("QT_QPA_PLATFORM") != "offscreen"
    ):
        raise CliError("no display here; use --screenshot FILE.png to render the review to a file")
    elif has_display():
        from bruxwatch.ui.window_check import window_problem

        problem = window_problem()
        if problem:
            raise CliError(f"{problem}; or use --screenshot FILE.png")
    try:
        import pyqtgraph as pg

        from bruxwatch.ui.review import ReviewWindow
        from bruxwatch.ui.snapshot import quiet_offscreen_platform, save_window
    except ImportError as exc:
        raise CliError(
            f"the review needs the ui extra: pip install 'bruxwatch[ui]' ({exc})"
        ) from None
    try:
        skipped: list[str] = []
        nights = find_nights(args.night, skipped)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
        first = nights[-1] if args.night_number is None else nights[_night_number(args, nights)]
        app = pg.mkQApp("bruxwatch review")
        if args.screenshot:
            quiet_offscreen_platform()
        while True:
            night = Recording(first)
            try:
                window = ReviewWindow(night, nights=nights)
                break
            except DamagedRecording as exc:
                night.close()
                if args.night_number is not None or len(nights) == 1:
                    raise
                print(f"skipped {exc}", file=sys.stderr)  # the newest night that reads
                nights.remove(first)
                first = nights[-1]
    except StoreError as exc:
        raise CliError(str(exc)) from None
    count = len(window.night.episodes)
    if args.episode is not None and not 1 <= args.episode <= count:
        night.close()
        have = f"episodes 1-{count}" if count else "no episodes"
        raise CliError(f"--episode {args.episode}: {first.name} has {have}")
    if args.screenshot:
        if args.episode is not None:
            window.select(args.episode - 1)
        try:
            with writing(Path(args.screenshot)):
                save_window(window, args.screenshot)
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
            night.close()
        print(f"saved {args.screenshot}")
        return 0
    window.show()
    app.exec()
    night.close()
    return 0


def _night_number(args: argparse.Namespace, nights: list) -> int:
    if not 1 <= args.night_number <= len(nights):
        raise CliError(f"--night {args.night_number}: there are {len(nights)} nights (1 = oldest)")
    return args.night_number - 1


def scored_nights(
    paths: Sequence[str],
    quiet: bool = False,
    channels: tuple[int, ...] | None = None,
    signal: SignalConfig | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
) -> list:
    """Score the nights named by `paths`: recordings, folders of them, or files made by other
    tools (EDF/BDF, OpenBCI, CSV), which are imported into a temporary night first, scored
    with `signal` (the settings file's; a stored night keeps its own); several nights in
    `jobs` processes (None: one per core)."""
    import tempfile

    from bruxwatch.store.convert import store_file_recording

    with tempfile.TemporaryDirectory(prefix="bruxwatch-import-") as tmp:
        stored: list[str | Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir() or path.suffix.lower() in (".sqlite", ".db") or not path.exists():
                stored.append(raw)
                continue
            recording = read_input(path, None)
            temporary = Path(tmp) / f"{path.stem}.sqlite"
            stored.append(store_file_recording(recording, path, temporary, signal=signal))
        # a file imported for this run is scored afresh: its score is not worth keeping
        imported = any(isinstance(p, Path) and p.parent == Path(tmp) for p in stored)
        return _score_stored(stored, quiet, channels, jobs, use_cache and not imported)


def _score_stored(
    paths: Sequence[str | Path],
    quiet: bool,
    channels: tuple[int, ...] | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
) -> list:
    """The stored nights of `paths` scored: the scores kept from an earlier run taken as
    they are (store.score_cache), the others one at a time with a progress bar or, for
    several nights, in `jobs` worker processes (None: one per core; store.scoring_pool)."""
    from bruxwatch.store.nights import find_nights
    from bruxwatch.store.score_cache import kept_score
    from bruxwatch.store.scoring_pool import Unscored, default_workers, score_many

    try:
        skipped: list[str] = []
        found = find_nights(paths, skipped)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
        kept = {p: kept_score(p, channels) for p in found} if use_cache else {}
        missing = [p for p in found if kept.get(p) is None]
        workers = default_workers(missing) if jobs is None else jobs
        if workers == 1 or len(missing) <= 1:
            fresh = [_score_with_bar(path, quiet, channels, use_cache) for path in missing]
        else:
            label = f"scoring {len(missing)} nights in {workers} processes"
            with progress_bar(label, not quiet) as tick:
                fresh = score_many(
                    missing,
                    channels,
                    workers,
                    done=lambda k, _path: tick(k, len(missing)),
                    use_cache=use_cache,
                )
        scored = dict(zip(missing, fresh, strict=True))
        results = [kept.get(p) or scored[p] for p in found]
        nights = []
        for result in results:
            if not isinstance(result, Unscored):
                nights.append(result)
            elif result.damaged and len(found) > 1:
                print(f"skipped {result.reason}", file=sys.stderr)  # the others are reported
            else:
                raise StoreError(result.reason)
        if not nights:
            raise StoreError("every night named is damaged; `bruxwatch repair NIGHT` saves each")
    except StoreError as exc:
        raise CliError(str(exc)) from None
    return nights


def _score_with_bar(
    path: Path, quiet: bool, channels: tuple[int, ...] | None, use_cache: bool = True
):
    """One night scored here, with a progress bar (store.scoring_pool's result kinds)."""
    from bruxwatch.store.recording import Recording
    from bruxwatch.store.score_cache import scored
    from bruxwatch.store.scoring_pool import Unscored

    try:
        with Recording(path) as night, progress_bar(f"scoring {path.name}", not quiet) as tick:
            return scored(night, channels=channels, progress=tick, use_cache=use_cache)
    except DamagedRecording as exc:
        return Unscored(path, str(exc), damaged=True)
    except StoreError as exc:
        reason = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        return Unscored(path, reason, damaged=False)


def nights_and_short(args: argparse.Namespace, quiet: bool = False) -> tuple[list, list]:
    """`report`'s and `bundle`'s nights scored as their options say (--channels, --jobs,
    --rescore, the settings file), and the sessions too short to be nights, apart."""
    from bruxwatch.store.exports import short_sessions

    return short_sessions(
        scored_nights(
            args.nights,
            quiet=quiet,
            channels=args.channels,
            signal=signal_config(args),
            jobs=args.jobs,
            use_cache=not args.rescore,
        )
    )


def cmd_report(args: argparse.Namespace) -> int:
    from bruxwatch.store.exports import report_dict, short_text
    from bruxwatch.store.formats import ExportOptions

    asked = asked_for(args, REPORT_FORMATS)
    nights, short = nights_and_short(args, quiet=args.json)
    if not nights:
        raise CliError(f"no night to report: {short_text(short)}")
    said = sys.stderr if args.json else sys.stdout  # the JSON alone on standard output
    options = ExportOptions(patient=args.patient, short=short)
    for format, path in asked:
        print(f"saved {format.write(nights, path, options)}", file=said)
    if args.json:
        json.dump(report_dict(nights, patient=args.patient, short=short), sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not asked:
        print(format_nights(nights, short))
    elif short:
        print(short_text(short))
    return 0


def format_nights(nights: list, short: Sequence = ()) -> str:
    """The report for the terminal: the PDF's night table (rates per good hour), its
    comparison sentences with their caveats, and the short sessions it left out."""
    from bruxwatch.store.clinician import clinician_lines
    from bruxwatch.store.exports import comparison_text, evidence, short_text
    from bruxwatch.store.local_time import offset_text
    from bruxwatch.store.trial import has_plan, trial_lines

    lines = [
        f"{'night':<28} {'mode':<9} {'good h':>6} {'ep/h':>6} {'phasic/h':>8} {'tonic/h':>7} "
        f"{'mixed/h':>7} {'bursts/h':>8} {'clench %':>8} {'fb given':>8} {'stopped':>7}"
    ]
    for n in nights:
        s, o = n.analysis.summary, n.outcome_summary
        stopped = "-" if o.stopped_fraction is None else f"{100 * o.stopped_fraction:.0f}%"
        kinds = s.per_hour_by_kind
        rates = [
            (s.episodes_per_hour, 6, 1),
            (kinds["phasic"], 8, 1),
            (kinds["tonic"], 7, 1),
            (kinds["mixed"], 7, 1),
            (s.bursts_per_hour, 8, 1),
            (s.clench_pct, 8, 2),
        ]
        cells = " ".join(
            f"{value:{width}.{digits}f}" if s.enough_signal else f"{'-':>{width}}"
            for value, width, digits in rates
        )
        lines.append(
            f"{n.label[:28]:<28} {n.mode:<9} {s.good_hours:6.2f} {cells} {o.given:8d} {stopped:>7}"
        )
    unrated = [n.label for n in nights if not n.analysis.summary.enough_signal]
    if unrated:
        need = nights[0].analysis.summary.min_good_hours
        lines.append(
            f"-: not enough good signal for a rate (under {need:g} h): " + ", ".join(unrated)
        )
    if short:
        lines.append(short_text(short))
    found = evidence(nights)
    lines.append("Baseline vs biofeedback nights:")
    lines.extend(f"  {sentence}" for sentence in comparison_text(nights, found))
    if found["randomized_nights"]:
        lines.append("Does feedback help? " + found["feedback_effect"]["sentence"])
    if has_plan(nights):
        lines.append("Trial plan:")
        lines.extend(f"  {sentence}" for sentence in trial_lines(nights))
    lines.append("For the clinician:")
    lines.extend(f"  {sentence}" for sentence in clinician_lines(nights))
    lines.append(
        f"Clock times are local (UTC{offset_text(nights[0].started_at)}); "
        "nights are dated by the evening they began."
    )
    return "\n".join(lines)


def add_review_command(sub) -> None:
    """The `review` command's arguments."""
    p = sub.add_parser("review", help="review a recorded night: timeline, episodes, per hour")
    p.add_argument(
        "night", nargs="+", help="recordings made by `bruxwatch record` (.sqlite) or folders"
    )
    p.add_argument(
        "--night",
        dest="night_number",
        type=int,
        help="open this night first (1 = oldest; default: the newest)",
    )
    p.add_argument("--screenshot", metavar="PNG", help="render offscreen to this file and exit")
    p.add_argument(
        "--episode", type=int, help="with --screenshot: zoom onto this episode (1 = first)"
    )
    p.set_defaults(func=cmd_review)


BUNDLE_FORMAT = Format(
    "--out",
    "ZIP",
    "the bundle to write (a new file)",
    "bruxwatch.ui.bundle:write_bundle",
    target="new file",
    needs="the bundle",
)
"""`bruxwatch bundle NIGHTS --out ZIP`: the report, CSVs, EDF+ per night and a README."""


def cmd_bundle(args: argparse.Namespace) -> int:
    from bruxwatch.store.exports import short_text
    from bruxwatch.store.formats import ExportOptions

    path = Path(args.out)
    if path.suffix.lower() != ".zip":
        raise CliError(f"{path}: the bundle is a ZIP file; give a name ending in .zip")
    BUNDLE_FORMAT.check(path)
    nights, short = nights_and_short(args)
    if not nights:
        raise CliError(f"no night to bundle: {short_text(short)}")
    options = ExportOptions(patient=args.patient, short=short)
    print(f"saved {BUNDLE_FORMAT.write(nights, path, options)}")
    if short:
        print(short_text(short))
    return 0


def add_bundle_command(sub) -> None:
    """The `bundle` command's arguments."""
    p = sub.add_parser(
        "bundle", help="for the dentist: one ZIP of the report, CSVs, EDF+ and a README"
    )
    p.add_argument("nights", nargs="+", help="recordings (.sqlite) or folders of them")
    p.add_argument("--out", required=True, metavar="ZIP", help=BUNDLE_FORMAT.help)
    p.add_argument("--patient", help="name or code printed on the report (optional)")
    add_channels_option(p)
    add_jobs_option(p)
    add_rescore_option(p)
    p.set_defaults(func=cmd_bundle)


def add_report_command(sub) -> None:
    """The `report` command's arguments."""
    p = sub.add_parser("report", help="for the dentist: PDF, CSV and JSON of one or more nights")
    p.add_argument("nights", nargs="+", help="recordings (.sqlite) or folders of them")
    add_format_options(p, REPORT_FORMATS)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--patient", help="name or code printed on the report (optional)")
    add_channels_option(p)
    add_jobs_option(p)
    add_rescore_option(p)
    p.set_defaults(func=cmd_report)
