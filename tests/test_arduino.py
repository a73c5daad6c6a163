"""MyoWare-on-Arduino: the bruxwatch frame protocol, text lines, and the driver on a pty."""

from __future__ import annotations

import time

import numpy as np
import pytest

from bruxwatch.devices import arduino_protocol as proto
from bruxwatch.devices.arduino import ArduinoBoard, _nearest_rate
from bruxwatch.devices.base import DeviceError
from bruxwatch.emulated.pty_board import Faults
from bruxwatch.emulated.serial_boards import ArduinoEmulator


def test_crc_is_ccitt_false():
    assert proto.crc16_ccitt(b"123456789") == 0x29B1  # the catalogue check value


def test_frame_layout_byte_for_byte():
    frame = proto.encode_frame(0x01020304, np.array([[1, 2], [0x0300, 4]]))
    assert frame[:10] == bytes([0xA5, 0x5A, 1, 1, 4, 3, 2, 1, 2, 2])
    assert frame[10:18] == bytes([1, 0, 0, 3, 2, 0, 4, 0])  # s0c0 s0c1 s1c0 s1c1, little-endian
    assert int.from_bytes(frame[18:], "little") == proto.crc16_ccitt(frame[2:18])
    assert len(frame) == 10 + 8 + 2


def frames(count: int, channels: int = 2, n: int = 10):
    rng = np.random.default_rng(count)
    data = [rng.integers(0, 4096, (channels, n)) for _ in range(count)]
    return data, [proto.encode_frame(i * n, d) for i, d in enumerate(data)]


def test_bad_crc_is_rejected_and_counted():
    data, encoded = frames(3)
    broken = bytearray(encoded[1])
    broken[12] ^= 0x40
    parser = proto.FrameParser()
    out = parser.feed(encoded[0] + bytes(broken) + encoded[2])
    assert [f for f, _ in out.frames] == [0, 20]
    assert parser.crc_errors == 1
    np.testing.assert_array_equal(out.frames[1][1], data[2])


def test_resync_within_one_frame_after_garbage_and_text():
    data, encoded = frames(4)
    stream = (
        encoded[0] + b"\x5a\xa5\xa5\x00#junk\xff" + encoded[1] + b"#ok vibrate 10 20\n" + encoded[2]
    )
    parser = proto.FrameParser()
    out = parser.feed(stream[:37])
    out2 = parser.feed(stream[37:] + encoded[3])
    got = [f for f, _ in out.frames + out2.frames]
    assert got == [0, 10, 20, 30]
    assert out.messages + out2.messages == ["#ok vibrate 10 20"]


def test_info_line_parses():
    info = proto.BoardInfo.parse("#info fw=1.2.0 fs=500 bits=12 channels=1 kind=envelope")
    assert (info.firmware, info.fs, info.bits, info.channels, info.kind) == (
        "1.2.0",
        500.0,
        12,
        1,
        "envelope",
    )
    with pytest.raises(ValueError):
        proto.BoardInfo.parse("#info fw=1")


def test_text_lines_skip_the_first_partial_line_and_bad_lines():
    parser = proto.TextLineParser()
    assert parser.feed(b"98\n512,498\n513 499\r\n").tolist() == [[512, 513], [498, 499]]
    out = parser.feed(b"oops\n1,2,3\n514\t500\n5")
    assert out.tolist() == [[514], [500]] and parser.bad_lines == 2
    assert parser.feed(b"15,501\n").tolist() == [[515], [501]]


def test_rate_estimate_snaps_to_common_rates():
    assert _nearest_rate(983.0) == 1000.0 and _nearest_rate(247.0) == 250.0
    assert _nearest_rate(333.3) == 333.0


def read(board, samples, timeout_s=20.0):
    chunks, total, deadline = [], 0, time.monotonic() + timeout_s
    for chunk in board.chunks():
        chunks.append(chunk)
        total += chunk.n
        if total >= samples or time.monotonic() > deadline:
            break
    return chunks


def test_firmware_board_streams_the_counts_the_emulator_sent():
    with ArduinoEmulator(speed=2.0, record=True) as emu:
        board = ArduinoBoard(emu.path)
        chunks = read(board, 1500)
        board.close()
        sent = np.concatenate(emu.log.values, axis=1)
    assert board.info.fs == 1000.0 and board.info.rails == (0.0, 4095.0)
    assert board.info.channels == ("ch1", "ch2") and board.board.firmware == "1.0.0"
    got = np.concatenate([c.samples for c in chunks], axis=1)
    assert chunks[0].first_index == 0 and all(c.missing_before == 0 for c in chunks)
    np.testing.assert_array_equal(got, sent[:, : got.shape[1]])


def test_vibrate_reaches_the_board_intact():
    with ArduinoEmulator(speed=2.0) as emu:
        board = ArduinoBoard(emu.path)
        stream = board.chunks()
        next(stream)
        board.vibrate(350, 200)
        board.vibrate(99999, 999)  # clamped to the protocol's range
        deadline = time.monotonic() + 5
        while len(board.messages) < 2 and time.monotonic() < deadline:
            next(stream)
        board.close()
        assert emu.vibrations == [(350, 200), (5000, 255)]
    assert board.messages == ["#ok vibrate 350 200", "#ok vibrate 5000 255"]


def test_corrupt_frames_are_counted_and_the_rest_kept():
    faults = Faults(corrupt=0.05, garbage=0.05, seed=2)
    with ArduinoEmulator(speed=2.0, record=True, faults=faults) as emu:
        board = ArduinoBoard(emu.path)
        chunks = read(board, 3000)
        board.close()
        sent = np.concatenate(emu.log.values, axis=1)
    assert board.frames.crc_errors > 0
    for chunk in chunks:  # every frame that passed the CRC is exact, at the right index
        np.testing.assert_array_equal(
            chunk.samples, sent[:, chunk.first_index : chunk.first_index + chunk.n]
        )
    end = 0
    for chunk in chunks:  # the clock stays continuous: every lost frame is an explicit gap
        assert chunk.first_index == end + chunk.missing_before
        end = chunk.end_index
    lost = sum(c.missing_before for c in chunks)
    assert lost % 10 == 0 and lost >= 10 * board.frames.crc_errors


def test_text_sketch_with_a_given_rate():
    with ArduinoEmulator(speed=1.0, text=True, record=True) as emu:
        board = ArduinoBoard(emu.path, text=True, fs=1000.0)
        chunks = read(board, 500)
        board.close()
    assert board.info.fs == 1000.0 and not board.fs_estimated
    assert board.info.n_channels == 2 and sum(c.n for c in chunks) >= 500


def test_plain_sketch_opened_as_firmware_board_says_what_to_do():
    with ArduinoEmulator(text=True) as emu, pytest.raises(DeviceError, match="arduino-text"):
        next(ArduinoBoard(emu.path, info_timeout_s=0.5).chunks())


def test_reconnect_after_a_board_reset_keeps_the_clock():
    faults = Faults(vanish_at_s=1.0, vanish_for_s=2.0)
    with ArduinoEmulator(speed=1.0, record=True, faults=faults) as emu:
        board = ArduinoBoard(emu.path)
        chunks = read(board, 2000, timeout_s=15)
        board.close()
        sent = np.concatenate(emu.log.values, axis=1)
    gaps = [c for c in chunks if c.missing_before]
    assert len(gaps) == 1 and board.link.reconnects == 1
    assert 2.0 <= gaps[0].missing_before / 1000.0 <= 4.0
    before = np.concatenate(
        [c.samples for c in chunks if c.first_index < gaps[0].first_index], axis=1
    )
    np.testing.assert_array_equal(before, sent[:, : before.shape[1]])
    assert before.shape[1] >= 900


def test_text_sketch_rate_is_estimated_and_reported():
    with ArduinoEmulator(speed=1.0, text=True) as emu:
        board = ArduinoBoard(emu.path, text=True)
        chunk = next(board.chunks())
        board.close()
    assert board.fs_estimated and board.info.fs == 1000.0
    assert chunk.first_index == 0 and chunk.n >= 1500  # the lines of the estimate are kept


@pytest.mark.parametrize(
    ("lines", "values", "names"),
    [
        (b"x\n512\r\n498\r\n", [[512, 498]], ()),
        (b"x\n512,498\r\n500,497\r\n", [[512, 500], [498, 497]], ()),
        (b"x\n512\t498\r\n500\t497\r\n", [[512, 500], [498, 497]], ()),
        (b"x\n512 498\r\n500 497\r\n", [[512, 500], [498, 497]], ()),
        (
            b"x\nleft:512,right:498\r\nleft:500,right:497\r\n",
            [[512, 500], [498, 497]],
            ("left", "right"),
        ),
        (b"x\nenv:512 raw:498\r\n", [[512], [498]], ("env", "raw")),
        (b"x\nENV,RAW\r\n512,498\r\n500,497\r\n", [[512, 500], [498, 497]], ("ENV", "RAW")),
        (b"x\nMyoWare Example_01_analogRead_SINGLE\r\n35\r\n36\r\n", [[35, 36]], ()),
    ],
    ids=["bare", "comma", "tab", "space", "labels", "labels-space", "header", "title"],
)
def test_every_serial_plotter_form_parses(lines, values, names):
    parser = proto.TextLineParser()
    samples = parser.feed(lines)
    np.testing.assert_array_equal(samples, np.asarray(values, dtype=np.float32))
    assert parser.names == names and parser.bad_lines == 0


def test_an_impossible_value_in_a_line_is_kept_for_the_signal_chain_to_flag():
    samples = proto.TextLineParser().feed(b"x\n512\r\n1e39\r\nnan\r\n500\r\n")
    assert samples.shape == (1, 4) and not np.isfinite(samples[0, 1:3]).any()


def test_sparkfuns_myoware_example_is_an_envelope_at_20_hz(capsys):
    """Example_01 unchanged: a title line, then ENV readings with delay(50), no ?fs=."""
    from bruxwatch.cli import main
    from bruxwatch.emulated.serial_boards import MyoWareSketchEmulator

    with MyoWareSketchEmulator() as emu:
        assert main(["stream", f"arduino-text:{emu.path}", "--seconds", "4"]) == 0
    out = capsys.readouterr()
    assert "(envelope): 1 channel at 20 Hz (counts)" in out.out
    assert "Traceback" not in out.out + out.err


def test_a_sketch_printing_labels_streams_at_the_given_rate(capsys):
    """`label:value` lines with ?fs=500 used to hang forever."""
    from bruxwatch.cli import main
    from bruxwatch.emulated.serial_boards import ArduinoEmulator

    with ArduinoEmulator(text="labels", speed=0.5) as emu:
        assert main(["stream", f"arduino-text:{emu.path}?fs=500", "--seconds", "3"]) == 0
    out = capsys.readouterr().out
    assert "2 channels at 500 Hz" in out and "t=   3s" in out


def test_raw_at_a_rate_too_low_is_one_clear_line(capsys):
    from bruxwatch.cli import main

    assert main(["stream", "arduino-text:/dev/null?fs=20&signal=raw"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "too slow for raw EMG" in err[0] and "signal=env" in err[0]
