"""Device specs, discovery and the device commands (`devices`, `emulate`, `stream`)."""

from __future__ import annotations

import errno
import subprocess
import sys
import time

import pytest
import serial

from bruxwatch.cli import main
from bruxwatch.devices import discovery
from bruxwatch.devices.arduino import ArduinoBoard
from bruxwatch.devices.base import DeviceError
from bruxwatch.devices.cyton import CytonBoard
from bruxwatch.devices.serial_link import open_port
from bruxwatch.emulated.pty_board import Faults
from bruxwatch.emulated.serial_boards import ArduinoEmulator, CytonEmulator
from bruxwatch.emulated.simulator import Simulator
from bruxwatch.sources import open_device


def test_specs_resolve_to_devices():
    assert isinstance(open_device("sim:scenario=awake,minutes=1"), Simulator)
    cyton = open_device("cyton:/dev/ttyUSB0?channels=1,3&gain=8")
    assert isinstance(cyton, CytonBoard) and cyton.channels == (1, 3) and cyton.gain == 8
    board = open_device("arduino-text:/dev/ttyACM0?fs=500&baud=9600")
    assert isinstance(board, ArduinoBoard) and board.text and board.fs == 500
    assert board.link.baud == 9600


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("teleporter:/dev/x", "unknown device 'teleporter'"),
        ("cyton:/dev/ttyUSB0?colour=red", "no option colour"),
        ("cyton:/dev/ttyUSB0?gain=5", "gain must be one of"),
        ("cyton:/dev/ttyUSB0?channels=0", "channels must be 1-8"),
        ("arduino:/dev/ttyACM0?fs=-3", "positive"),
        ("sim:seed", "seed"),
    ],
)
def test_bad_specs_are_one_clear_error(spec, message):
    with pytest.raises(DeviceError, match=message):
        open_device(spec)


def test_missing_and_forbidden_ports(monkeypatch, tmp_path):
    with pytest.raises(DeviceError, match="no such port"):
        open_port(str(tmp_path / "ttyUSB9"), 115200)

    def forbidden(*args, **kwargs):
        raise serial.SerialException(
            errno.EACCES, "could not open port: [Errno 13] Permission denied"
        )

    monkeypatch.setattr(serial, "Serial", forbidden)
    with pytest.raises(DeviceError, match="dialout"):
        open_port("/dev/ttyS0", 115200)


def test_discovery_names_boards_by_usb_ids(monkeypatch):
    class Port:
        def __init__(self, device, vid, pid):
            self.device, self.vid, self.pid, self.description = device, vid, pid, "x"

    fake = [
        Port("/dev/ttyS0", None, None),
        Port("/dev/ttyUSB0", 0x0403, 0x6015),
        Port("/dev/ttyACM0", 0x2341, 0x0043),
        Port("/dev/ttyUSB1", 0x1A86, 0x7523),
        Port("/dev/ttyUSB2", 0x1234, 0x5678),
    ]
    monkeypatch.setattr(discovery.list_ports, "comports", lambda: fake)
    found = discovery.serial_ports()
    assert [p.spec for p in found] == [
        "arduino:/dev/ttyACM0",
        "cyton:/dev/ttyUSB0",
        "arduino:/dev/ttyUSB1",
        "arduino-text:/dev/ttyUSB2",
        None,  # the computer's own UART: nothing to suggest
    ]
    assert "OpenBCI" in found[1].guess
    assert "built-in" in found[-1].guess


def test_devices_suggests_nothing_for_a_built_in_port(monkeypatch, capsys):
    class Port:
        device, vid, pid, description = "/dev/ttyS0", None, None, "ttyS0"

    monkeypatch.setattr(discovery.list_ports, "comports", lambda: [Port()])
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "built-in serial port" in out and "->" not in out


def test_devices_command_runs(capsys):
    assert main(["devices"]) == 0
    assert capsys.readouterr().out.strip()


def test_stream_command_reads_the_cyton_emulator(capsys):
    with CytonEmulator(speed=4.0, faults=Faults(drop=0.02, seed=1)) as emu:
        assert main(["stream", f"cyton:{emu.path}", "--seconds", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("OpenBCI Cyton") and "250 Hz" in out[0]
    seconds = [line for line in out if line.startswith("t=")]
    assert len(seconds) == 3
    assert all("samples" in line and "lost" in line and "envelope peak" in line for line in seconds)


def test_stream_command_reads_the_arduino_emulator(capsys):
    with ArduinoEmulator(speed=2.0) as emu:
        assert main(["stream", f"arduino:{emu.path}", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "1000 Hz (counts)" in out and "t=   2s" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stream", "cyton:/dev/does-not-exist"], "no such port"),
        (["stream", "warp:1"], "unknown device"),
        (["emulate", "cyton", "--faults", "explode=1"], "unknown fault"),
        (["emulate", "cyton", "--faults", "drop=lots"], "not a number"),
    ],
)
def test_device_command_errors_are_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_emulate_command_serves_a_port_for_another_process():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bruxwatch.cli",
            "emulate",
            "cyton",
            "--seconds",
            "20",
            "--speed",
            "4",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        path = first.split(" on ")[1].strip()
        assert first.startswith("cyton emulator on ")
        result = subprocess.run(
            [sys.executable, "-m", "bruxwatch.cli", "stream", f"cyton:{path}", "--seconds", "2"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("t=") == 2
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    time.sleep(0.1)
