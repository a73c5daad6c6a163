"""`bruxwatch bundle NIGHTS --out for-dentist.zip`: everything a clinician needs from the
nights, in one file to hand over, and nothing else from the machine.

The ZIP holds the PDF report, its JSON, episodes.csv and nights.csv, one EDF+ file
per bruxwatch night (raw EMG with the episodes, feedback and gaps as annotations, and the
accelerometer where there was one) and a README.txt that says what each file is and how to
open the EDF+ files. Files from other tools that were reported have no EDF+ (the clinician
can be given the original). The bundle is built in a private temporary folder, written 0600
whole or not at all, and its entries are 0600 too.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from bruxwatch import __version__
from bruxwatch.store.edf import write_edf
from bruxwatch.store.exports import report_dict, write_report_folder
from bruxwatch.store.formats import ExportOptions
from bruxwatch.store.night_schema import is_sqlite
from bruxwatch.store.private import private_path
from bruxwatch.store.recording import Recording
from bruxwatch.store.scored import ScoredNight
from bruxwatch.ui.report import write_pdf

ENTRY_MODE = 0o100600  # a regular file, readable and writable by its owner only


def write_bundle(nights: Sequence[ScoredNight], path: Path, options: ExportOptions) -> str:
    """The bundle of `nights` at `path` (see the module's docstring); what it holds, in
    words."""
    with tempfile.TemporaryDirectory(prefix="bruxwatch-bundle-") as tmp:  # made 0700
        folder = Path(tmp)
        write_pdf(nights, folder / "report.pdf", options)
        report = report_dict(nights, patient=options.patient, short=options.short)
        (folder / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        write_report_folder(nights, folder, options)
        edf_names = []
        for night in nights:
            if not (night.path.exists() and is_sqlite(night.path)):
                continue  # imported from another tool's file: no stored night to export
            name = f"edf/{night.path.stem}.edf"
            (folder / "edf").mkdir(mode=0o700, exist_ok=True)
            with Recording(night.path) as recording:
                write_edf(recording, folder / name, options)
            edf_names.append((name, night))
        (folder / "README.txt").write_text(clinician_readme(nights, edf_names, options))
        entries = ["README.txt", "report.pdf", "report.json", "episodes.csv", "nights.csv"]
        entries += [name for name, _ in edf_names]
        with private_path(path) as temporary:
            _zip(folder, entries, temporary)
    return (
        f"{path} ({len(nights)} night{'s' if len(nights) != 1 else ''}: README.txt, "
        f"report.pdf, report.json, episodes.csv, nights.csv, {len(edf_names)} EDF+ file"
        f"{'s' if len(edf_names) != 1 else ''})"
    )


def _zip(folder: Path, entries: list[str], target: Path) -> None:
    now = dt.datetime.now().timetuple()[:6]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in entries:
            info = zipfile.ZipInfo(name, date_time=now)
            info.external_attr = ENTRY_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / name).read_bytes())


def clinician_readme(
    nights: Sequence[ScoredNight],
    edf_names: list[tuple[str, ScoredNight]],
    options: ExportOptions,
) -> str:
    """README.txt: what each file is and how to open it, for someone who has never used
    bruxwatch."""
    made = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")
    who = f" of {options.patient}" if options.patient else ""
    listed = "\n".join(f"  - {n.label} ({n.mode} mode)" for n in nights)
    edf_lines = "\n".join(f"  - {name}: the night of {night.label}" for name, night in edf_names)
    return f"""Jaw-muscle (masseter) EMG recorded at home with bruxwatch {__version__}
Nights{who} in this bundle (made {made}):
{listed}

bruxwatch measures masseter EMG activity and can give biofeedback; it is not a medical
device and diagnoses nothing. Sleep bruxism is diagnosed by a clinician, ideally with
polysomnography and audio-video.

What each file is
- report.pdf: page 1, the summary: episodes per hour of good signal by kind (phasic,
  tonic, mixed), bursts, clenching time, each night on a clock-time timeline, baseline
  against feedback nights, and, where the nights had them, heart rate, body position,
  movement and grinding sounds. Page 2, for you: the nights against the sleep-laboratory
  research reference marks (episodes/h > 4, bursts/h > 25, bursts per episode > 6; marks
  of activity, not a diagnosis), the time and work indices, clusters, night-to-night
  variability, valid recording time per electrode and a typical trace of each episode
  kind. For nights recorded under a trial plan (baseline, feedback, withdrawal blocks),
  a page with each block's rate and the trend within the feedback block. Then every
  episode with its clock time.
- report.json: the same report, machine-readable.
- episodes.csv: one row per episode of every night: local clock time, duration (s),
  kind, bursts, peak level, whether feedback was given, and its confirmation (heart-rate
  rise, during body movement, position, grinding sound) where known.
- nights.csv: one row per night: hours recorded and with good signal, rates per hour,
  feedback given, and the signal problems found.
- edf/*.edf: each night's raw EMG (µV) as EDF+, one signal per electrode, with the
  episodes, feedback, signal gaps and bad-signal stretches as annotations, and, where
  the sensor had them, the accelerometer (Accel X/Y/Z, g) and a pulse sensor (Ppg).
{edf_lines or "  (none: the nights came from other tools' files)"}

Opening the EDF+ files
Any EDF+ viewer opens them, EDFbrowser (free) among them: open the .edf file; its list of
annotations shows every episode with its time, and choosing one jumps there. A 10-s page
and 100 µV per division show single clenches well. Times are the wearer's local clock time.
"""
