"""From a device spec on the command line to a Device: one row per kind of device in
`SOURCES` (its scheme, an example and its factory), the real boards of `devices/` beside
the stand-ins of `emulated/`, so this table sits above both.

sim                              simulator (options: scenario, seed, hours, minutes, fs, ...)
cyton:/dev/ttyUSB0               OpenBCI Cyton (options: channels=1,2  gain=24)
arduino:/dev/ttyACM0?baud=115200 bruxwatch firmware frames
arduino-text:/dev/ttyACM0?fs=500 any sketch printing numbers per line (Serial Plotter forms;
                                 signal=env|raw, guessed from the rate when not given)
replay:night.edf?speed=1         a recording played back (EDF/BDF, OpenBCI, CSV, .sqlite)
lsl:obci_eeg1?channels=1,2       a Lab Streaming Layer stream (e.g. the OpenBCI GUI's)
ganglion:AA:BB:CC:DD:EE:FF       OpenBCI Ganglion over BLE (or its name; options: channels,
                                 firmware, accel=1); ganglion:emulated runs an emulated board
ble:bruxwatch-EMG                the bruxwatch BLE EMG board (address or name); ble:emulated
                                 runs an emulated one (ppg=1: with a pulse sensor)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bruxwatch.devices.base import Device, DeviceError, DeviceSpec, parse_device_spec
from bruxwatch.devices.options import (
    no_more,
    pop_channels,
    pop_number,
    pop_switch,
    pop_whole_number,
)


@dataclass(frozen=True)
class Source:
    """One kind of device spec: its scheme, what it looks like (for messages and help) and
    the factory that turns a parsed spec into a Device (ValueError for a wrong option)."""

    scheme: str
    example: str
    make: Callable[[DeviceSpec, dict[str, str], bool], Device]
    aliases: tuple[str, ...] = ()


def lazy(module: str, factory: str) -> Callable[[DeviceSpec, dict[str, str], bool], Device]:
    """A factory that imports `module` only when its device is opened (so `bruxwatch --help`
    does not load bleak, pylsl, serial ...): `factory(spec, options, realtime)` in it."""

    def make(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
        import importlib

        return getattr(importlib.import_module(module), factory)(spec, options, realtime)

    return make


def _ganglion(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.ganglion import GanglionBoard

    picked = pop_channels(options, "channels", "1,2,3,4")
    firmware = pop_whole_number(options, "firmware", None)
    accel = pop_switch(options, "accel", False)
    target, backend = _emulated_ble(spec.target, "ganglion", firmware, options)
    no_more(spec.scheme, options)
    return GanglionBoard(target, channels=picked, firmware=firmware, accel=accel, backend=backend)


def _ble(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.ble_emg import BleEmgBoard

    target, backend = _emulated_ble(spec.target, "ble", None, options)
    no_more(spec.scheme, options)
    return BleEmgBoard(target, backend=backend)


SOURCES: tuple[Source, ...] = (
    Source(
        "sim",
        "sim:scenario=night,seed=3",
        lazy("bruxwatch.emulated.simulator_spec", "open_spec"),
        aliases=("simulator",),
    ),
    Source(
        "cyton",
        "cyton:/dev/ttyUSB0?channels=1,2&gain=24",
        lazy("bruxwatch.devices.cyton", "open_spec"),
    ),
    Source(
        "arduino",
        "arduino:/dev/ttyACM0?baud=115200",
        lazy("bruxwatch.devices.arduino", "open_spec"),
    ),
    Source(
        "arduino-text",
        "arduino-text:/dev/ttyACM0?fs=500&signal=env",
        lazy("bruxwatch.devices.arduino", "open_spec"),
    ),
    Source("replay", "replay:night.edf?speed=1", lazy("bruxwatch.emulated.replay", "open_spec")),
    Source("lsl", "lsl:obci_eeg1?channels=1,2", lazy("bruxwatch.devices.lsl_inlet", "open_spec")),
    Source("ganglion", "ganglion:AA:BB:CC:DD:EE:FF?channels=1,2&accel=1", _ganglion),
    Source("ble", "ble:bruxwatch-EMG", _ble),
)
"""Every device bruxwatch can open: a new device is its module and one row here."""

SCHEMES = tuple(source.scheme for source in SOURCES)


def open_device(spec: str, *, realtime: bool = True) -> Device:
    """Build the Device a spec names; DeviceError (one line) for anything unusable."""
    try:
        parsed = parse_device_spec(spec)
    except ValueError as exc:
        raise DeviceError(f"device {spec!r}: {exc}") from None
    for source in SOURCES:
        if parsed.scheme == source.scheme or parsed.scheme in source.aliases:
            try:
                return source.make(parsed, dict(parsed.options), realtime)
            except ValueError as exc:
                raise DeviceError(f"device {spec!r}: {exc}") from None
    raise DeviceError(
        f"unknown device {parsed.scheme!r} in {spec!r}; use one of: {', '.join(SCHEMES)}"
    )


def _emulated_ble(
    target: str, kind: str, firmware: int | None, options: dict[str, str]
) -> tuple[str, type | None]:
    """`emulated` as the target: an emulated board behind a fake bleak backend (option
    `speed`: x real time, default 1; for the bruxwatch board `ppg=1` adds a pulse sensor)."""
    if target != "emulated":
        return target, None
    from bruxwatch.emulated import ble_boards as emu
    from bruxwatch.emulated.ble_radio import radio

    speed = pop_number(options, "speed", "1")
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed:g}")
    if kind == "ganglion":
        peripheral = emu.GanglionPeripheral(firmware=firmware or 2, speed=speed)
    else:  # ppg=1: the board with a pulse sensor on the wearer's finger
        peripheral = emu.BleEmgPeripheral(speed=speed, ppg=pop_switch(options, "ppg", False))
    return peripheral.address, radio(peripheral)
