"""Every export format the command line offers, one row each: `export`'s formats of one
night and `report`'s formats of many. A new format is its writer (`store/formats.py` says
the signature) and one row here; the option, its check before any work, the error when
its extra is not installed and the "saved ..." line all come from the row.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bruxwatch.cli.common import CliError, check_writable, writing
from bruxwatch.store.formats import ExportOptions


@dataclass(frozen=True)
class Format:
    """option: the command-line flag ("--edf"); metavar and help for --help;
    writer: "module:function", imported when used (so --help loads no matplotlib);
    target: what the path must be: a file (replaced whole), a new file, or a folder;
    needs: what is named when the writer's extra is missing ("EDF" -> "EDF needs the
        report extra: pip install 'bruxwatch[report]'")."""

    option: str
    metavar: str
    help: str
    writer: str
    target: Literal["file", "new file", "folder"] = "file"
    needs: str | None = None

    @property
    def dest(self) -> str:
        return self.option.lstrip("-").replace("-", "_")

    def check(self, path: Path) -> None:
        """Before any work: a path this format can be written to, or one line why not."""
        if self.target == "folder":
            if path.exists() and not path.is_dir():
                raise CliError(f"{path}: is a file; {self.option} takes a folder")
            return
        check_writable(path)
        if self.target == "new file" and path.exists():
            raise CliError(f"{path}: already exists; give another name")

    def write(self, source, path: Path, options: ExportOptions) -> str:
        """Write `source` to `path` in this format: what was saved, in words; a missing
        extra, a source the format cannot hold and a failed write are each one line."""
        try:
            module, function = self.writer.split(":")
            writer = getattr(importlib.import_module(module), function)
            with writing(path):
                return writer(source, path, options)
        except ImportError as exc:
            raise CliError(
                f"{self.needs or self.option} needs the report extra: "
                f"pip install 'bruxwatch[report]' ({exc})"
            ) from None
        except ValueError as exc:
            raise CliError(f"{path}: {exc}") from None


NIGHT_FORMATS: tuple[Format, ...] = (
    Format(
        "--edf",
        "FILE",
        "EDF+ file: raw EMG + episode/feedback notes",
        "bruxwatch.store.edf:write_edf",
        needs="EDF",
    ),
    Format(
        "--csv",
        "FILE",
        "CSV file: time_s and one column per channel",
        "bruxwatch.store.exports:write_samples",
    ),
    Format(
        "--copy",
        "FILE",
        "a copy of the night (.sqlite) in one file, with what a crash left in its -wal",
        "bruxwatch.store.recording:write_copy",
        target="new file",
    ),
)
"""`bruxwatch export NIGHT`'s formats, in the order they are written."""

REPORT_FORMATS: tuple[Format, ...] = (
    Format(
        "--pdf",
        "FILE",
        "write the PDF report here (summary, clinician page, episode list)",
        "bruxwatch.ui.report:write_pdf",
        needs="the PDF",
    ),
    Format(
        "--csv",
        "DIR",
        "write episodes.csv and nights.csv in this folder",
        "bruxwatch.store.exports:write_report_folder",
        target="folder",
    ),
)
"""`bruxwatch report NIGHTS`'s file formats (its JSON goes to standard output)."""


def add_format_options(parser, formats: tuple[Format, ...]) -> None:
    for format in formats:
        parser.add_argument(format.option, metavar=format.metavar, help=format.help)


def asked_for(args, formats: tuple[Format, ...]) -> list[tuple[Format, Path]]:
    """The formats given on the command line with their paths, each checked before any
    work is done."""
    asked = [(f, Path(getattr(args, f.dest))) for f in formats if getattr(args, f.dest)]
    for format, path in asked:
        format.check(path)
    return asked


def nothing_asked(formats: tuple[Format, ...]) -> str:
    """ "give --edf FILE, --csv FILE and/or --copy FILE"."""
    named = [f"{f.option} {f.metavar}" for f in formats]
    return "give " + ", ".join(named[:-1]) + " and/or " + named[-1]
