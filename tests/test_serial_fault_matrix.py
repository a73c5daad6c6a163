"""The fault matrix of the serial boards: every fault alone and mixed, on the real readers over
a pseudo-terminal. Each received sample is found among what the board sent, and its index
checked: exactly for faults the sample counters tell (drops, corruption, duplicates, junk),
to the host clock's precision for outages (a stall, a vanished port, a reset)."""

from __future__ import annotations

import bisect
import time

import numpy as np
import pytest

from bruxwatch.devices.arduino import ArduinoBoard
from bruxwatch.devices.cyton import CytonBoard
from bruxwatch.emulated.pty_board import Faults
from bruxwatch.emulated.serial_boards import ArduinoEmulator, CytonEmulator
from bruxwatch.stream import EMG

COUNTED = {
    "drop": "drop=0.03",
    "corrupt": "corrupt=0.05",
    "duplicate": "duplicate=0.03",
    "junk": "junk=0.03",
    "garbage": "garbage=0.03",
    "mixed": "drop=0.02,corrupt=0.03,duplicate=0.02,junk=0.02,garbage=0.02",
}
OUTAGES = {
    "stall": "stall=1.5:3",
    "vanish": "vanish=1.5:2",
    "reset": "reset=1.5",
    "mixed outage": "drop=0.01,corrupt=0.02,duplicate=0.01,junk=0.01,stall=1.5:3",
}
BOARDS = {
    "cyton": (CytonEmulator, CytonBoard),
    "arduino": (ArduinoEmulator, ArduinoBoard),
}


def run(board_kind: str, faults: str, speed: float, seconds: float, seed: int = 4):
    """Read the board until `seconds` have passed, or 2.5 s of stream after an outage."""
    emulator_type, board_type = BOARDS[board_kind]
    parsed = Faults.parse(faults + f",seed={seed}")
    fs = emulator_type.fs
    with emulator_type(speed=speed, record=True, faults=parsed, seed=seed) as emu:
        # a board that does not answer is given 1 s, not 3 (the outages come sooner to an end)
        timeout = {"reply_timeout_s": 1.0} if board_kind == "cyton" else {"info_timeout_s": 1.0}
        board = board_type(emu.path, **timeout)
        notices: list[str] = []
        board.on_notice = notices.append
        chunks = []
        deadline = time.monotonic() + seconds
        resumed: int | None = None
        for chunk in board.chunks():
            if chunk.stream != EMG:  # the Cyton's accelerometer: not what this test counts
                continue
            chunks.append(chunk)
            if chunk.missing_before >= 0.5 * fs:
                resumed = chunk.first_index
            if time.monotonic() > deadline or (
                resumed is not None and chunk.end_index - resumed >= 2.5 * fs * speed
            ):
                break
        board.close()
        sent = sent_samples(emu, board_kind)
    return chunks, sent, notices, board


def sent_samples(emu, board_kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(truth index per sample, values (n, channels)) of everything the board sent."""
    dropped = set(emu.log.dropped)
    index, values = [], []
    for first, encoded in zip(emu.log.numbers, emu.log.values, strict=True):
        if first in dropped:
            continue
        if board_kind == "cyton":
            index.append(first)
            values.append(encoded[:2])
        else:
            for k in range(encoded.shape[1]):
                index.append(first + k)
                values.append(encoded[:, k])
    return np.asarray(index), np.asarray(values, dtype=np.float64)


def index_errors(chunks, sent, board_kind: str) -> tuple[np.ndarray, np.ndarray]:
    """For each received sample found among the sent ones (in order, by its value and the
    values after it), its host index and the host index minus the board's own; a sample
    whose value a corrupted byte changed is not found and skipped. The Arduino's counts
    barely move at rest, so it is matched on a longer run of samples."""
    lookahead = 4 if board_kind == "cyton" else 16
    host_index = np.concatenate([np.arange(c.first_index, c.end_index) for c in chunks])
    host_values = np.concatenate([c.samples for c in chunks], axis=1).T.astype(np.float64)
    truth_index, truth_values = sent
    digits = 3 if board_kind == "cyton" else 0
    positions: dict[tuple, list[int]] = {}
    for p, row in enumerate(np.round(truth_values, digits)):
        positions.setdefault(tuple(row), []).append(p)
    found, errors = [], []
    j = 0
    n_host, n_truth = host_values.shape[0], truth_values.shape[0]
    for k, row in enumerate(np.round(host_values, digits)):
        places = positions.get(tuple(row), [])
        # compare a run of samples that is whole on the host side: after k, or up to k (at
        # the end of the stream); a sample with neither is not matched
        ahead = (
            k + lookahead <= n_host and host_index[k + lookahead - 1] - host_index[k] < lookahead
        )
        behind = k >= lookahead - 1 and host_index[k] - host_index[k - lookahead + 1] < lookahead
        if not (ahead or behind):
            continue
        lo = 0 if ahead else lookahead - 1
        for candidate in places[bisect.bisect_left(places, j) :]:
            if candidate - lo < 0 or candidate - lo + lookahead > n_truth or k - lo < 0:
                continue
            window = (
                host_values[k - lo : k - lo + lookahead]
                - truth_values[candidate - lo : candidate - lo + lookahead]
            )
            if np.all(np.abs(window) <= 10.0**-digits):
                found.append(host_index[k])
                errors.append(host_index[k] - truth_index[candidate])
                j = candidate + 1
                break
    return np.asarray(found), np.asarray(errors)


def check_stream_is_whole(chunks) -> None:
    """Stored samples + recorded gaps = stream time, with no overlap."""
    expected = chunks[0].first_index
    for chunk in chunks:
        assert chunk.first_index == expected + chunk.missing_before
        expected = chunk.end_index
    total = sum(c.n for c in chunks) + sum(c.missing_before for c in chunks[1:])
    assert total == chunks[-1].end_index - chunks[0].first_index


@pytest.mark.parametrize("board_kind", BOARDS)
@pytest.mark.parametrize("fault", COUNTED)
def test_counted_faults_keep_every_index_exact(board_kind, fault):
    chunks, sent, notices, board = run(board_kind, COUNTED[fault], speed=4.0, seconds=3.0)
    check_stream_is_whole(chunks)
    _, errors = index_errors(chunks, sent, board_kind)
    received = sum(c.n for c in chunks)
    assert errors.size >= 0.9 * received > 1000
    assert np.all(errors == 0), np.unique(errors, return_counts=True)
    if fault in ("duplicate", "junk") and board_kind == "cyton":
        assert board.timeline.rejected > 0
    assert not notices  # nothing a user needs to hear about


@pytest.mark.parametrize("board_kind", BOARDS)
@pytest.mark.parametrize("fault", OUTAGES)
def test_outages_are_noticed_and_measured_by_the_host_clock(board_kind, fault):
    chunks, sent, notices, _ = run(board_kind, OUTAGES[fault], speed=1.0, seconds=15.0)
    check_stream_is_whole(chunks)
    found, errors = index_errors(chunks, sent, board_kind)
    fs = 250.0 if board_kind == "cyton" else 1000.0
    outage = [c for c in chunks if c.missing_before >= 0.5 * fs]
    assert len(outage) == 1, [c.missing_before for c in chunks if c.missing_before]
    after = found >= outage[0].first_index
    assert np.all(errors[~after] == 0)  # before the outage: exact
    # after it: the host clock's precision (a few ms), not the 0.2 s of a read window
    assert np.abs(errors[after]).max() <= 0.012 * fs, np.unique(errors[after], return_counts=True)
    assert after.sum() > 2 * fs  # and the stream went on
    if fault != "vanish":
        assert any("no data for 2 s" in n for n in notices), notices
    assert any("data again" in n for n in notices), notices
