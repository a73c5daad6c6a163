"""Reading a night (`Recording`), also while it is still being written; damage in the file
is one line naming it (`DamagedRecording`), never a sqlite3 traceback. The file format is
`night_schema.py`; the writer `night_writer.py`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal.calibration import Calibration
from bruxwatch.signal.sound import Clip
from bruxwatch.store.block_codec import decode_block
from bruxwatch.store.night_schema import SessionInfo, is_sqlite
from bruxwatch.stream import Chunk, StreamInfo


class DamagedRecording(StoreError):
    """SQLite found the file damaged (bytes changed on the disk, a broken copy)."""


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
            if is_sqlite(self.path) and "no such table" not in str(exc):
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
        steps = json.loads(meta["config"] or "{}").get("adc_steps")
        columns = {r[1] for r in db.execute("PRAGMA table_info(blocks)")}
        # a night of schema 1 has no codec column: its blocks are plain float32
        self._codec = "codec" if "codec" in columns else "NULL"
        self.info = StreamInfo(
            fs=meta["fs"],
            channels=tuple(json.loads(meta["channels"])),
            units=meta["units"],
            kind=meta["kind"],
            device=meta["device"],
            rails=tuple(rails) if rails else None,
            steps=tuple(steps) if steps else None,
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

    def chunks(self, max_samples: int = 1 << 17, read_ahead: int = 0) -> Iterator[Chunk]:
        """The samples as recorded, in order, with gaps as `missing_before`.

        read_ahead: blocks decoded ahead in a thread of their own while the caller works on
        the ones before (decompression lets other threads run): scoring a night reads it
        in about the time it scores it, instead of one after the other. 0: none.
        """
        n_channels = self.info.n_channels
        rows = self.db.execute(
            f"SELECT first_index, n, data, {self._codec} FROM blocks ORDER BY first_index"
        )
        expected = None
        for first, n, samples in _decoded(rows, n_channels, read_ahead):
            missing = 0 if expected is None else first - expected
            for k in range(0, n, max_samples):
                yield Chunk(first + k, samples[:, k : k + max_samples], missing if k == 0 else 0)
            expected = first + n

    def read(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first index, samples) of the recorded stretches inside [start, stop)."""
        n_channels = self.info.n_channels
        rows = self.db.execute(
            f"SELECT first_index, n, data, {self._codec} FROM blocks"
            " WHERE first_index < ? AND first_index + n > ? ORDER BY first_index",
            (stop, start),
        )
        for first, n, data, codec in rows:
            samples = decode_block(codec, data, n_channels, n)
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

    def aux_streams(self) -> dict[str, StreamInfo]:
        """The auxiliary streams recorded beside the EMG (name -> what it is); none for a
        night recorded before they were stored."""
        try:
            rows = self.db.execute("SELECT name, fs, channels, units, device FROM aux_streams")
            found = rows.fetchall()
        except StoreError as exc:
            if "no such table" in str(exc):
                return {}
            raise
        return {
            name: StreamInfo(
                fs=fs, channels=tuple(json.loads(channels)), units=units, kind="aux", device=device
            )
            for name, fs, channels, units, device in found
        }

    def aux_samples(self, stream: str) -> tuple[np.ndarray, np.ndarray]:
        """An auxiliary stream's samples (channels, n) float32 and their indexes (n,) on its
        own clock (index / its fs = seconds from the night's start), gaps left out."""
        info = self.aux_streams()[stream]
        rows = self.db.execute(
            "SELECT first_index, n, data FROM aux_blocks WHERE stream = ? ORDER BY first_index",
            (stream,),
        ).fetchall()
        if not rows:
            return np.zeros((info.n_channels, 0), np.float32), np.zeros(0, np.int64)
        values = [np.frombuffer(d, dtype="<f4").reshape(info.n_channels, n) for _, n, d in rows]
        index = np.concatenate([np.arange(first, first + n) for first, n, _ in rows])
        return np.concatenate(values, axis=1), index

    def sound(self) -> dict | None:
        """The microphone that listened this night ({"device", "rate", "before_s",
        "after_s"}), or None: the night had none (or was recorded before sound was kept)."""
        try:
            row = self.db.execute("SELECT device, rate, before_s, after_s FROM sound").fetchone()
        except StoreError as exc:
            if "no such table" in str(exc):
                return None
            raise
        if row is None:
            return None
        return dict(zip(("device", "rate", "before_s", "after_s"), row, strict=True))

    def sound_clips(self) -> list[Clip] | None:
        """The sound clips kept around episodes, in time order (full scale 1.0); None for a
        night with no microphone."""
        if self.sound() is None:
            return None
        rows = self.db.execute("SELECT start_s, rate, pcm FROM sound_clips ORDER BY start_s")
        return [
            Clip(start_s, rate, np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32767.0)
            for start_s, rate, pcm in rows.fetchall()
        ]

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

    def notices(self) -> list[tuple[float, str]]:
        """(time s, text) of what the link and the lead-off alarm said, in order."""
        rows = self.db.execute("SELECT at_s, data FROM events WHERE kind='Notice' ORDER BY at_s")
        return [(at, json.loads(data or "{}").get("text", "")) for at, data in rows]

    def integrity_ok(self) -> bool:
        try:
            return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except DamagedRecording:
            return False


def write_copy(recording: Recording, path: Path, options: object) -> str:
    """`export --copy`: the night in one self-contained file (Recording.copy_to)."""
    recording.copy_to(path)
    return f"{path} (the whole night in one file)"


def _decoded(
    rows: Iterable[tuple[int, int, bytes, str | None]], n_channels: int, ahead: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first index, n, samples) of stored block rows, in order; with `ahead` > 0 up to that
    many blocks are decoded in a worker thread ahead of the one handed on (the rows are
    still fetched in the caller's thread, which owns the SQLite connection)."""
    if ahead <= 0:
        for first, n, data, codec in rows:
            yield first, n, decode_block(codec, data, n_channels, n)
        return
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending: deque[tuple[int, int, Future[np.ndarray]]] = deque()
        for first, n, data, codec in rows:
            pending.append((first, n, worker.submit(decode_block, codec, data, n_channels, n)))
            if len(pending) > ahead:
                first, n, decoding = pending.popleft()
                yield first, n, decoding.result()
        while pending:
            first, n, decoding = pending.popleft()
            yield first, n, decoding.result()
