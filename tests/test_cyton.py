"""OpenBCI Cyton: the packet codec, and the board driver against its pty emulator."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from bruxwatch.devices import cyton_protocol as proto
from bruxwatch.devices.base import DeviceError
from bruxwatch.devices.cyton import CytonBoard
from bruxwatch.emulated.pty_board import Faults
from bruxwatch.emulated.serial_boards import CytonEmulator
from bruxwatch.stream import EMG


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


def place(numbers, times=None, fs=250.0):
    """Indexes the timeline gives packets that arrived at a steady rate (or at `times`)."""
    timeline = proto.CytonTimeline(fs)
    numbers = np.asarray(numbers) % 256
    times = np.arange(numbers.size) / fs if times is None else np.asarray(times, float)
    indexes, decided = timeline.place(numbers, times)
    return list(indexes[:decided]), timeline


def test_timeline_repairs_a_single_corrupted_counter():
    indexes, timeline = place([9, 10, 77, 12, 13])
    assert indexes == [0, 1, 2, 3, 4] and timeline.repaired == 1


def test_timeline_lost_packets_are_exact_gaps():
    indexes, _ = place([254, 255, 1, 2, 10, 11], times=np.array([0, 1, 3, 4, 12, 13]) / 250)
    assert indexes == [0, 1, 3, 4, 12, 13]


def test_timeline_counts_full_turns_of_the_counter_from_arrival_times():
    # 300 packets lost: the counter says 44, the clock says 1.2 s
    numbers = [10, 11, 12 + 300, 13 + 300, 14 + 300]
    times = np.array([0, 1, 302, 303, 304]) / 250 + np.array([0, 0, 0.03, 0.03, 0.03])
    indexes, _ = place(numbers, times)
    assert indexes == [0, 1, 302, 303, 304]
    # exactly 256 lost: the counter says none were
    indexes, _ = place([5, 6, 7, 8], np.array([0, 1, 258, 259]) / 250)
    assert indexes == [0, 1, 258, 259]


def test_timeline_drops_duplicates_and_junk():
    indexes, timeline = place([20, 21, 21, 22, 23])  # 21 sent twice
    assert indexes == [0, 1, -1, 2, 3]
    indexes, timeline = place([20, 21, 140, 22, 23])  # a junk packet in between
    assert indexes == [0, 1, -1, 2, 3] and timeline.rejected == 1
    indexes, _ = place([20, 21, 19, 22, 23])  # a stale repeat
    assert indexes == [0, 1, -1, 2, 3]


def test_timeline_waits_for_the_packet_that_confirms_a_jump():
    timeline = proto.CytonTimeline(250.0)
    indexes, decided = timeline.place(np.array([1, 2, 9]), np.array([0, 1, 8]) / 250)
    assert list(indexes[:decided]) == [0, 1] and decided == 2
    indexes, decided = timeline.place(np.array([9, 10]), np.array([8, 9]) / 250)
    assert list(indexes[:decided]) == [8, 9] and decided == 2


def test_timeline_after_a_restart_uses_the_host_clock():
    timeline = proto.CytonTimeline(250.0)
    timeline.place(np.array([0, 1, 2]), np.array([0, 1, 2]) / 250)
    timeline.restart()
    indexes, _ = timeline.place(np.array([0, 1]), np.array([2 + 751, 2 + 752]) / 250)
    assert list(indexes) == [753, 754]


def read(board: CytonBoard, samples: int, timeout_s: float = 20.0):
    chunks, total = [], 0
    deadline = time.monotonic() + timeout_s
    for chunk in board.chunks():
        if chunk.stream != EMG:  # the accelerometer has its own test
            continue
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
    # a packet whose successor was dropped too is not confirmed and counts as lost: the
    # timeline loses it rather than risk a wrong index
    unconfirmed = set(range(last + 1)) - received - dropped
    assert len(unconfirmed) <= board.timeline.rejected and len(unconfirmed) < 0.01 * last
    assert all(u + 1 in dropped for u in unconfirmed)
    assert sum(c.missing_before for c in chunks) == len(dropped | unconfirmed) - sum(
        d > last for d in dropped
    )


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
