"""The `bruxwatch` command: the parser (one adder per command, in `COMMANDS`) and `main`.

Every user error (missing file, bad option, impossible range) prints one line on stderr and
exits with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence

from bruxwatch import __version__
from bruxwatch.cli.analyze import add_analyze_command
from bruxwatch.cli.arguments import negative_values_joined
from bruxwatch.cli.check import add_check_command
from bruxwatch.cli.common import (
    EXIT_USAGE,
    CliError,
    Parser,
    complete_arguments,
    storage_text,
)
from bruxwatch.cli.devices import add_devices_command, add_emulate_command, add_stream_command
from bruxwatch.cli.files import add_export_command, add_import_command, add_repair_command
from bruxwatch.cli.nights import add_bundle_command, add_report_command, add_review_command
from bruxwatch.cli.plan import add_plan_command
from bruxwatch.cli.record import add_calibrate_command, add_live_command, add_record_command
from bruxwatch.cli.service import add_service_command
from bruxwatch.cli.simulate import add_demo_command, add_simulate_command
from bruxwatch.errors import StoreError
from bruxwatch.memory import keep_freed_memory

COMMANDS = (
    add_simulate_command,
    add_analyze_command,
    add_devices_command,
    add_emulate_command,
    add_stream_command,
    add_record_command,
    add_check_command,
    add_calibrate_command,
    add_plan_command,
    add_service_command,
    add_review_command,
    add_report_command,
    add_bundle_command,
    add_import_command,
    add_export_command,
    add_repair_command,
    add_live_command,
    add_demo_command,
)
"""Every command's argument adder, in the order `--help` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="bruxwatch",
        description="Measure jaw clenching (bruxism) from masseter EMG: record, score, feed back.",
    )
    parser.add_argument("--version", action="version", version=f"bruxwatch {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (TOML; default: config.toml in your config folder, if there)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()
    parser = build_parser()
    argv = negative_values_joined(sys.argv[1:] if argv is None else list(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one line (or --help / --version)
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from bruxwatch.config import ConfigError, load_settings

    try:
        complete_arguments(args, load_settings(args.config))
    except ConfigError as exc:
        print(f"bruxwatch {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"bruxwatch {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, OSError, sqlite3.Error) as exc:  # storage failed (full disk, EIO ...)
        print(f"bruxwatch {args.command}: error: {storage_text(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"bruxwatch {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
