"""What a sample source is: the Device protocol, the notices of a linked board, and the
device spec (`scheme:target?key=value`) the command line names it with. The records a device
yields (StreamInfo, Chunk) are in `bruxwatch.stream`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bruxwatch.stream import Chunk, StreamInfo


class DeviceError(RuntimeError):
    """A device cannot be used; the message is one line that says what to do."""


class LinkedDevice:
    """A board behind a link (serial or BLE) that reports notices: where they go is the
    link's `on_notice`, called from the reader's thread with one line per change (silence,
    reconnecting, data again). The session shows them and stores them in the night."""

    link: Any

    @property
    def on_notice(self) -> Callable[[str], None]:
        return self.link.on_notice

    @on_notice.setter
    def on_notice(self, callback: Callable[[str], None]) -> None:
        self.link.on_notice = callback


@runtime_checkable
class Device(Protocol):
    """Anything that yields chunks: a board, the simulator, a replayed recording.

    Lifecycle: made from a spec (nothing opened yet); `chunks()` opens the source and yields
    until it ends or `close()` is called (from any thread). `info` is complete once the
    first chunk has been yielded (a board says its channels and rate in its first frames;
    before, `info` holds what the spec asked for). Optional capabilities are attributes a
    session looks for: `vibrate(ms, strength)` (a motor on the board: `Vibrates`),
    `on_notice` (link notices, see LinkedDevice), `read_window_s` (how long one serial read
    waits), `aux_streams` (auxiliary streams beside the EMG, see `bruxwatch.stream`).
    """

    info: StreamInfo

    def chunks(self) -> Iterator[Chunk]:
        """Yield chunks in order until the source ends or `close()` is called."""
        ...

    def close(self) -> None:
        """Stop streaming and release the source."""
        ...


@runtime_checkable
class Vibrates(Protocol):
    """A device with a vibration motor the wearer feels: `has_motor` says whether this one
    can be commanded (an Arduino running a plain text sketch cannot)."""

    has_motor: bool

    def vibrate(self, ms: int, strength: int = 255) -> None:
        """One pulse of `ms` milliseconds at `strength` (0-255)."""
        ...


def can_vibrate(device: object) -> bool:
    """Whether feedback can buzz the motor on `device`."""
    return isinstance(device, Vibrates) and device.has_motor


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed device spec such as ``sim:scenario=night,seed=3`` or ``cyton:/dev/ttyUSB0``."""

    scheme: str
    target: str = ""
    options: dict[str, str] = field(default_factory=dict)


def parse_device_spec(spec: str) -> DeviceSpec:
    """Split ``scheme:target?key=value&key=value`` (or ``scheme:key=value,key=value``).

    >>> parse_device_spec("sim:scenario=night,seed=3").options
    {'scenario': 'night', 'seed': '3'}
    >>> parse_device_spec("arduino:/dev/ttyACM0?baud=115200")
    DeviceSpec(scheme='arduino', target='/dev/ttyACM0', options={'baud': '115200'})
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("empty device spec")
    scheme, _, rest = spec.partition(":")
    scheme = scheme.lower()
    target, options = rest, {}
    if "?" in rest:
        target, _, query = rest.partition("?")
        options = _parse_options(query, "&")
    elif "=" in rest and "/" not in rest.split("=", 1)[0]:
        target, options = "", _parse_options(rest, ",")
    return DeviceSpec(scheme=scheme, target=target, options=options)


def _parse_options(text: str, separator: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(separator))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise ValueError(f"device option {part!r} is not key=value")
        options[key.strip()] = value.strip()
    return options
