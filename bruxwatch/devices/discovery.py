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
    spec: str | None  # None: nothing to try (a built-in UART has no board behind it)


def identify(vid: int | None, pid: int | None) -> tuple[str, str] | None:
    if vid is None:
        return None
    return KNOWN_USB.get((vid, pid)) or KNOWN_USB.get((vid, None))


def serial_ports() -> list[PortInfo]:
    """Every serial port pyserial sees, likely boards first."""
    found = []
    for port in list_ports.comports():
        known = identify(port.vid, port.pid)
        if known:
            guess, scheme = known
        elif port.vid is not None:  # some USB serial device: a board printing text, perhaps
            guess, scheme = "unknown USB serial device", "arduino-text"
        else:  # the computer's own UART (ttyS0): no USB ids, no board of ours behind it
            guess, scheme = "built-in serial port, not a USB board", None
        found.append(
            PortInfo(
                device=port.device,
                vid=port.vid,
                pid=port.pid,
                description=port.description or "",
                guess=guess,
                spec=f"{scheme}:{port.device}" if scheme else None,
            )
        )
    return sorted(found, key=lambda p: (identify(p.vid, p.pid) is None, p.spec is None, p.device))


@dataclass(frozen=True)
class BleBoard:
    """A BLE board seen advertising: address, name, signal strength (dBm), what it is."""

    address: str
    name: str
    rssi: int | None
    kind: str  # "ganglion" or "ble" (the bruxwatch EMG board)

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.address}"


def classify_ble(name: str, service_uuids: list[str]) -> str | None:
    """Which device spec scheme an advertisement belongs to, or None if not ours."""
    from bruxwatch.devices import ble_emg, ganglion_protocol

    uuids = {u.lower() for u in service_uuids}
    if ganglion_protocol.SERVICE_UUID in uuids or name.lower().startswith("ganglion"):
        return "ganglion"
    if ble_emg.SERVICE_UUID in uuids or name.lower().startswith(ble_emg.NAME_PREFIX):
        return "ble"
    return None


def ble_boards(timeout_s: float = 5.0, scanner=None) -> list[BleBoard]:
    """Scan for Ganglions and bruxwatch boards for `timeout_s` seconds, strongest first.
    Raises DeviceError with one line where there is no Bluetooth."""
    import asyncio

    from bruxwatch.devices.base import DeviceError
    from bruxwatch.devices.ble_link import bluetooth_error

    async def scan():
        if scanner is not None:
            return await scanner(timeout_s)
        from bleak import BleakScanner

        found = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
        return [
            (device.address, adv.local_name or device.name or "", adv.rssi, adv.service_uuids)
            for device, adv in found.values()
        ]

    try:
        seen = asyncio.run(scan())
    except Exception as exc:  # noqa: BLE001 - D-Bus, adapter or permission trouble: one line
        raise DeviceError(f"Bluetooth scan failed: {bluetooth_error(exc)}") from None
    boards = []
    for address, name, rssi, uuids in seen:
        kind = classify_ble(name, list(uuids or []))
        if kind:
            boards.append(BleBoard(address, name, rssi, kind))
    return sorted(boards, key=lambda b: -(b.rssi if b.rssi is not None else -999))
