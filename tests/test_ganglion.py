"""The Ganglion over BLE: bleak's real BleakClient on a fake backend, serving packets from an
emulated board whose encoder follows OpenBCI's "Ganglion Data Format"."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bruxwatch.devices import ganglion_protocol as gp
from bruxwatch.devices.base import DeviceError
from bruxwatch.devices.ganglion import GanglionBoard
from bruxwatch.emulated.ble_boards import GanglionPeripheral
from bruxwatch.emulated.ble_radio import BleFaults, radio

# The worked examples of OpenBCI's "Ganglion Data Format" page (the 19 or 18 data bytes).
DOC_VECTORS = [
    (
        18,
        "00 00 00 00 20 00 28 00 04 80 00 bc 00 07 00 28 c0 0a",
        [[0, 2, 10, 4], [131074, 245760, 114698, 49162]],
    ),
    (
        18,
        "ff ff 7f ff bf ff e7 ff f5 00 01 4f 8e 30 00 1f f0 01",
        [[-3, -5, -7, -11], [-262139, -198429, -262137, -4095]],
    ),
    (
        19,
        "00 00 00 00 08 00 05 00 00 48 00 09 f0 01 b0 00 30 00 08",
        [[0, 2, 10, 4], [262148, 507910, 393222, 8]],
    ),
    (
        19,
        "ff ff bf ff ef ff fc ff ff 58 00 0b 3e 38 e0 00 3f f0 01",
        [[-3, -5, -7, -11], [-262139, -198429, -262137, -4095]],
    ),
]
_addresses = itertools.count(1)


@pytest.mark.parametrize("bits, data, expected", DOC_VECTORS)
def test_documented_examples_decode(bits, data, expected):
    values = gp.unpack_ganglion_values(bytes.fromhex(data), bits)
    assert values.reshape(2, 4).tolist() == expected


def board_and_peripheral(firmware=2, faults=None, accel=False, speed=0.0):
    address = f"EE:EE:00:00:{next(_addresses):02X}:01"
    peripheral = GanglionPeripheral(
        address, firmware=firmware, accel=accel, speed=speed, faults=faults
    )
    board = GanglionBoard(address, backend=radio(peripheral))
    return board, peripheral


def collect(board, samples: int):
    chunks = []
    for chunk in board.chunks():
        chunks.append(chunk)
        if chunks[-1].end_index >= samples:
            break
    board.close()
    return chunks


@pytest.mark.parametrize("firmware, accel", [(2, False), (2, True), (3, False), (3, True)])
def test_decoded_samples_equal_what_the_packets_carry(firmware, accel):
    board, peripheral = board_and_peripheral(firmware=firmware, accel=accel)
    chunks = collect(board, 1000)
    assert board.firmware == firmware  # read from the Software Revision characteristic
    assert all(c.missing_before == 0 for c in chunks)
    decoded = np.concatenate([c.samples for c in chunks], axis=1)
    n = decoded.shape[1]
    carried = np.array(peripheral.transmitted[:n]).T * gp.UV_PER_COUNT
    np.testing.assert_array_equal(decoded, carried.astype(np.float32))
    truth = np.array(peripheral.sent[:n]).T
    # firmware 2: each lossy delta may be one count off, until the next raw packet;
    # firmware 3: the top bits, the lowest given up for the sign: two steps of 2^(24 - bits)
    bound = gp.CYCLE_FW2 if firmware == 2 else 2 ** (25 - (18 if accel else 19))
    assert np.abs(decoded / gp.UV_PER_COUNT - truth).max() <= bound
    assert ("2d30c083-f39f-4ce6-923f-3484ea480596", b"b") in peripheral.writes
    assert (gp.SEND_UUID, b"s") in peripheral.writes  # stopped on close


@pytest.mark.parametrize("firmware", [2, 3])
def test_lost_notifications_become_exact_gaps(firmware):
    # firmware 2: a lost delta packet also loses the rest of its cycle (until raw id 0)
    faults = BleFaults(drop={7, 8, 250})
    board, peripheral = board_and_peripheral(firmware=firmware, faults=faults)
    chunks = collect(board, 1500)
    carried = np.array(peripheral.transmitted).T * gp.UV_PER_COUNT
    for chunk in chunks:  # every sample lands at its own sample number
        np.testing.assert_array_equal(
            chunk.samples, carried[:, chunk.first_index : chunk.end_index].astype(np.float32)
        )
    missing = sum(c.missing_before for c in chunks)
    received = sum(c.n for c in chunks)
    assert received + missing == chunks[-1].end_index
    if firmware == 3:
        assert missing == 6  # three packets of two samples
    else:
        # packet 7 carries samples 13-14 of cycle 0: 13..200 are lost (188 samples);
        # packet 250 is in cycle 2 (ids: 0, 101..200 = 101 packets per cycle)
        cycle_start = 2 * gp.CYCLE_FW2
        first_lost = 2 * (250 - 2 * 101) - 1 + cycle_start
        assert missing == (gp.CYCLE_FW2 - 13) + (3 * gp.CYCLE_FW2 - first_lost)


def test_impedance_and_ascii_packets():
    decoder = gp.GanglionDecoder()
    decoder.feed(bytes([203]) + b"180000Z".ljust(19, b"\0"))
    decoder.feed(bytes([206]) + b"Ganglion v2.0.0 ".ljust(19, b"\0"))
    end = decoder.feed(bytes([207]) + b"$$$".ljust(19, b"\0"))
    assert decoder.impedance == {"ch3": 180000}
    assert end.message == "Ganglion v2.0.0 $$$"


def test_a_board_that_is_off_gives_one_line():
    address = "EE:EE:00:00:FF:01"
    peripheral = GanglionPeripheral(address, faults=BleFaults(off=True))
    board = GanglionBoard(address, backend=radio(peripheral))
    with pytest.raises(DeviceError, match="was not found"):
        next(board.chunks())


def test_a_dropped_ganglion_reconnects_and_the_stream_goes_on():
    board, peripheral = board_and_peripheral(faults=BleFaults(disconnect_after_s=3.0))
    chunks = collect(board, 2000)
    assert peripheral.connections == 2 and board.link.reconnects == 1
    gaps = [c.missing_before for c in chunks if c.missing_before]
    assert len(gaps) == 1 and gaps[0] >= 1  # the restart, timed with the host clock
    assert chunks[-1].end_index - sum(gaps) == sum(c.n for c in chunks)
    assert peripheral.writes.count((gp.SEND_UUID, b"b")) == 2


def test_a_whole_lost_cycle_is_counted_and_a_late_delivery_is_not():
    # firmware 3: 100 packets (200 samples, 1 s) a packet-id cycle. Dropping exactly one
    # cycle leaves the ids in step: only the host clock can tell a second went missing.
    board, _ = board_and_peripheral(
        firmware=3, faults=BleFaults(drop=set(range(100, 200))), speed=1.0
    )
    chunks = collect(board, 600)
    assert sum(c.missing_before for c in chunks) == gp.CYCLE_FW3
    # notifications held back 0.8 s, then delivered in a burst: nothing was lost
    board, _ = board_and_peripheral(
        firmware=3, faults=BleFaults(stall_after_s=1.0, stall_for_s=0.8), speed=1.0
    )
    chunks = collect(board, 600)
    assert sum(c.missing_before for c in chunks) == 0
