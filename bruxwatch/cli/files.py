"""Nights in and out: `import` (another tool's file), `export` (EDF+, CSV, a copy) and
`repair` (a damaged night)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bruxwatch.cli.arguments import add_channels_option, add_mains_option, sample_rate
from bruxwatch.cli.common import (
    CliError,
    check_writable,
    progress_bar,
    read_input,
    signal_config,
    with_channels,
)
from bruxwatch.cli.formats import NIGHT_FORMATS, add_format_options, asked_for, nothing_asked
from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.console import lost_text


def cmd_import(args: argparse.Namespace) -> int:
    from bruxwatch.store.convert import store_file_recording

    source = Path(args.file)
    out = Path(args.out) if args.out else source.with_suffix(".sqlite")
    check_writable(out)
    if out.exists():
        raise CliError(f"{out}: already exists; give another --out")
    recording = read_input(source, args.fs)
    signal = with_channels(signal_config(args), args.channels, len(recording.channels))
    try:
        store_file_recording(recording, source, out, mode=args.mode, signal=signal)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    lost = sum(n for _, n in recording.gaps) / recording.fs
    print(
        f"saved {out}: {recording.source}, {len(recording.channels)} channels at "
        f"{recording.fs:g} Hz, {recording.duration_s / 3600:.2f} h"
        + (f", {lost_text(len(recording.gaps), lost)}" if recording.gaps else "")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bruxwatch.store.formats import ExportOptions
    from bruxwatch.store.recording import Recording

    asked = asked_for(args, NIGHT_FORMATS)
    if not asked:
        raise CliError(f"nothing to do: {nothing_asked(NIGHT_FORMATS)}")
    try:
        night = Recording(args.night)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    with night, progress_bar("exporting", not args.quiet) as tick:
        options = ExportOptions(patient=args.patient, progress=tick)
        for format, path in asked:
            print(f"saved {format.write(night, path, options)}")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from bruxwatch.store.repair import salvage

    source = Path(args.night)
    if not source.is_file():
        raise CliError(f"{source}: no such recording")
    out = Path(args.out) if args.out else source.with_name(f"{source.stem}-repaired.sqlite")
    check_writable(out)
    if out.resolve() == source.resolve():
        raise CliError(f"{out}: is the damaged night itself; the original is never changed")
    saved = salvage(source, out)
    print(saved.text())
    print(f"the original {source} is unchanged; `bruxwatch report {out}` reads the repaired night")
    return 0


def add_import_command(sub) -> None:
    """The `import` command's arguments."""
    p = sub.add_parser("import", help="store a recording made by another tool as a night")
    p.add_argument("file", help="EDF/BDF, OpenBCI GUI .txt, BrainFlow CSV or plain CSV")
    p.add_argument("--out", help="the night to write (default: FILE with .sqlite)")
    p.add_argument("--fs", type=sample_rate, help="sample rate, Hz (plain CSV without time)")
    p.add_argument(
        "--mode",
        choices=("imported", "baseline", "feedback"),
        default="imported",
        help="what kind of night it was, for the baseline-vs-feedback comparison",
    )
    add_mains_option(p)
    add_channels_option(p)
    p.set_defaults(func=cmd_import)


def add_export_command(sub) -> None:
    """The `export` command's arguments."""
    p = sub.add_parser("export", help="a night's raw EMG as EDF+ (with annotations) or CSV")
    p.add_argument("night", help="a recording (.sqlite)")
    add_format_options(p, NIGHT_FORMATS)
    p.add_argument("--patient", help="patient name or code for the EDF+ header (optional)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)


def add_repair_command(sub) -> None:
    """The `repair` command's arguments."""
    p = sub.add_parser("repair", help="save what can be read of a damaged night into a new file")
    p.add_argument("night", help="the damaged recording (.sqlite); it is only read")
    p.add_argument("--out", help="the repaired night (default: NIGHT-repaired.sqlite)")
    p.set_defaults(func=cmd_repair)
