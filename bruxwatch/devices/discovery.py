"""What is plugged in: serial ports with a guess of the board behind each (USB VID:PID)."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

# (vendor id, product id or None for any) -> what it probably is, and the spec to use
KNOWN_USB: dict[tuple[int, int | None], tuple[str, str]] = {
    (0x0403, 0x6015): ("OpenBCI dongle (FTDI FT231X): Cyton", "cyton"),
    (0x0403, 0x6001): ("FTDI FT232R serial adapter: Arduino or OpenBCI", "arduino"),
    (0x2341, None): ("Arduino", "arduino"),
    (0x2A03, None): ("Arduino", "arduino"),
    (0x1A86, 0x7523): ("CH340 serial adapter (Arduino clone, ESP32 board)", "arduino"),
    (0x1A86, 0x55D4): ("CH9102 serial adapter (ESP32 board)", "arduino"),
    (0x10C4, 0xEA60): ("CP210x serial adapter (ESP32 board)", "arduino"),
    (0x239A, None): ("Adafruit board (nRF52, SAMD)", "arduino"),
    (0x303A, None): ("Espressif ESP32-S2/S3/C3 USB", "arduino"),
}


@dataclass(frozen=True)
class PortInfo:
    """One serial port: its path, USB ids, a description and the device spec to try."""

    device: str
    vid: int | None
    pid: int | None
    description: str
    guess: str
    spec: str


def identify(vid: int | None, pid: int | None) -> tuple[str, str] | None:
    if vid is None:
        return None
    return KNOWN_USB.get((vid, pid)) or KNOWN_USB.get((vid, None))


def serial_ports() -> list[PortInfo]:
    """Every serial port pyserial sees, likely boards first."""
    found = []
    for port in list_ports.comports():
        known = identify(port.vid, port.pid)
        guess, scheme = known if known else ("unknown serial port", "arduino-text")
        found.append(
            PortInfo(
                device=port.device,
                vid=port.vid,
                pid=port.pid,
                description=port.description or "",
                guess=guess,
                spec=f"{scheme}:{port.device}",
            )
        )
    return sorted(found, key=lambda p: (identify(p.vid, p.pid) is None, p.device))
