"""The recording file: exact round trip, privacy, crash marking, full disks and bad paths."""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal import Calibration
from bruxwatch.signal.events import Burst, BurstEnd, Episode, EpisodeEnd, QualityChanged
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk, StreamInfo

INFO = StreamInfo(
    fs=500.0, channels=("left", "right"), units="uV", device="test board", rails=(-5e3, 5e3)
)


def chunks(seed: int = 0):
    rng = np.random.default_rng(seed)
    out, index = [], 0
    for k in range(40):
        n = int(rng.integers(1, 300))
        missing = 250 if k == 20 else 0
        index += missing
        out.append(Chunk(index, rng.normal(0, 50, (2, n)).astype(np.float32), missing))
        index += n
    return out


def test_samples_read_back_bit_for_bit_with_gaps(tmp_path):
    path = tmp_path / "night.sqlite"
    writer = RecordingWriter(
        path, INFO, mode="baseline", calibration=Calibration((2.0, 3.0), (200.0, 250.0))
    )
    sent = chunks()
    for c in sent:
        writer.append(c)
        writer.flush()
    writer.add_events(
        [
            BurstEnd(Burst(10, 400, 500.0, "phasic", 33.0)),
            EpisodeEnd(Episode(10, 2000, 500.0, "tonic", 1, 0, 1, 80.0, 80.0)),
            QualityChanged(3.0, 1, ("flat",)),
        ]
    )
    writer.add_feedback(FeedbackRecord(250, 0.5, False, "none", 180, 300, None, "baseline: clench"))
    writer.finish("duration reached")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with Recording(path) as rec:
        assert rec.session.status == "finished" and rec.session.end_reason == "duration reached"
        assert rec.session.mode == "baseline" and rec.session.calibration.mvc == (200.0, 250.0)
        assert rec.info == INFO
        got = list(rec.chunks())
        values, index = rec.samples()
        assert rec.gaps() == [(sent[20].first_index, 250)]
        assert (
            rec.episodes()[0]["kind"] == "tonic" and rec.feedback()[0].reason == "baseline: clench"
        )
        assert rec.integrity_ok()
    np.testing.assert_array_equal(values, np.concatenate([c.samples for c in sent], axis=1))
    np.testing.assert_array_equal(
        index, np.concatenate([np.arange(c.first_index, c.end_index) for c in sent])
    )
    assert [c.missing_before for c in got if c.missing_before] == [250]


@pytest.mark.parametrize("read_ahead", [1, 3, 100])
def test_blocks_decoded_ahead_come_back_the_same_and_in_order(tmp_path, read_ahead):
    path = tmp_path / "night.sqlite"
    writer = RecordingWriter(path, INFO, mode="baseline")
    for c in chunks(seed=read_ahead):
        writer.append(c)
        writer.flush(force=True)  # one stored block per chunk: many to decode ahead
    writer.finish()
    with Recording(path) as rec:
        plain = list(rec.chunks(max_samples=100))
        ahead = list(rec.chunks(max_samples=100, read_ahead=read_ahead))
        partly = rec.chunks(read_ahead=read_ahead)
        first = next(partly)
        partly.close()  # a reader that stops early leaves nothing running
    assert len(plain) > 40 and len(ahead) == len(plain)
    for a, b in zip(plain, ahead, strict=True):
        assert (a.first_index, a.missing_before) == (b.first_index, b.missing_before)
        np.testing.assert_array_equal(a.samples, b.samples)
    assert first.first_index == 0


def test_a_writer_that_died_leaves_an_interrupted_but_readable_file(tmp_path):
    path = tmp_path / "night.sqlite"
    writer = RecordingWriter(path, INFO)
    for c in chunks()[:10]:
        writer.append(c)
    writer.flush(force=True)
    with Recording(path) as live:  # the writer still holds its lock: still recording
        assert live.session.status == "recording" and live.n_samples > 0
    os.close(writer._lock_fd)  # the process dies: its lock goes, nothing is finished
    with Recording(path) as rec:
        assert rec.session.status == "interrupted" and "crash" in rec.session.end_reason
        assert rec.n_samples == sum(c.n for c in chunks()[:10])
        assert rec.integrity_ok()


def test_an_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "night.sqlite"
    path.write_text("precious")
    with pytest.raises(StoreError, match="already exists"):
        RecordingWriter(path, INFO)
    assert path.read_text() == "precious"


def test_missing_or_unwritable_folder(tmp_path):
    with pytest.raises(StoreError, match="no such folder"):
        RecordingWriter(tmp_path / "nope" / "night.sqlite", INFO)
    with pytest.raises(StoreError, match="cannot create"):
        RecordingWriter("/dev/null/night.sqlite", INFO)  # unwritable even for root
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(StoreError, match="permission denied"):
            RecordingWriter(locked / "night.sqlite", INFO)
    finally:
        locked.chmod(0o700)


def test_a_full_disk_is_a_clear_error_and_the_saved_part_stays_readable(tmp_path):
    path = tmp_path / "night.sqlite"
    writer = RecordingWriter(path, INFO)
    first = chunks()[:5]
    for c in first:
        writer.append(c)
    writer.flush(force=True)
    pages = writer.db.execute("PRAGMA page_count").fetchone()[0]
    writer.db.execute(f"PRAGMA max_page_count={pages + 2}")  # the disk is now full
    noise = np.random.default_rng(0).normal(size=(2, 50_000)).astype(np.float32)
    writer.append(Chunk(10_000, noise))  # (zeros would compress to almost nothing)
    with pytest.raises(StoreError, match="cannot write"):
        writer.flush(force=True)
    os.close(writer._lock_fd)
    writer.db.close()
    with Recording(path) as rec:
        assert rec.n_samples == sum(c.n for c in first) and rec.integrity_ok()


def test_not_a_recording(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"x" * 5000)
    with pytest.raises(StoreError, match="not a bruxwatch recording"):
        Recording(junk)
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StoreError):
        Recording(empty)
    with pytest.raises(StoreError, match="no such recording"):
        Recording(tmp_path / "missing.sqlite")


def test_chunk_indexes_are_python_ints_wherever_they_come_from(tmp_path):
    """numpy integers (what counter arithmetic makes) become ints; sqlite3 would store a numpy
    integer as a BLOB ("datatype mismatch" on the primary key)."""
    chunk = Chunk(np.int64(250), np.zeros((2, 5), np.float32), np.uint8(3))
    assert type(chunk.first_index) is int and type(chunk.missing_before) is int
    with pytest.raises(TypeError, match="must be integers"):
        Chunk(2.0, np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="negative"):
        Chunk(0, np.zeros((2, 5), np.float32), -1)
    info = StreamInfo(fs=250.0, channels=("a", "b"))
    writer = RecordingWriter(tmp_path / "n.sqlite", info)
    writer.append(Chunk(np.int64(0), np.ones((2, 5), np.float32)))
    writer.append(Chunk(np.int64(7), np.ones((2, 5), np.float32), np.int64(2)))
    forged = Chunk(10, np.ones((2, 5), np.float32))
    forged.first_index = np.int64(12)  # set after construction: the store still refuses it
    with pytest.raises(StoreError, match="not Python ints"):
        writer.append(forged)
    writer.finish()
    with Recording(tmp_path / "n.sqlite") as rec:
        assert rec.n_samples == 10 and rec.gaps() == [(7, 2)]
