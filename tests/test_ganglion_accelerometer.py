"""The Ganglion's accelerometer as an auxiliary stream: switched on with `n` before every `b`,
decoded from the last byte of the 18-bit packets as OpenBCI's "Ganglion Data Format" and the
firmware describe it (ids ending in 1, 2, 3 carry X, Y, Z, the signed high byte of each
axis, 16 mg per count at the firmware's +/-2 g), placed on a 10-Hz clock beside the EMG, and
recorded by `bruxwatch record --device ganglion:...?accel=1`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.devices import ganglion_protocol as gp
from bruxwatch.devices.ganglion import GanglionBoard
from bruxwatch.emulated.ble_boards import GanglionPeripheral
from bruxwatch.emulated.ble_radio import BleFaults, radio
from bruxwatch.store.recording import Recording
from bruxwatch.stream import ACCEL, EMG, AuxClock
from tests.test_vendor_encoders import pack_values


def board_with_accelerometer(address: str, firmware: int = 2, faults=None):
    """A GanglionBoard opened with accel=1 on an emulated board (accelerometer off until the
    board is told `n`, as on power-up)."""
    peripheral = GanglionPeripheral(address, firmware=firmware, speed=0.0, faults=faults)
    return GanglionBoard(address, accel=True, backend=radio(peripheral)), peripheral


def firmware2_accel_packets(n_cycles: int, seed: int):
    """Firmware-2 packets with the accelerometer on, written from the document: a raw packet
    (id 0), then ids 1-100 with two samples of 18-bit deltas (sign in the LSB) and one more
    byte, which for ids ending in 1, 2 and 3 is the X, Y, Z reading (signed). Returns the
    packets and the readings (packet number of the Z byte, (x, y, z))."""
    rng = np.random.default_rng(seed)
    packets, readings = [], []
    for _ in range(n_cycles):
        current = rng.integers(-(2**20), 2**20, 4)
        raw = b"".join(int(v).to_bytes(3, "big", signed=True) for v in current)
        packets.append(bytes([0]) + raw + bytes(7))
        axes: list[int] = []
        for packet_id in range(1, 101):
            fields = []
            for _ in range(2):
                delta = rng.integers(-(2**16), 2**16, 4)
                delta = np.where(delta < 0, delta | 1, delta & ~1)
                fields += [int(d) for d in delta]
            extra = int(rng.integers(0, 256))  # ids ending in 0, 4-9: whatever the buffer held
            if packet_id % 10 in (1, 2, 3):
                axis = int(rng.integers(-128, 128))
                axes = (axes if packet_id % 10 > 1 else []) + [axis]
                extra = axis & 0xFF
                if packet_id % 10 == 3:
                    readings.append((len(packets), tuple(axes)))
            packets.append(bytes([packet_id]) + pack_values(fields, 18) + bytes([extra]))
    return packets, readings


def test_readings_are_the_last_bytes_of_ids_ending_in_1_2_3():
    packets, readings = firmware2_accel_packets(3, seed=5)
    # packet 11 is id 11, the X byte of the reading completed at packet 13; packet 122 is
    # id 21 of the second cycle (packet 101 is its raw packet)
    lost = {11, 122}
    decoder = gp.GanglionDecoder(firmware=2)
    got = []
    for k, packet in enumerate(packets):
        if k in lost:
            continue
        decoded = decoder.feed(packet)
        if decoded.accel is not None:
            got.append((k, decoded.accel))
    # a reading needs its three bytes; on firmware 2 a lost packet also breaks the delta chain
    # until the next raw packet, and the readings in that stretch go with its samples
    kept = [(k, axes) for k, axes in readings if k < 11 or 101 < k < 122 or k > 202]
    assert got == kept and len(got) == 1 + 2 + 10


def test_firmware_3_carries_the_accelerometer_in_ids_0_to_99():
    decoder = gp.GanglionDecoder(firmware=3)
    got = []
    for packet_id in range(0, 100):
        if packet_id == 32:  # a lost Y byte: that reading is lost, the next one is whole
            continue
        extra = {1: 0x05, 2: 0xFB, 3: 0x3E}.get(packet_id % 10, 0x77)
        decoded = decoder.feed(bytes([packet_id]) + bytes(18) + bytes([extra]))
        got += [decoded.accel] if decoded.accel is not None else []
    assert got == [(5, -5, 62)] * 9
    assert decoder.feed(bytes([113]) + bytes(19)).accel is None  # 19-bit: no accelerometer


@pytest.mark.parametrize("firmware", [2, 3])
def test_the_board_switches_it_on_and_every_reading_arrives_on_a_10_hz_clock(firmware):
    board, peripheral = board_with_accelerometer(f"EE:EE:00:00:A{firmware}:01", firmware)
    assert board.aux_streams[ACCEL].fs == 10.0
    emg, accel = [], []
    for chunk in board.chunks():
        (accel if chunk.stream == ACCEL else emg).append(chunk)
        if emg and emg[-1].end_index >= 2000:  # 10 s: firmware 2 drifts half a slot in 5 s
            break
    board.close()
    writes = [data for _, data in peripheral.writes]
    assert writes.index(gp.ACCEL_ON) < writes.index(gp.START)
    assert all(c.missing_before == 0 for c in accel)
    index = np.concatenate([np.arange(c.first_index, c.end_index) for c in accel])
    assert np.array_equal(index, np.arange(index[0], index[0] + index.size))  # no gaps
    values = np.concatenate([c.samples for c in accel], axis=1)
    counts = np.rint(values / gp.ACCEL_G_PER_COUNT).astype(int)
    sent = {number: axes for number, *axes in peripheral.accel_sent}
    # each stored reading is one the board sent, in the slot nearest its time (0.1 s each)
    # or, on firmware 2 (9.95 readings a second), held one slot longer where a slot is skipped
    for slot, column in zip(index, counts.T, strict=True):
        near = [n for n in sent if abs(n / gp.FS * gp.ACCEL_FS - slot) <= 1.5]
        assert any(sent[n] == column.tolist() for n in near), (slot, column)
    up_to_the_last = [n for n in sent if n / gp.FS * gp.ACCEL_FS < index[-1] + 0.5]
    assert len(up_to_the_last) - 1 <= index.size <= len(up_to_the_last) + 1  # none lost


def test_a_reconnect_switches_it_on_again():
    faults = BleFaults(disconnect_after_s=3.0)
    board, peripheral = board_with_accelerometer("EE:EE:00:00:A4:01", faults=faults)
    streams = {EMG: 0, ACCEL: 0}
    after_reconnect = 0
    for chunk in board.chunks():
        streams[chunk.stream] += chunk.n
        after_reconnect += chunk.n if chunk.stream == ACCEL and board.link.reconnects else 0
        if streams[EMG] >= 2000:
            break
    board.close()
    assert peripheral.connections == 2
    assert [data for _, data in peripheral.writes].count(gp.ACCEL_ON) == 2
    assert after_reconnect > 0


def test_the_clock_keeps_a_drifting_sensor_within_a_slot_all_night():
    for readings_per_s in (9.95, 10.05):  # the sensor a little slow, a little fast
        clock = AuxClock(10.0, 200.0)
        times = np.arange(int(8 * 3600 * readings_per_s)) / readings_per_s
        times = np.delete(times, [1000, 1001, 1002])  # three readings lost in a row
        slots, lost = [], 0
        for k, t in enumerate(times):
            for slot, _reading, missing in clock.place(int(t * 200.0), np.array([float(k)])):
                slots.append((slot, t))
                lost += missing
        placed = np.array([s for s, _ in slots])
        at = np.array([t for _, t in slots])
        assert np.all(np.diff(placed) >= 1)
        assert np.abs(placed / 10.0 - at).max() <= 0.15  # within 1.5 slots, after 8 h
        assert lost == 3 or lost == 2  # the loss is a gap (one slot may be held across it)


def test_record_keeps_the_ganglions_accelerometer(tmp_path, capsys, any_length_is_a_night):
    night = tmp_path / "ganglion.sqlite"
    argv = ["record", "--device", "ganglion:emulated?accel=1&speed=4", "--no-calibrate"]
    argv += ["--duration", "8s", "--out", str(night)]
    assert main([*any_length_is_a_night, *argv]) == 0, capsys.readouterr()
    with Recording(night) as rec:
        info = rec.aux_streams()[ACCEL]
        assert (info.fs, info.units) == (10.0, "g")
        values, index = rec.aux_samples(ACCEL)
        emg_seconds = rec.end_index / rec.info.fs
    assert 7.0 * 10 <= index.size <= 8 * 10 + 1
    assert abs(index[-1] / 10.0 - emg_seconds) < 0.3
    assert np.all(np.abs(np.linalg.norm(values, axis=0) - 1.0) < 0.15)  # gravity, at rest
    capsys.readouterr()
    assert main(["analyze", str(night), "--json"]) == 0
    confirmation = json.loads(capsys.readouterr().out)["confirmation"]
    assert confirmation["has_accelerometer"]  # the wearer's position, from the Ganglion
    assert sum(confirmation["hours_by_position"].values()) > 0


def test_a_wrong_accel_option_is_one_line(capsys):
    assert main(["stream", "ganglion:emulated?accel=maybe", "--seconds", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "accel must be 1 or 0" in err[0] and "Traceback" not in err[0]
