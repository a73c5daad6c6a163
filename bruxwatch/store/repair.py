"""`bruxwatch repair`: what SQLite can still read of a damaged night, in a new file.

Bytes changed on a disk or in a broken copy make SQLite refuse whole queries ("database disk
image is malformed"), so one damaged page would hide the whole night. Here every table is
walked row by row in rowid order; where a row cannot be reached, the walk jumps ahead over the
damaged stretch and bisects back to the first readable row after it. Sample blocks are kept
only if their size matches the channels; the samples lost become gaps, so re-scoring counts
the night's hours exactly. The original is opened read-only and never changed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# the tables of a recording and their columns
from bruxwatch.errors import StoreError
from bruxwatch.store.block_codec import decode_block
from bruxwatch.store.night_schema import SCHEMA
from bruxwatch.store.private import private_path

# the tables of a recording and their columns
TABLES: dict[str, tuple[str, ...]] = {
    "gaps": ("at_index", "missing"),  # before blocks: the recorder's own gaps come first
    "blocks": ("first_index", "n", "data", "codec"),
    "bursts": ("start_index", "end_index", "kind", "peak"),
    "episodes": (
        "start_index",
        "end_index",
        "kind",
        "bursts",
        "phasic_bursts",
        "tonic_bursts",
        "peak_level",
        "peak_pct_mvc",
        "artifact",
    ),
    "quality": ("at_s", "channel", "flags"),
    "feedback": (
        "trigger_index",
        "at_s",
        "fired",
        "action",
        "strength",
        "ms",
        "latency_ms",
        "reason",
    ),
    "events": ("at_s", "kind", "data"),
    "aux_streams": ("name", "fs", "channels", "units", "device"),
    "aux_blocks": ("stream", "first_index", "n", "data"),
    "sound": ("device", "rate", "before_s", "after_s"),
    "sound_clips": ("start_s", "rate", "pcm"),
}
MAX_JUMP = 1 << 62
"""The furthest the walk jumps past damage before it gives up on a table (rowids are sample
indexes for blocks, so jumps must reach far)."""


@dataclass
class Salvaged:
    """What a repair kept: rows per table, rows that could not be read (or were not
    whole), and the samples per channel kept and lost (lost ones are gaps now)."""

    path: Path
    kept: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    samples_kept: int = 0
    samples_lost: int = 0
    fs: float = 0.0

    @property
    def lost_s(self) -> float:
        return self.samples_lost / self.fs if self.fs else 0.0

    def text(self) -> str:
        lost = sum(self.unreadable.values())
        return (
            f"saved {self.path}: {self.samples_kept / self.fs / 3600:.2f} h of samples kept, "
            f"{self.lost_s:.1f} s lost to damage (now gaps); "
            f"{sum(self.kept.values())} rows kept, {lost} unreadable"
        )


def _readable_rows(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> Iterator:
    """The rows of `table` SQLite can reach, in rowid order, with None for each stretch of
    damage it had to jump over."""
    query = (
        f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1"
    )

    def seek(after: int):
        return db.execute(query, (after,)).fetchone()

    last = -(1 << 63)
    while True:
        try:
            row = seek(last)
        except sqlite3.DatabaseError:
            row = None
            bad, jump = last, 1
            while jump <= MAX_JUMP:  # jump ahead until a seek works again
                probe = min(last + jump, (1 << 63) - 2)
                try:
                    row = seek(probe)
                    break
                except sqlite3.DatabaseError:
                    bad, jump = probe, jump * 2
            else:
                yield None  # damage up to the end of the table
                return
            good = probe
            while good - bad > 1:  # back to the first row readable after the damage
                middle = (bad + good) // 2
                try:
                    found = seek(middle)
                except sqlite3.DatabaseError:
                    bad = middle
                    continue
                good, row = middle, found
            yield None  # one stretch of damage (its rows are unknown)
        if row is None:
            return
        last = row[0]
        yield row[1:]


def salvage(source: str | Path, out: str | Path) -> Salvaged:
    """Copy what can be read of the recording `source` into the new file `out` (0600,
    written whole or not at all). StoreError when even its session record is lost."""
    source, out = Path(source), Path(out)
    if out.exists():
        raise StoreError(f"{out}: already exists; give another --out")
    try:
        db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        names = [d[0] for d in db.execute("SELECT * FROM session").description]
        session = db.execute("SELECT * FROM session WHERE id=1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{source}: its session record cannot be read ({exc}); nothing to save"
        ) from None
    if session is None:
        raise StoreError(f"{source}: the recording has no session record; nothing to save")
    meta = dict(zip(names, session, strict=True))
    n_channels = len(json.loads(meta["channels"]))
    result = Salvaged(out, fs=float(meta["fs"]))
    with private_path(out) as temporary:
        target = sqlite3.connect(temporary)
        try:
            target.executescript(SCHEMA)
            target.execute(f"INSERT INTO session VALUES ({', '.join('?' * len(session))})", session)
            present = _tables_in(db)
            for table, columns in TABLES.items():
                if present is not None and table not in present:
                    continue  # a night recorded before the table existed
                if table == "blocks" and not _has_codec_column(db):
                    columns = ("first_index", "n", "data", "NULL")  # schema 1: float32 blocks
                kept = _copy_table(db, target, table, columns, n_channels, result)
                result.kept[table] = kept
            target.execute(
                "INSERT INTO events VALUES (?, 'Notice', ?)",
                (
                    0.0,
                    json.dumps(
                        {
                            "text": f"repaired from a damaged file ({source.name}): "
                            f"{result.lost_s:.1f} s of samples lost"
                        }
                    ),
                ),
            )
            target.commit()
        finally:
            target.close()
            db.close()
    return result


def _decodes(codec: object, data: bytes, n_channels: int, n: int) -> bool:
    """Whether a block's bytes decode to its samples (a damaged blob does not)."""
    try:
        decode_block(codec if isinstance(codec, str) else None, data, n_channels, n)
    except Exception:  # noqa: BLE001 - whatever a broken blob makes the decoder raise
        return False
    return True


def _has_codec_column(db: sqlite3.Connection) -> bool:
    """Whether the damaged file's blocks name their codec (schema 2 on)."""
    try:
        return any(row[1] == "codec" for row in db.execute("PRAGMA table_info(blocks)"))
    except sqlite3.DatabaseError:
        return True  # unreadable: try the current columns


def _tables_in(db: sqlite3.Connection) -> set[str] | None:
    """The tables the damaged file has, or None when even that cannot be read."""
    try:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        return None


def _copy_table(
    db: sqlite3.Connection,
    target: sqlite3.Connection,
    table: str,
    columns: tuple[str, ...],
    n_channels: int,
    result: Salvaged,
) -> int:
    """Copy `table`'s readable rows; for blocks, keep only whole ones and write a gap where
    blocks were lost (the recorder's own gaps, copied before, are not counted as lost)."""
    kept = unreadable = 0
    expected: int | None = None
    known_gaps = {at for (at,) in target.execute("SELECT at_index FROM gaps")}
    insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})"
    for row in _readable_rows(db, table, columns):
        if row is None:
            unreadable += 1
            continue
        if table == "blocks":
            first, n, data, codec = row
            whole = (
                isinstance(first, int)
                and isinstance(n, int)
                and n > 0
                and isinstance(data, bytes)
                and (expected is None or first >= expected)
                and _decodes(codec, data, n_channels, n)
            )
            if not whole:
                unreadable += 1
                continue
            if expected is not None and first > expected and first not in known_gaps:
                result.samples_lost += first - expected
                target.execute("INSERT INTO gaps VALUES (?, ?)", (first, first - expected))
            result.samples_kept += n
            expected = first + n
        target.execute(insert, row)
        kept += 1
    result.unreadable[table] = unreadable
    return kept
