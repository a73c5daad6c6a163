"""The Arduino firmware and the host agree on the protocol: the sketch is compiled natively
(with a stand-in for the Arduino core) and what it writes is decoded by the host parser."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bruxwatch.devices import arduino_protocol as proto

HERE = Path(__file__).parent / "native_firmware"
FIRMWARE = HERE.parent.parent / "hardware" / "firmware"


def compile_harness(tmp_path_factory, name: str, *defines: str) -> Path:
    """Build tests/native_firmware/NAME.cpp (a sketch with its stand-in libraries) natively,
    with `defines` (e.g. "PPG_HZ=50") set."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    binary = tmp_path_factory.mktemp("fw") / name
    subprocess.run(
        [
            compiler,
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{HERE}",
            *(f"-D{d}" for d in defines),
            "-o",
            str(binary),
            str(HERE / f"{name}.cpp"),
        ],
        check=True,
    )
    return binary


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    return compile_harness(tmp_path_factory, "harness")


def run(harness: Path, end_us: int, *commands: str) -> tuple[bytes, list[tuple[int, int, int]]]:
    result = subprocess.run([str(harness), str(end_us), *commands], capture_output=True, check=True)
    pwm = [tuple(int(v) for v in line.split()[1:]) for line in result.stderr.decode().splitlines()]
    return result.stdout, pwm


def test_firmware_frames_decode_exactly_on_the_host(harness):
    out, _ = run(harness, 200_000, "10:info", "1000:start")
    parser = proto.FrameParser()
    decoded = parser.feed(out)
    info = proto.BoardInfo.parse(decoded.messages[0])
    assert (info.fs, info.bits, info.channels, info.kind) == (1000.0, 10, 2, "raw")
    assert parser.crc_errors == 0 and parser.skipped_bytes == 0
    firsts = [first for first, _ in decoded.frames]
    assert firsts == list(range(0, 10 * len(firsts), 10)) and len(firsts) >= 19
    counts = np.concatenate([c for _, c in decoded.frames], axis=1)
    k = np.arange(counts.shape[1])
    np.testing.assert_array_equal(counts[0], (k * 7) % 1024)
    np.testing.assert_array_equal(counts[1], (k * 7 + 100) % 1024)


def test_firmware_vibrates_for_the_time_asked_and_answers(harness):
    out, pwm = run(harness, 150_000, "1000:start", "50000:vibrate 20 180", "100000:vibrate 0 999")
    messages = proto.FrameParser().feed(out).messages
    assert messages == ["#ok vibrate 20 180", "#ok vibrate 1 255"]  # clamped like the host does
    on = [(value, t) for pin, value, t in pwm if pin == 9 and value > 0]
    off = [t for pin, value, t in pwm if pin == 9 and value == 0 and t > 50_000]
    assert on == [(180, 50_000), (255, 100_000)]
    assert 69_000 <= off[0] <= 71_000 and 100_900 <= off[1] <= 102_000


def test_firmware_stop_and_unknown_commands(harness):
    out, _ = run(harness, 100_000, "1000:start", "30000:stop", "40000:dance")
    decoded = proto.FrameParser().feed(out)
    assert decoded.messages == ["#error unknown command dance"]
    assert max(first for first, _ in decoded.frames) < 30  # nothing after stop


@pytest.mark.skipif(shutil.which("avr-g++") is None, reason="avr-gcc not installed")
def test_firmware_builds_for_an_arduino_uno(tmp_path):
    result = subprocess.run(
        ["bash", str(FIRMWARE / "build_avr.sh"), str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "bruxwatch_emg.hex").stat().st_size > 1000


# ------------------------------------------------------------------- the BLE firmware
@pytest.fixture(scope="module")
def ble_harness(tmp_path_factory) -> Path:
    return compile_harness(tmp_path_factory, "harness_ble")


def run_ble(harness: Path, end_us: int, *commands: str, env: dict | None = None):
    result = subprocess.run(
        [str(harness), str(end_us), *commands], capture_output=True, check=True, env=env
    )
    lines = result.stdout.decode().splitlines()
    notifications = [bytes.fromhex(line[2:]) for line in lines if line.startswith("N ")]
    info = next(line[2:] for line in lines if line.startswith("I "))
    overruns = int(next(line[2:] for line in lines if line.startswith("O ")))
    return notifications, info, overruns


def decode_ble(notifications):
    """Each notification as the host's BleEmgBoard takes it: text, or a frame without sync."""
    parser = proto.FrameParser()
    frames, messages = [], []
    parser.motion = []  # the motion frames, for the tests that look at them
    for data in notifications:
        decoded = parser.feed(data if data[:1] == b"#" else proto.SYNC + data)
        frames += decoded.frames
        messages += decoded.messages
        parser.motion += decoded.motion
    return parser, frames, messages


def test_ble_firmware_frames_decode_on_the_host(ble_harness):
    notes, info, overruns = run_ble(ble_harness, 300_000, "1000:info", "2000:start")
    parser, frames, messages = decode_ble(notes)
    expected = proto.BoardInfo("1.1.0", 1000.0, 12, 2, "raw", imu=25.0)
    assert proto.BoardInfo.parse("#info " + info) == expected
    assert messages == ["#info fw=1.1.0 fs=1000 bits=12 channels=2 kind=raw imu=25"]
    assert parser.crc_errors == 0 and overruns == 0
    assert all(len(n) <= 92 for n in notes)  # fits an ATT MTU of 95
    firsts = [first for first, _ in frames]
    assert firsts == list(range(0, 20 * len(firsts), 20)) and len(firsts) >= 14
    counts = np.concatenate([c for _, c in frames], axis=1)
    k = np.arange(counts.shape[1])
    np.testing.assert_array_equal(counts[0], (k * 7) % 4096)
    np.testing.assert_array_equal(counts[1], (k * 7 + 100) % 4096)


def test_ble_firmware_skips_the_index_of_samples_it_had_to_drop(ble_harness):
    # the radio blocks for 400 ms: the 256-sample ring overflows and samples are dropped
    notes, _, overruns = run_ble(ble_harness, 700_000, "1000:start", "100000:stall=400000")
    _, frames, _ = decode_ble(notes)
    assert overruns > 100
    received = sum(c.shape[1] for _, c in frames)
    end = frames[-1][0] + frames[-1][1].shape[1]
    gaps = [b[0] - (a[0] + a[1].shape[1]) for a, b in zip(frames, frames[1:], strict=False)]
    assert sum(g for g in gaps if g) == overruns == end - received  # an exact gap


def test_ble_firmware_vibrates_and_stops(ble_harness):
    notes, _, _ = run_ble(
        ble_harness, 200_000, "1000:start", "50000:vibrate 30 200", "100000:stop", "120000:dance"
    )
    _, frames, messages = decode_ble(notes)
    assert messages == ["#ok vibrate 30 200", "#error unknown command"]
    assert max(first for first, _ in frames) < 100


def test_ble_firmware_sends_its_imu_in_motion_frames_on_the_samples_clock(ble_harness):
    notes, info, _ = run_ble(ble_harness, 1_500_000, "2000:start", "900000:stall=400000")
    parser, frames, _ = decode_ble(notes)
    assert parser.crc_errors == 0 and all(len(n) <= 92 for n in notes)
    readings = {}
    for first, mg in parser.motion:
        for k in range(mg.shape[1]):
            readings[first + k] = mg[:, k].tolist()
    assert len(readings) >= 25
    taken = {first + k for first, c in frames for k in range(c.shape[1])}
    sent_until = max(taken)  # samples after it were still in the ring when the run ended
    readings = {k: v for k, v in readings.items() if 40 * k <= sent_until}
    for k, (x, y, z) in readings.items():
        # reading k goes with sample 40 k, due 40 k ms after start (2 ms after boot) ...
        assert 40 * k in taken and y == -x and z == 1000
        due = 2 + 40 * k
        if 900 <= due <= 1300:  # due while the radio blocked: taken when it came back
            assert due <= x <= 1301
        else:
            assert x == due
    # ... and the readings whose samples the stalled radio dropped are a gap, not misplaced
    dropped = {k for k in range(max(readings) + 1) if 40 * k not in taken}
    assert dropped and set(range(max(readings) + 1)) - dropped == set(readings)


def test_ble_firmware_without_an_imu_says_so_and_sends_no_motion(ble_harness):
    env = dict(os.environ, NO_IMU="1")
    notes, info, _ = run_ble(ble_harness, 300_000, "2000:start", env=env)
    parser, frames, _ = decode_ble(notes)
    assert "imu" not in info and proto.BoardInfo.parse("#info " + info).imu is None
    assert frames and parser.motion == []


@pytest.fixture(scope="module")
def ble_pulse_harness(tmp_path_factory) -> Path:
    return compile_harness(tmp_path_factory, "harness_ble", "PPG_HZ=50")


def test_ble_firmware_with_a_pulse_sensor_sends_pulse_frames_on_the_samples_clock(
    ble_pulse_harness,
):
    notes, info, _ = run_ble(ble_pulse_harness, 600_000, "2000:start")
    assert info.endswith(" imu=25 ppg=50")
    parser = proto.FrameParser()
    pulses, frames = [], []
    for data in notes:
        decoded = parser.feed(data if data[:1] == b"#" else proto.SYNC + data)
        pulses += decoded.pulse
        frames += decoded.frames
    assert parser.crc_errors == 0 and all(len(n) <= 92 for n in notes)
    readings = {first + m: int(v[0, m]) for first, v in pulses for m in range(v.shape[1])}
    assert sorted(readings) == list(range(len(readings))) and len(readings) >= 20
    for m, value in readings.items():
        # reading m goes with sample 20 m (at 2 + 20 m ms): the sensor's newest reading then,
        # made at the last whole 20 ms, its top 16 of 18 bits
        made = (2 + 20 * m) - (2 + 20 * m) % 20
        assert value == (100_000 + made % 4000) >> 2
    env = dict(os.environ, NO_PPG="1")  # the sensor does not answer: no "ppg=", no frames
    notes, info, _ = run_ble(ble_pulse_harness, 300_000, "2000:start", env=env)
    assert "ppg" not in info
    assert not any(n[:2] == bytes([1, 3]) for n in notes)
