"""Turning a recording made by another tool into a bruxwatch night (.sqlite), so `review`,
`report` and `export` treat it like one the recorder made: the raw samples with their gaps,
the episodes scored by the same Pipeline, the start time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from bruxwatch.signal import Pipeline
from bruxwatch.signal.config import SignalConfig
from bruxwatch.store.importers import FileRecording
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.stream import StreamInfo

IMPORTED_MODE = "imported"
"""The mode of a night recorded elsewhere: neither a baseline nor a feedback night, unless the
user says which with `bruxwatch import --mode`."""


def file_start(recording: FileRecording, path: Path) -> dt.datetime:
    """When the first sample was taken: from the file if it says, else its modification time
    minus its duration (the file was last written as the recording ended)."""
    if recording.start is not None:
        return recording.start
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    lost = sum(n for _, n in recording.gaps) / recording.fs
    return modified - dt.timedelta(seconds=recording.duration_s + lost)


def store_file_recording(
    recording: FileRecording,
    source: Path,
    out: Path,
    *,
    mode: str = IMPORTED_MODE,
    signal: SignalConfig | None = None,
) -> Path:
    """Write `recording` (read from `source`) as a finished night at `out`, scored with
    `signal` (default settings), which the night keeps for later re-scoring."""
    signal = signal or SignalConfig()
    info = StreamInfo(
        fs=recording.fs,
        channels=recording.channels,
        units=recording.units,
        kind="raw",
        device=f"{recording.source} file {source.name}",
    )
    pipeline = Pipeline(info, signal)
    writer = RecordingWriter(
        out,
        info,
        mode=mode,
        config={
            "mains_hz": signal.filter.mains_hz,
            "signal": dataclasses.asdict(signal),
            "imported_from": str(source),
        },
        started_at=file_start(recording, source),
    )
    try:
        for chunk in recording.chunks():
            writer.append(chunk)
            writer.add_events(pipeline.process(chunk).events)
            writer.flush()
        writer.add_events(pipeline.finish())
        for aux_info, chunk in recording.aux_chunks():
            writer.append_aux(chunk, aux_info)
        writer.flush()
    finally:
        writer.finish("imported")
    return out
