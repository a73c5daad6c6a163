"""From a device spec on the command line to a Device: one row per kind of device in
`SOURCES` (its scheme, an example and its factory).

sim                              simulator (options: scenario, seed, hours, minutes, fs, ...)
cyton:/dev/ttyUSB0               OpenBCI Cyton (options: channels=1,2  gain=24)
arduino:/dev/ttyACM0?baud=115200 bruxwatch firmware frames
arduino-text:/dev/ttyACM0?fs=500 any sketch printing numbers per line (Serial Plotter forms;
                                 signal=env|raw, guessed from the rate when not given)
replay:night.edf?speed=1         a recording played back (EDF/BDF, OpenBCI, CSV, .sqlite)
lsl:obci_eeg1?channels=1,2       a Lab Streaming Layer stream (e.g. the OpenBCI GUI's)
ganglion:AA:BB:CC:DD:EE:FF       OpenBCI Ganglion over BLE (or its name; options: channels,
                                 firmware); ganglion:emulated runs an emulated board
ble:bruxwatch-EMG                the bruxwatch BLE EMG board (address or name); ble:emulated
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bruxwatch.devices.base import Device, DeviceError, DeviceSpec, parse_device_spec


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


def _simulator(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.simulator import simulator_from_options

    if spec.target:
        raise ValueError("the simulator takes key=value options, e.g. sim:scenario=awake,seed=3")
    options.setdefault("realtime", "1" if realtime else "0")
    return simulator_from_options(options)


def _cyton(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.cyton import CytonBoard

    channels = _whole_numbers(options, "channels", "1,2")
    gain = _whole_number(options, "gain", "24")
    _no_more(spec.scheme, options)
    return CytonBoard(spec.target, channels=channels, gain=gain)


def _arduino(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.arduino import SIGNALS, ArduinoBoard

    baud = _whole_number(options, "baud", "115200")
    fs = _number(options, "fs", None)
    signal = options.pop("signal", None)
    if signal is not None and signal not in SIGNALS:
        raise ValueError(f"signal must be env or raw, got {signal!r}")
    _no_more(spec.scheme, options)
    return ArduinoBoard(
        spec.target,
        baud=baud,
        text=spec.scheme == "arduino-text",
        fs=fs,
        kind=None if signal is None else SIGNALS[signal],
    )


def _replay(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.replay import ReplayDevice

    if not spec.target:
        raise ValueError("give the file to replay, e.g. replay:night.edf?speed=1")
    speed = _number(options, "speed", "1" if realtime else "0")
    fs = _number(options, "fs", None)
    _no_more(spec.scheme, options)
    return ReplayDevice(spec.target, speed=speed, fs=fs)


def _ganglion(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.ganglion import GanglionBoard

    picked = _whole_numbers(options, "channels", "1,2,3,4")
    firmware = _whole_number(options, "firmware", None)
    target, backend = _emulated_ble(spec.target, "ganglion", firmware, options)
    _no_more(spec.scheme, options)
    return GanglionBoard(target, channels=picked, firmware=firmware, backend=backend)


def _ble(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.ble_emg import BleEmgBoard

    target, backend = _emulated_ble(spec.target, "ble", None, options)
    _no_more(spec.scheme, options)
    return BleEmgBoard(target, backend=backend)


def _lsl(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Device:
    from bruxwatch.devices.lsl_inlet import LslInlet

    picked = _whole_numbers(options, "channels", None)
    timeout = _number(options, "timeout", "10")
    _no_more(spec.scheme, options)
    return LslInlet(spec.target, channels=picked, timeout_s=timeout)


SOURCES: tuple[Source, ...] = (
    Source("sim", "sim:scenario=night,seed=3", _simulator, aliases=("simulator",)),
    Source("cyton", "cyton:/dev/ttyUSB0?channels=1,2&gain=24", _cyton),
    Source("arduino", "arduino:/dev/ttyACM0?baud=115200", _arduino),
    Source("arduino-text", "arduino-text:/dev/ttyACM0?fs=500&signal=env", _arduino),
    Source("replay", "replay:night.edf?speed=1", _replay),
    Source("lsl", "lsl:obci_eeg1?channels=1,2", _lsl),
    Source("ganglion", "ganglion:AA:BB:CC:DD:EE:FF?channels=1,2", _ganglion),
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
    `speed`: x real time, default 1)."""
    if target != "emulated":
        return target, None
    from bruxwatch.devices import ble_emulators as emu

    speed = _number(options, "speed", "1")
    if not speed > 0:
        raise ValueError(f"speed must be positive, got {speed:g}")
    if kind == "ganglion":
        peripheral = emu.GanglionPeripheral(firmware=firmware or 2, speed=speed).register()
    else:
        peripheral = emu.BleEmgPeripheral(speed=speed).register()
    return peripheral.address, emu.FakeBleakBackend


def _number(options: dict[str, str], key: str, default: str | None) -> float | None:
    """Pop option `key` as a number (None when absent and no default); ValueError naming
    the option otherwise."""
    text = options.pop(key, default)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{key} must be a number, e.g. {key}={default or 250}; got {text!r}"
        ) from None


def _whole_number(options: dict[str, str], key: str, default: str | None) -> int | None:
    text = options.pop(key, default)
    if text is None:
        return None
    if not text.strip().isdigit():
        raise ValueError(f"{key} must be a whole number, e.g. {key}={default or 2}; got {text!r}")
    return int(text)


def _whole_numbers(
    options: dict[str, str], key: str, default: str | None
) -> tuple[int, ...] | None:
    """Pop a comma-separated list of channel numbers (1-based), e.g. channels=1,2."""
    text = options.pop(key, default)
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(
            f"{key} must be channel numbers separated by commas, e.g. {key}=1,2; got {text!r}"
        )
    return tuple(int(p) for p in parts)


def _no_more(scheme: str, options: dict[str, str]) -> None:
    if options:
        raise ValueError(f"{scheme} has no option {', '.join(sorted(options))}")
