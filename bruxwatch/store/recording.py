"""One SQLite file per recording session: raw samples, events, episodes, feedback, gaps.

Crash safety: WAL journal with synchronous=FULL, one transaction about once a second, so a
crash, `kill -9` or power cut loses at most the last second. The writer holds an advisory
lock on the file while it records; opening a file whose status is still "recording" when no
writer holds the lock marks it "interrupted" (everything in it still reads). Files are
created with mode 0600: they hold health data.

Samples are stored as received (float32, in the stream's units) in blocks, so any night can be
re-scored later with other settings; reading them back gives the same values bit for bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
from bruxwatch.stream import Chunk, StreamInfo

SCHEMA_VERSION = 1
FLUSH_INTERVAL_S = 1.0
FLUSH_BYTES = 2 << 20
"""Commit early when this much sample data waits (only a faster-than-real-time source gets
there: a 1-kHz, 2-channel board sends 8 kB a second)."""

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
    data BLOB NOT NULL
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
"""


class DamagedRecording(StoreError):
    """SQLite found the file damaged (bytes changed on the disk, a broken copy)."""


SQLITE_MAGIC = b"SQLite format 3\x00"


def _read_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """One line for a failure to read `path`: damage points to `bruxwatch repair`."""
    text = str(exc)
    if any(word in text for word in ("malformed", "corrupt", "not a database")):
        return DamagedRecording(
            f"{path}: damaged ({text}); `bruxwatch repair {path}` saves what can be read "
            "into a new file"
        )
    return StoreError(f"{path}: cannot read ({text})")


class _Rows:
    """A cursor whose fetching turns SQLite's read errors into `_read_error`'s line."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path) -> None:
        self._cursor, self._path = cursor, path
        self.description = cursor.description

    def fetchone(self):
        try:
            return self._cursor.fetchone()
        except sqlite3.DatabaseError as exc:
            raise _read_error(self._path, exc) from None

    def fetchall(self) -> list:
        try:
            return self._cursor.fetchall()
        except sqlite3.DatabaseError as exc:
            raise _read_error(self._path, exc) from None

    def __iter__(self) -> Iterator:
        while True:
            try:
                row = self._cursor.fetchone()
            except sqlite3.DatabaseError as exc:
                raise _read_error(self._path, exc) from None
            if row is None:
                return
            yield row


class _ReadingConnection:
    """A recording's connection for reading: damage anywhere in the file, found when a
    query reaches it, is one StoreError naming the file (never a sqlite3 traceback)."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db, self._path = db, path

    def execute(self, sql: str, parameters: tuple = ()) -> _Rows:
        try:
            return _Rows(self._db.execute(sql, parameters), self._path)
        except sqlite3.DatabaseError as exc:
            raise _read_error(self._path, exc) from None

    @property
    def connection(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (for the backup API)."""
        return self._db

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.close()


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
        self._lock_fd = _create_private(self.path)
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
                    json.dumps(config or {}),
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
        self._rows: dict[str, list[tuple]] = {name: [] for name in _TABLES}
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
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO blocks VALUES (?, ?, ?)",
                [(first, data.shape[1], data.astype("<f4").tobytes()) for first, data in blocks],
            )
            for table, rows in self._rows.items():
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                    rows.clear()
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise StoreError(
                f"{self.path}: cannot write ({exc}); what was saved stays readable"
            ) from None
        self.samples_written += sum(b.shape[1] for _, b in blocks)
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


_TABLES = ("gaps", "bursts", "episodes", "quality", "feedback", "events")


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


def _is_sqlite(path: Path) -> bool:
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    return False


def _create_private(path: Path) -> int:
    """Create the file with mode 0600 (never over an existing one) and lock it; returns the fd."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StoreError(f"{path}: already exists; choose another file name") from None
    except FileNotFoundError:
        raise StoreError(f"{path.parent}: no such folder") from None
    except PermissionError:
        raise StoreError(f"{path}: permission denied; choose a folder you can write") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot create ({exc.strerror})") from None
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


# --------------------------------------------------------------------------- reading
class Recording:
    """A recording file opened for reading (while it is still being written, too)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise StoreError(f"{self.path}: no such recording")
        writable = os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        db = None
        try:
            db = sqlite3.connect(f"file:{self.path}?mode={'rw' if writable else 'ro'}", uri=True)
            row = db.execute("SELECT * FROM session WHERE id=1").fetchone()
            names = [d[0] for d in db.execute("SELECT * FROM session").description]
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            if _is_sqlite(self.path) and "no such table" not in str(exc):
                raise _read_error(self.path, exc) from None
            raise StoreError(f"{self.path}: not a bruxwatch recording ({exc})") from None
        if row is None:
            db.close()
            raise StoreError(f"{self.path}: the recording has no session record")
        self.db = _ReadingConnection(db, self.path)
        meta = dict(zip(names, row, strict=True))
        alive = self._writer_alive()
        if writable and not alive:
            # what a crash left in the -wal file goes into the .sqlite itself, so copying
            # the .sqlite alone copies the whole night
            with contextlib.suppress(sqlite3.Error):
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if meta["status"] == "recording" and not alive:
            reason = "the recorder stopped without finishing (crash, kill or power loss)"
            with contextlib.suppress(sqlite3.Error):  # a read-only file stays as it is
                self.db.execute(
                    "UPDATE session SET status='interrupted', end_reason=? WHERE id=1", (reason,)
                )
                self.db.commit()
            meta["status"], meta["end_reason"] = "interrupted", reason
        rails = json.loads(meta["rails"]) if meta["rails"] else None
        self.info = StreamInfo(
            fs=meta["fs"],
            channels=tuple(json.loads(meta["channels"])),
            units=meta["units"],
            kind=meta["kind"],
            device=meta["device"],
            rails=tuple(rails) if rails else None,
        )
        calibration = meta["calibration"]
        self.session = SessionInfo(
            path=self.path,
            started_at=meta["started_at"],
            device=meta["device"],
            info=self.info,
            mode=meta["mode"],
            calibration=Calibration.from_dict(json.loads(calibration)) if calibration else None,
            config=json.loads(meta["config"] or "{}"),
            status=meta["status"],
            ended_at=meta["ended_at"],
            end_reason=meta["end_reason"],
            software=meta["software"],
        )

    def copy_to(self, path: str | Path) -> None:
        """A self-contained copy of the night in one file (what sits in the -wal file too),
        0600, written whole or not at all; the original is only read."""
        from bruxwatch.store.private import private_path

        with private_path(path) as temporary:
            target = sqlite3.connect(temporary)
            try:
                self.db.connection.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.DatabaseError as exc:  # the copy's pages are written as they are
                raise StoreError(f"{path}: cannot write the copy ({exc})") from None
            finally:
                target.close()

    def _writer_alive(self) -> bool:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------- contents
    @property
    def n_samples(self) -> int:
        """Samples per channel recorded (gaps not counted)."""
        return int(self.db.execute("SELECT COALESCE(SUM(n), 0) FROM blocks").fetchone()[0])

    @property
    def end_index(self) -> int:
        row = self.db.execute("SELECT MAX(first_index + n) FROM blocks").fetchone()
        return int(row[0] or 0)

    def chunks(self, max_samples: int = 1 << 17) -> Iterator[Chunk]:
        """The samples as recorded, in order, with gaps as `missing_before`."""
        n_channels = self.info.n_channels
        expected = None
        for first, n, data in self.db.execute(
            "SELECT first_index, n, data FROM blocks ORDER BY first_index"
        ):
            samples = np.frombuffer(data, dtype="<f4").reshape(n_channels, n)
            missing = 0 if expected is None else first - expected
            for k in range(0, n, max_samples):
                yield Chunk(first + k, samples[:, k : k + max_samples], missing if k == 0 else 0)
            expected = first + n

    def read(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first index, samples) of the recorded stretches inside [start, stop)."""
        n_channels = self.info.n_channels
        rows = self.db.execute(
            "SELECT first_index, n, data FROM blocks WHERE first_index < ? AND first_index + n > ?"
            " ORDER BY first_index",
            (stop, start),
        )
        for first, n, data in rows:
            samples = np.frombuffer(data, dtype="<f4").reshape(n_channels, n)
            a, b = max(start, first) - first, min(stop, first + n) - first
            yield first + a, samples[:, a:b]

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples (channels, n) float32 and their indices (n,), gaps left out."""
        parts = list(self.chunks())
        if not parts:
            return np.zeros((self.info.n_channels, 0), np.float32), np.zeros(0, np.int64)
        values = np.concatenate([c.samples for c in parts], axis=1)
        index = np.concatenate([np.arange(c.first_index, c.end_index) for c in parts])
        return values, index

    def gaps(self) -> list[tuple[int, int]]:
        """(index where the samples resume, samples missing just before it) per gap."""
        return [
            tuple(r)
            for r in self.db.execute("SELECT at_index, missing FROM gaps ORDER BY at_index")
        ]

    def episodes(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM episodes ORDER BY start_index")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def feedback(self) -> list[FeedbackRecord]:
        rows = self.db.execute(
            "SELECT trigger_index, at_s, fired, action, strength, ms, latency_ms, reason "
            "FROM feedback ORDER BY trigger_index"
        )
        return [FeedbackRecord(r[0], r[1], bool(r[2]), *r[3:]) for r in rows]

    def marks(self) -> list[tuple[float, str]]:
        """(time s, label) of the markers the wearer set, in order."""
        rows = self.db.execute("SELECT at_s, data FROM events WHERE kind='Mark' ORDER BY at_s")
        return [(at, json.loads(data or "{}").get("label", "mark")) for at, data in rows]

    def integrity_ok(self) -> bool:
        try:
            return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except DamagedRecording:
            return False


def write_copy(recording: Recording, path: Path, options: object) -> str:
    """`export --copy`: the night in one self-contained file (Recording.copy_to)."""
    recording.copy_to(path)
    return f"{path} (the whole night in one file)"
