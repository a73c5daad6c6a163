"""The night file's format, shared by its writer (`night_writer.py`), its reader
(`recording.py`) and `repair.py`: one SQLite file per recording session with raw samples,
events, episodes, feedback and gaps.

Crash safety: WAL journal with synchronous=FULL, one transaction about once a second, so a
crash, `kill -9` or power cut loses at most the last second. The writer holds an advisory
lock on the file while it records; opening a file whose status is still "recording" when no
writer holds the lock marks it "interrupted" (everything in it still reads). Files are
created with mode 0600: they hold health data.

Samples are stored as received (in the stream's units) in blocks, so any night can be
re-scored later with other settings; reading them back gives the same values bit for bit.
Each block is compressed losslessly (`block_codec.py`: FLAC of the ADC's counts where the
stream says its step, else byte-grouped float32 with zlib) and names its codec; nights of
schema version 1 have no codec column and store plain float32.
Auxiliary streams (an accelerometer ...) are in `aux_streams` (what each is) and `aux_blocks`
(its samples, float32 channels x n, on its own clock); nights recorded before they existed
have neither table, and read as having no auxiliary stream.

Sound (`record --audio`) is never kept whole: `sound` says which microphone listened (one
row; a night without it had no microphone), `sound_clips` holds the clips kept around
episodes, 16-bit PCM, little-endian, mono, each with its first sample's time on the
EMG's clock (s from the night's start) and its rate.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from bruxwatch.errors import StoreError, os_error_line
from bruxwatch.signal.calibration import Calibration
from bruxwatch.stream import StreamInfo

SCHEMA_VERSION = 2
"""2: blocks name their codec (compressed samples); 1: plain float32 blocks."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS session (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    software TEXT NOT NULL,
    started_at TEXT NOT NULL,
    device TEXT NOT NULL,
    fs REAL NOT NULL,
    channels TEXT NOT NULL,
    units TEXT NOT NULL,
    kind TEXT NOT NULL,
    rails TEXT,
    mode TEXT NOT NULL,
    calibration TEXT,
    config TEXT,
    status TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
CREATE TABLE IF NOT EXISTS blocks (
    first_index INTEGER PRIMARY KEY,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    codec TEXT
);
CREATE TABLE IF NOT EXISTS gaps (at_index INTEGER NOT NULL, missing INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bursts (
    start_index INTEGER NOT NULL, end_index INTEGER NOT NULL, kind TEXT NOT NULL, peak REAL
);
CREATE TABLE IF NOT EXISTS episodes (
    start_index INTEGER NOT NULL, end_index INTEGER NOT NULL, kind TEXT NOT NULL,
    bursts INTEGER, phasic_bursts INTEGER, tonic_bursts INTEGER,
    peak_level REAL, peak_pct_mvc REAL, artifact INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quality (at_s REAL NOT NULL, channel INTEGER NOT NULL, flags TEXT);
CREATE TABLE IF NOT EXISTS feedback (
    trigger_index INTEGER NOT NULL, at_s REAL NOT NULL, fired INTEGER NOT NULL,
    action TEXT NOT NULL, strength INTEGER, ms INTEGER, latency_ms REAL, reason TEXT
);
CREATE TABLE IF NOT EXISTS events (at_s REAL NOT NULL, kind TEXT NOT NULL, data TEXT);
CREATE TABLE IF NOT EXISTS aux_streams (
    name TEXT PRIMARY KEY, fs REAL NOT NULL, channels TEXT NOT NULL, units TEXT NOT NULL,
    device TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aux_blocks (
    stream TEXT NOT NULL, first_index INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sound (
    device TEXT NOT NULL, rate REAL NOT NULL, before_s REAL NOT NULL, after_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sound_clips (
    start_s REAL NOT NULL, rate REAL NOT NULL, pcm BLOB NOT NULL
);
"""

TABLES = ("gaps", "bursts", "episodes", "quality", "feedback", "events")
"""The tables of events beside the samples, written in this order."""

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class SessionInfo:
    """What the session table says about a recording."""

    path: Path
    started_at: str
    device: str
    info: StreamInfo
    mode: str
    calibration: Calibration | None
    config: dict
    status: str
    ended_at: str | None
    end_reason: str | None
    software: str


def is_sqlite(path: Path) -> bool:
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    return False


def create_private(path: Path) -> int:
    """Create the file with mode 0600 (never over an existing one) and lock it; returns the fd."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise StoreError(os_error_line(path, exc, creating=True)) from None
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd
