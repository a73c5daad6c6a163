"""Samples are stored compressed and come back bit for bit: FLAC of the ADC's counts where
the stream says its step, byte-grouped float32 with zlib otherwise, and nights written
before (plain float32 blocks) still read and repair."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bruxwatch.cli import main
from bruxwatch.emulated.serial_boards import CytonEmulator
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.store.block_codec import FLAC, FLOAT_ZLIB, decode_block, encode_block
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk

CYTON_STEP = float(np.float32(4.5 / 24 / (2**23 - 1) * 1e6))


def roundtrip(samples, steps):
    codec, blob = encode_block(samples, steps)
    back = decode_block(codec, blob, *samples.shape)
    assert back.dtype == np.float32 and back.tobytes() == samples.tobytes()
    return codec, blob


@settings(max_examples=40, deadline=None)
@given(
    channels=st.integers(1, 8),
    n=st.integers(1, 600),
    spread=st.sampled_from([3, 300, 30_000, 2**23 - 1]),
    seed=st.integers(0, 2**16),
    float32_product=st.booleans(),
)
def test_counts_come_back_bit_for_bit(channels, n, spread, seed, float32_product):
    rng = np.random.default_rng(seed)
    counts = rng.integers(-spread, spread + 1, (channels, n))
    if float32_product:  # as the Cyton's reader multiplies
        samples = counts.astype(np.float32) * np.float32(CYTON_STEP)
    else:  # as the Ganglion's does
        samples = (counts * CYTON_STEP).astype(np.float32)
    codec, _ = roundtrip(samples, (CYTON_STEP,) * channels)
    assert codec == FLAC


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(
        st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=2, max_size=400
    )
)
def test_any_floats_come_back_bit_for_bit(values):
    samples = np.asarray(values, dtype=np.float32)[None, :]
    codec, _ = roundtrip(samples, None)
    assert codec == FLOAT_ZLIB


def test_what_flac_cannot_hold_exactly_is_stored_as_floats():
    rng = np.random.default_rng(1)
    counts = rng.integers(-500, 500, (2, 1000)).astype(np.float32)
    assert roundtrip(counts, (1.0, 1.0))[0] == FLAC
    assert roundtrip(counts + 0.5, (1.0, 1.0))[0] == FLOAT_ZLIB  # not whole counts
    assert roundtrip(counts, (3.0, 3.0))[0] == FLOAT_ZLIB  # not the stream's step
    assert roundtrip(counts * 2**16, (1.0, 1.0))[0] == FLOAT_ZLIB  # beyond 24 bits
    nine = rng.integers(-500, 500, (9, 100)).astype(np.float32)
    assert roundtrip(nine, (1.0,) * 9)[0] == FLOAT_ZLIB  # FLAC holds 8 channels
    with pytest.raises(ValueError, match="unknown sample codec"):
        decode_block("zz", b"", 1, 1)


def quantized_night(path, minutes=3.0):
    sim = Simulator(
        SimulatorConfig(scenario="night", duration_s=minutes * 60, seed=5, adc_step_uv=CYTON_STEP)
    )
    x = sim.generate()
    writer = RecordingWriter(path, sim.info)
    for start in range(0, x.shape[1], 1000):  # one block a second, as a live night
        writer.append(Chunk(start, x[:, start : start + 1000]))
        writer.flush(force=True)
    writer.finish("test")
    return sim, x


def test_a_cyton_like_night_takes_under_1_5_bytes_a_sample_and_reads_back_exactly(tmp_path):
    path = tmp_path / "night.sqlite"
    sim, x = quantized_night(path)
    with Recording(path) as night:
        values, index = night.samples()
        assert values.tobytes() == x.tobytes() and index.size == x.shape[1]
        assert night.info.steps == sim.info.steps
        rows = night.db.execute(
            "SELECT codec, SUM(LENGTH(data)), SUM(n) FROM blocks GROUP BY codec"
        )
        ((codec, stored, n),) = rows.fetchall()
    assert codec == FLAC and stored / (n * 2) < 1.5
    assert path.stat().st_size / x.size < 1.6  # the whole file, with SQLite's pages


def test_a_night_written_before_compression_still_reads_and_repairs(tmp_path):
    path = tmp_path / "old.sqlite"
    _sim, x = quantized_night(path, minutes=1.0)
    db = sqlite3.connect(path)  # rewrite it as schema 1 wrote it: plain float32, no codec
    rows = db.execute("SELECT first_index, n, data, codec FROM blocks").fetchall()
    db.execute("DROP TABLE blocks")
    db.execute(
        "CREATE TABLE blocks (first_index INTEGER PRIMARY KEY, n INTEGER NOT NULL, "
        "data BLOB NOT NULL)"
    )
    for first, n, data, codec in rows:
        plain = decode_block(codec, data, 2, n).astype("<f4").tobytes()
        db.execute("INSERT INTO blocks VALUES (?, ?, ?)", (first, n, plain))
    db.execute("UPDATE session SET schema_version = 1")
    db.commit()
    db.close()
    with Recording(path) as night:
        assert night.samples()[0].tobytes() == x.tobytes()
    fixed = tmp_path / "fixed.sqlite"
    assert main(["repair", str(path), "--out", str(fixed)]) == 0
    with Recording(fixed) as night:
        assert night.samples()[0].tobytes() == x.tobytes()


def test_record_over_a_cyton_stores_its_counts(tmp_path, capsys):
    out = tmp_path / "cyton.sqlite"
    with CytonEmulator(speed=8.0) as emu:
        argv = ["record", "--device", f"cyton:{emu.path}", "--no-calibrate", "--duration", "8"]
        assert main([*argv, "--out", str(out)]) == 0
    with Recording(out) as night:
        codecs = {c for (c,) in night.db.execute("SELECT DISTINCT codec FROM blocks")}
        values, _ = night.samples()
        step = np.float32(night.info.steps[0])
        assert codecs == {FLAC}
        assert np.array_equal(np.rint(values / step).astype(np.float32) * step, values)
        n = night.n_samples * night.info.n_channels
        stored = night.db.execute("SELECT SUM(LENGTH(data)) FROM blocks").fetchone()[0]
    assert stored / n < 1.5


def test_without_libsndfile_floats_are_stored_and_flac_says_what_to_install(monkeypatch):
    import bruxwatch.store.block_codec as codec
    from bruxwatch.errors import StoreError

    counts = np.arange(-500, 500, dtype=np.float32).reshape(2, 500)
    flac_codec, flac_blob = encode_block(counts, (1.0, 1.0))
    assert flac_codec == FLAC
    monkeypatch.setattr(codec, "_soundfile", lambda: None)
    assert roundtrip(counts, (1.0, 1.0))[0] == FLOAT_ZLIB  # bigger, as exact
    with pytest.raises(StoreError, match="libsndfile cannot be loaded here: pip install soundfile"):
        decode_block(flac_codec, flac_blob, 2, 500)
