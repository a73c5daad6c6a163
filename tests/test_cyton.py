"""OpenBCI Cyton: the packet codec, and the board driver against its pty emulator."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from bruxwatch.devices import cyton_protocol as proto
from bruxwatch.devices.cyton import CytonBoard
from bruxwatch.devices.emulators import CytonEmulator, Faults
from bruxwatch.devices.serial_link import DeviceError


def test_scale_matches_the_datasheet_formula():
    assert proto.uv_per_count(24) == pytest.approx(0.02235, abs=1e-5)
    assert proto.uv_per_count(1) == pytest.approx(4.5 / (2**23 - 1) * 1e6)
    with pytest.raises(ValueError):
        proto.uv_per_count(3)


def test_channel_command_bytes():
    assert proto.channel_command(1) == b"x1060110X"
    assert proto.channel_command(8, 2, bias=False, srb2=False) == b"x8010000X"


def test_packets_round_trip_every_24_bit_extreme():
    rng = np.random.default_rng(0)
    counts = rng.integers(-(2**23), 2**23, (20, 8))
    counts[0] = [-(2**23), 2**23 - 1, 0, -1, 1, 255, 256, -256]
    stream = b"".join(proto.encode_packet(i, c, accel=(i, -i, 7)) for i, c in enumerate(counts))
    decoded = proto.CytonParser().feed(stream + proto.encode_packet(20, counts[0]))
    np.testing.assert_array_equal(decoded.counts[:, :20].T, counts)
    np.testing.assert_array_equal(decoded.sample_numbers[:20], np.arange(20))
    np.testing.assert_array_equal(decoded.accel[:, 3], [3, -3, 7])


def test_a_single_corrupted_counter_is_repaired():
    np.testing.assert_array_equal(
        proto.repair_counter(9, np.array([10, 77, 12, 13])), [10, 11, 12, 13]
    )
    np.testing.assert_array_equal(proto.repair_counter(9, np.array([10, 15, 16])), [10, 15, 16])


def test_missing_samples_from_the_wrapping_counter():
    np.testing.assert_array_equal(
        proto.missing_between(254, np.array([255, 1, 2, 10])), [0, 1, 0, 7]
    )


def read(board: CytonBoard, samples: int, timeout_s: float = 20.0):
    chunks, total = [], 0
    deadline = time.monotonic() + timeout_s
    for chunk in board.chunks():
        chunks.append(chunk)
        total += chunk.n
        if total >= samples or time.monotonic() > deadline:
            break
    return chunks


def logged_uv(emulator: CytonEmulator, channels: tuple[int, ...]) -> dict[int, np.ndarray]:
    rows = np.asarray(channels) - 1
    return {n: v[rows] for n, v in zip(emulator.log.numbers, emulator.log.values, strict=True)}


@pytest.mark.parametrize("gain", proto.GAINS)
def test_decoded_microvolts_equal_what_the_emulator_encoded(gain):
    with CytonEmulator(speed=4.0, record=True, seed=gain) as emu:
        board = CytonBoard(emu.path, channels=(1, 2, 5), gain=gain)
        chunks = read(board, 120)
        board.close()
        assert emu.gains[0] == emu.gains[1] == emu.gains[4] == gain
        sent = logged_uv(emu, (1, 2, 5))
    index = itertools.count()
    for chunk in chunks:
        assert chunk.missing_before == 0
        for column in chunk.samples.T:
            np.testing.assert_allclose(column, sent[next(index)], rtol=1e-6, atol=1e-6)


def test_open_and_close_dialogue():
    with CytonEmulator(speed=4.0) as emu:
        board = CytonBoard(emu.path)
        read(board, 10)
        board.close()
        time.sleep(0.1)
        sent = b"".join(emu.commands)
    assert sent == b"svx1060110Xx2060110Xbs"


def test_dropped_packets_become_exact_gaps():
    with CytonEmulator(speed=4.0, record=True, faults=Faults(drop=0.05, seed=3)) as emu:
        board = CytonBoard(emu.path)
        chunks = read(board, 1500)
        board.close()
        dropped = set(emu.log.dropped)
    received = {c.first_index + k for c in chunks for k in range(c.n)}
    last = max(received)
    assert dropped and received.isdisjoint(dropped)
    assert received | {d for d in dropped if d < last} == set(range(last + 1))
    assert sum(c.missing_before for c in chunks) == len([d for d in dropped if d < last])


def test_corrupt_bytes_and_garbage_resync_and_keep_values_right():
    faults = Faults(corrupt=0.03, garbage=0.03, seed=5)
    with CytonEmulator(speed=4.0, record=True, faults=faults) as emu:
        board = CytonBoard(emu.path)
        chunks = read(board, 1500)
        board.close()
        sent = logged_uv(emu, (1, 2))
    assert board.parser.skipped_bytes > 0
    good = 0
    for chunk in chunks:
        for k, column in enumerate(chunk.samples.T):
            expected = sent.get(chunk.first_index + k)
            good += expected is not None and np.allclose(column, expected, atol=1e-3)
    received = sum(c.n for c in chunks)
    assert good >= 0.93 * received  # a corrupted data byte inside a packet passes unnoticed


def test_board_switched_off_is_a_clear_error():
    with CytonEmulator(board_on=False) as emu, pytest.raises(DeviceError, match="cannot reach"):
        next(CytonBoard(emu.path).chunks())


def test_silent_port_is_a_clear_error():
    with CytonEmulator(silent=True) as emu, pytest.raises(DeviceError, match="no answer"):
        next(CytonBoard(emu.path, reply_timeout_s=0.5).chunks())


def test_reconnect_after_the_port_vanishes_keeps_time_and_data():
    faults = Faults(vanish_at_s=1.0, vanish_for_s=2.0)
    with CytonEmulator(speed=1.0, record=True, faults=faults) as emu:
        board = CytonBoard(emu.path)
        chunks = read(board, 250 * 2, timeout_s=15)
        board.close()
        sent = logged_uv(emu, (1, 2))
    gaps = [c for c in chunks if c.missing_before]
    assert len(gaps) == 1 and board.link.reconnects == 1
    gap_s = gaps[0].missing_before / proto.FS
    assert 2.0 <= gap_s <= 4.0  # the 2-s outage plus the reconnect's backoff and handshake
    before = [c for c in chunks if c.first_index < gaps[0].first_index]
    index = 0
    for chunk in before:  # nothing received before the outage is lost
        assert chunk.first_index == index
        for column in chunk.samples.T:
            np.testing.assert_allclose(column, sent[index], atol=1e-6)
            index += 1
    assert index >= 0.9 * proto.FS
