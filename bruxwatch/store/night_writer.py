"""Writing a night as it is recorded (`RecordingWriter`): samples in blocks, events, feedback,
notices, marks, committed about once a second (`night_schema.py` has the file format and
what a crash may lose).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import sqlite3
import time
from pathlib import Path

import numpy as np

from bruxwatch import __version__
from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal.calibration import Calibration
from bruxwatch.signal.events import (
    BurstEnd,
    EpisodeEnd,
    EpisodeStart,
    Event,
    Gap,
    MainsChanged,
    QualityChanged,
)
from bruxwatch.signal.sound import Clip
from bruxwatch.store.block_codec import encode_block
from bruxwatch.store.night_schema import SCHEMA, SCHEMA_VERSION, TABLES, create_private
from bruxwatch.stream import Chunk, StreamInfo

FLUSH_INTERVAL_S = 1.0
FLUSH_BYTES = 2 << 20
JOIN_S = 60.0
"""Every minute of stream, the one-second blocks stored since are stored again as one
(compressed, a small block would fill a fraction of its SQLite page)."""
"""Commit early when this much sample data waits (only a faster-than-real-time source gets
there: a 1-kHz, 2-channel board sends 8 kB a second)."""


class RecordingWriter:
    """Appends a live session to a new file; call `flush()` often (it commits at most once a
    second unless forced) and `finish()` at the end."""

    def __init__(
        self,
        path: str | Path,
        info: StreamInfo,
        *,
        mode: str = "feedback",
        calibration: Calibration | None = None,
        config: dict | None = None,
        started_at: dt.datetime | None = None,
    ) -> None:
        """`started_at`: the wall-clock time of sample 0 (default now; imports and simulated
        nights pass their own). Naive times are taken as UTC."""
        self.path = Path(path)
        self.info = info
        start = started_at or dt.datetime.now(dt.UTC)
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        self._lock_fd = create_private(self.path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            self.db.execute(
                "INSERT INTO session VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'recording',"
                " NULL, NULL)",
                (
                    SCHEMA_VERSION,
                    f"bruxwatch {__version__}",
                    start.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
                    info.device,
                    info.fs,
                    json.dumps(list(info.channels)),
                    info.units,
                    info.kind,
                    json.dumps(info.rails) if info.rails else None,
                    mode,
                    json.dumps(calibration.to_dict()) if calibration else None,
                    json.dumps(
                        {**(config or {}), "adc_steps": list(info.steps)}
                        if info.steps
                        else config or {}
                    ),
                ),
            )
        except sqlite3.Error as exc:
            with contextlib.suppress(Exception):
                self.db.close()
            os.close(self._lock_fd)
            for leftover in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                with contextlib.suppress(OSError):  # the file is ours: made just now, O_EXCL
                    leftover.unlink()
            raise StoreError(f"{self.path}: cannot create the recording ({exc})") from None
        self._chunks: list[Chunk] = []
        self._recent: list[tuple[int, np.ndarray]] = []  # blocks stored since the last join
        self._aux_chunks: dict[str, list[Chunk]] = {}
        self._rows: dict[str, list[tuple]] = {
            name: [] for name in (*TABLES, "aux_streams", "sound", "sound_clips")
        }
        self._last_flush = time.monotonic()
        self._buffered = 0
        self.samples_written = 0
        self.closed = False

    # ----------------------------------------------------------------------- writing
    def append(self, chunk: Chunk) -> None:
        if type(chunk.first_index) is not int or type(chunk.missing_before) is not int:
            raise StoreError(
                f"{self.path}: refusing a chunk whose indexes are not Python ints "
                f"({type(chunk.first_index).__name__}, {type(chunk.missing_before).__name__})"
            )
        if chunk.missing_before:
            self._rows["gaps"].append((chunk.first_index, int(chunk.missing_before)))
        if chunk.n:
            self._chunks.append(chunk)
            self._buffered += chunk.samples.nbytes

    def append_aux(self, chunk: Chunk, info: StreamInfo) -> None:
        """A chunk of the auxiliary stream `chunk.stream`, which `info` describes (written
        once, with its first chunk); its gaps are where its indexes jump."""
        if chunk.stream not in self._aux_chunks:
            self._aux_chunks[chunk.stream] = []
            self._rows["aux_streams"].append(
                (chunk.stream, info.fs, json.dumps(list(info.channels)), info.units, info.device)
            )
        if chunk.n:
            self._aux_chunks[chunk.stream].append(chunk)
            self._buffered += chunk.samples.nbytes

    def set_sound(self, device: str, rate: float, before_s: float, after_s: float) -> None:
        """The microphone that listens this night (`device`, `rate` Hz) and how much is kept
        around each episode (s before its onset, after its end)."""
        self._rows["sound"].append((device, rate, before_s, after_s))

    def add_sound_clip(self, clip: Clip) -> None:
        """A clip kept around an episode, stored as 16-bit PCM (full scale = 1.0)."""
        pcm = np.clip(np.rint(np.asarray(clip.samples) * 32767.0), -32768, 32767)
        self._rows["sound_clips"].append((clip.start_s, clip.rate, pcm.astype("<i2").tobytes()))
        self._buffered += clip.samples.size * 2

    def add_events(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, BurstEnd):
                b = event.burst
                self._rows["bursts"].append((b.start_index, b.end_index, b.kind, b.peak))
            elif isinstance(event, EpisodeEnd):
                e = event.episode
                self._rows["episodes"].append(
                    (
                        e.start_index,
                        e.end_index,
                        e.kind,
                        e.bursts,
                        e.phasic_bursts,
                        e.tonic_bursts,
                        e.peak_level,
                        e.peak_pct_mvc,
                        int(e.artifact),
                    )
                )
            elif isinstance(event, QualityChanged):
                self._rows["quality"].append((event.at_s, event.channel, ",".join(event.flags)))
            elif isinstance(event, Gap | EpisodeStart | MainsChanged):
                self._rows["events"].append(
                    (
                        round(getattr(event, "at_s", 0.0), 6),
                        type(event).__name__,
                        json.dumps(dataclasses.asdict(event)),
                    )
                )

    def set_calibration(
        self, calibration: Calibration | None, calibration_s: tuple[float, float]
    ) -> None:
        """Record the calibration done at the start, and the stretch it took (not scored)."""
        try:
            row = self.db.execute("SELECT config FROM session").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot save the calibration ({exc})") from None
        config = json.loads(row[0] or "{}")
        config["calibration_s"] = list(calibration_s)
        self._execute(
            "save the calibration",
            "UPDATE session SET calibration=?, config=? WHERE id=1",
            (json.dumps(calibration.to_dict()) if calibration else None, json.dumps(config)),
        )

    def add_mark(self, at_s: float, label: str) -> None:
        """A marker the wearer set (e.g. "woke up", "talking")."""
        self._rows["events"].append((round(at_s, 6), "Mark", json.dumps({"label": label})))

    def add_notice(self, at_s: float, text: str) -> None:
        """Something the device's link said (silence, reconnecting, data again)."""
        self._rows["events"].append((round(at_s, 6), "Notice", json.dumps({"text": text})))

    def add_feedback(self, record: FeedbackRecord) -> None:
        self._rows["feedback"].append(
            (
                record.trigger_index,
                record.at_s,
                int(record.fired),
                record.action,
                record.strength,
                record.ms,
                record.latency_ms,
                record.reason,
            )
        )

    def flush(self, force: bool = False) -> bool:
        """Commit what is buffered if a second has passed (or `force`); True if it did."""
        now = time.monotonic()
        due = now - self._last_flush >= FLUSH_INTERVAL_S or self._buffered >= FLUSH_BYTES
        if not (force or due):
            return False
        self._last_flush = now
        self._buffered = 0
        blocks = _merge(self._chunks)
        self._chunks = []
        # the last minute's one-second blocks are stored again as one: small compressed
        # rows would leave most of each SQLite page empty (the same transaction: a crash
        # keeps either the small blocks or the joined one)
        new_samples = sum(b.shape[1] for _, b in blocks)
        join = JOIN_S * self.info.fs  # blocks as long alone (a fast source's) stay as they are
        small = [(first, b) for first, b in blocks if b.shape[1] < join]
        recent = self._recent + small
        replaced: list[int] = []
        if sum(b.shape[1] for _, b in recent) >= join and len(recent) > 1:
            replaced = [first for first, _ in self._recent]
            blocks = [(first, b) for first, b in blocks if b.shape[1] >= join]
            blocks += _merge_blocks(recent)
            recent = []
        aux = [
            (stream, first, data.shape[1], data.astype("<f4").tobytes())
            for stream, chunks in self._aux_chunks.items()
            for first, data in _merge(chunks)
        ]
        for chunks in self._aux_chunks.values():
            chunks.clear()
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "DELETE FROM blocks WHERE first_index = ?", [(first,) for first in replaced]
            )
            self.db.executemany(
                "INSERT INTO blocks VALUES (?, ?, ?, ?)",
                [
                    (first, data.shape[1], blob, codec)
                    for first, data in blocks
                    for codec, blob in [encode_block(data, self.info.steps)]
                ],
            )
            for table, rows in self._rows.items():
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                    rows.clear()
            self.db.executemany("INSERT INTO aux_blocks VALUES (?, ?, ?, ?)", aux)
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise StoreError(
                f"{self.path}: cannot write ({exc}); what was saved stays readable"
            ) from None
        self._recent = recent
        self.samples_written += new_samples
        return True

    def finish(self, reason: str = "stopped") -> None:
        """Flush, mark the session finished, checkpoint the WAL and release the file."""
        if self.closed:
            return
        try:
            self.flush(force=True)
            self._execute(
                "finish the recording",
                "UPDATE session SET status='finished', ended_at=?, end_reason=? WHERE id=1",
                (dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), reason),
            )
            self._execute("finish the recording", "PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
            os.close(self._lock_fd)
            self.closed = True

    def _execute(self, what: str, sql: str, parameters: tuple = ()) -> None:
        """One statement; a storage failure (full disk, read-only, I/O error) is a StoreError
        whose one line says what could not be done."""
        try:
            self.db.execute(sql, parameters)
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot {what} ({exc}); what was saved stays readable"
            ) from None


def _merge_blocks(blocks: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """Contiguous blocks joined (first index, float32 (channels, n))."""
    return _merge([Chunk(first, data) for first, data in blocks])


def _merge(chunks: list[Chunk]) -> list[tuple[int, np.ndarray]]:
    """Contiguous chunks joined into blocks (first index, float32 (channels, n))."""
    blocks: list[tuple[int, list[np.ndarray], int]] = []
    for c in chunks:
        if blocks and blocks[-1][2] == c.first_index:
            first, parts, _ = blocks[-1]
            parts.append(c.samples)
            blocks[-1] = (first, parts, c.end_index)
        else:
            blocks.append((c.first_index, [c.samples], c.end_index))
    return [
        (first, np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32))
        for first, parts, _ in blocks
    ]
