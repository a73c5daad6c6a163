"""`bruxwatch devices`, `emulate` and `stream`: what is plugged in, emulated boards, a
device's samples per second.
"""

from __future__ import annotations

import argparse

import numpy as np

from bruxwatch.cli.arguments import add_mains_option, positive
from bruxwatch.cli.common import CliError, signal_config
from bruxwatch.emulated.serial_boards import TEXT_FORMS
from bruxwatch.firmware_host.console import counted
from bruxwatch.stream import units_text


def cmd_devices(args: argparse.Namespace) -> int:
    from bruxwatch.devices.discovery import serial_ports

    if args.ble:
        return _ble_devices(args.seconds)
    ports = serial_ports()
    if not ports:
        print("no serial ports found. Without a board: `bruxwatch emulate cyton` in one terminal,")
        print("then `bruxwatch stream cyton:PATH` with the path it prints, or use device `sim`.")
        return 0
    width = max(len(p.device) for p in ports)
    for p in ports:
        ids = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else "-"
        suggestion = f"  ->  {p.spec}" if p.spec else ""
        print(f"{p.device:<{width}}  {ids:<9}  {p.guess}{suggestion}")
    return 0


def _ble_devices(seconds: float) -> int:
    from bruxwatch.devices.base import DeviceError
    from bruxwatch.devices.discovery import ble_boards

    try:
        boards = ble_boards(seconds)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    if not boards:
        print(f"no Ganglion or bruxwatch BLE board seen in {seconds:g} s (is it switched on?)")
        return 0
    for b in boards:
        rssi = f"{b.rssi} dBm" if b.rssi is not None else "-"
        print(f"{b.address:<18}  {b.name:<20}  {rssi:>8}  ->  {b.spec}")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    import time

    from bruxwatch.emulated.pty_board import Faults
    from bruxwatch.emulated.serial_boards import (
        ArduinoEmulator,
        CytonEmulator,
        MyoWareSketchEmulator,
    )

    try:
        faults = Faults.parse(args.faults or "")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    common = dict(
        scenario=args.scenario,
        seed=args.seed,
        speed=args.speed,
        faults=faults,
        calibrate=args.calibrate,
    )
    if args.board == "cyton":
        emulator = CytonEmulator(**common)
        spec = "cyton:{path}"
    elif args.board == "myoware":
        emulator = MyoWareSketchEmulator(**common)
        spec = "arduino-text:{path}"
    else:
        emulator = ArduinoEmulator(text=args.text or False, **common)
        spec = "arduino-text:{path}?fs=1000" if args.text else "arduino:{path}"
    with emulator:
        print(f"{args.board} emulator on {emulator.path}", flush=True)
        print(f"try: bruxwatch stream {spec.format(path=emulator.path)} --seconds 10", flush=True)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    """Read a device through the recorder's own session (no file, no feedback) and print a
    line a second: samples, lost samples, the envelope's peak, episodes so far."""
    from bruxwatch.devices.base import DeviceError
    from bruxwatch.errors import StoreError
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.sources import open_device

    try:
        device = open_device(args.device)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    session = Session(device, config=signal_config(args))
    session.on_started = lambda info: print(
        f"{info.device}: {counted(info.n_channels, 'channel')} at {info.fs:g} Hz "
        f"({units_text(info.units)})",
        flush=True,
    )
    session.notice_listeners.append(lambda at_s, text: print(text, flush=True))
    session.subscribers.append(PerSecondLines(session))
    try:
        session.run(duration_s=args.seconds)
    except (DeviceError, StoreError) as exc:
        raise CliError(str(exc)) from None
    return 0


class PerSecondLines:
    """`stream`'s output: one line per second of stream, what came in during it."""

    def __init__(self, session) -> None:
        self.session = session
        self.second = 0
        self.samples = self.lost = 0  # the session's counts at the last line
        self.peak: np.ndarray | None = None

    def __call__(self, out) -> None:
        status = self.session.status
        if out.envelope.size:
            level = out.envelope.max(axis=1)
            self.peak = level if self.peak is None else np.maximum(self.peak, level)
        now = int(status.seconds)
        if now <= self.second:
            return
        peak = " ".join(f"{v:.1f}" for v in (self.peak if self.peak is not None else []))
        print(
            f"t={now:4d}s  samples {status.samples - self.samples:5d}  "
            f"lost {status.lost - self.lost:4d}  envelope peak {peak} "
            f"{units_text(self.session.info.units)}  episodes {status.episodes}",
            flush=True,
        )
        self.second, self.samples, self.lost, self.peak = now, status.samples, status.lost, None


def add_devices_command(sub) -> None:
    """The `devices` command's arguments."""
    p = sub.add_parser("devices", help="list serial ports (or BLE boards) and what they are")
    p.add_argument("--ble", action="store_true", help="scan for Ganglions and bruxwatch boards")
    p.add_argument("--seconds", type=positive, default=5.0, help="BLE scan time (default 5)")
    p.set_defaults(func=cmd_devices)


def add_emulate_command(sub) -> None:
    """The `emulate` command's arguments."""
    p = sub.add_parser("emulate", help="emulate a board on a pseudo-terminal (no hardware needed)")
    p.add_argument(
        "board",
        choices=("cyton", "arduino", "myoware"),
        help="myoware: SparkFun's MyoWare 2.0 Example_01 sketch (ENV, about 20 lines/s)",
    )
    p.add_argument("--scenario", choices=("awake", "night", "calibration"), default="awake")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed", type=positive, default=1.0, help="stream speed, x real time")
    p.add_argument(
        "--faults",
        help="e.g. corrupt=0.01,drop=0.005,garbage=0.01,duplicate=0.001,junk=0.001,"
        "vanish=10:2,stall=20:3,reset=30 (vanish/stall AT:FOR s, reset AT s)",
    )
    p.add_argument(
        "--text",
        nargs="?",
        const="csv",
        choices=TEXT_FORMS,
        help="arduino: print text lines as a plain sketch does, no firmware (form: csv, "
        "tab, space, labels as in label:value, header: a line of labels first)",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="the wearer does the guided calibration (rest, 3 clenches) at stream start",
    )
    p.add_argument("--seconds", type=positive, help="stop after this long (default: Ctrl-C)")
    p.set_defaults(func=cmd_emulate)


def add_stream_command(sub) -> None:
    """The `stream` command's arguments."""
    p = sub.add_parser("stream", help="read a device and print per-second counts and levels")
    p.add_argument("device", help="sim, cyton:PORT, arduino:PORT, arduino-text:PORT?fs=HZ")
    p.add_argument("--seconds", type=positive, default=10.0)
    add_mains_option(p)
    p.set_defaults(func=cmd_stream)
