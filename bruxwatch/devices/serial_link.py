"""Opening serial ports with clear errors, and reading them with reconnects.

Shared by the serial boards (Cyton, Arduino). A board module supplies a `handshake` (what to
send after opening) and a `parser`; `SerialLink` owns the port, retries with backoff when it
vanishes, and tells the board how long the outage lasted so the gap can be recorded.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import serial

log = logging.getLogger(__name__)


SAFE_BUFFER_BYTES = 2048
"""Bytes allowed to gather between reads: half of Linux's 4-kB tty read buffer."""


class DeviceError(RuntimeError):
    """A device cannot be used; the message is one line that says what to do."""


def open_port(path: str, baud: int, timeout: float = 0.05) -> serial.Serial:
    """Open a serial port, turning the usual failures into a DeviceError with the fix."""
    if not path:
        raise DeviceError("no serial port given; `bruxwatch devices` lists what is plugged in")
    try:
        port = serial.Serial(path, baudrate=baud, timeout=timeout, write_timeout=1.0)
    except serial.SerialException as exc:
        code = getattr(exc, "errno", None)
        if code == errno.ENOENT or not os.path.exists(path):
            raise DeviceError(
                f"{path}: no such port; is the board plugged in? (`bruxwatch devices` lists ports)"
            ) from None
        if code in (errno.EACCES, errno.EPERM) or "ermission" in str(exc):
            raise DeviceError(
                f"{path}: permission denied; add yourself to the serial group: "
                f"sudo usermod -aG dialout $USER (then log out and in)"
            ) from None
        if code == errno.EBUSY or "busy" in str(exc).lower():
            raise DeviceError(f"{path}: port busy; close the other program using it") from None
        raise DeviceError(f"{path}: cannot open ({exc})") from None
    set_low_latency(path)
    return port


def set_low_latency(path: str) -> bool:
    """Set an FTDI adapter's latency timer to 1 ms where writable (Linux; default 16 ms)."""
    name = Path(os.path.realpath(path)).name
    for timer in glob.glob(f"/sys/bus/usb-serial/devices/{name}/latency_timer"):
        try:
            Path(timer).write_text("1")
            return True
        except OSError:
            log.info("cannot set %s to 1 ms (no permission); data may arrive in bursts", timer)
    return False


class SerialLink:
    """A port that is reopened with backoff when it disappears.

    handshake(port) runs after every (re)open and may raise DeviceError (board off, no
    answer). read() yields byte blocks, at most one per `read_window_s` (what arrived in the
    meantime, so a 1-kHz stream costs ~100 wake-ups a second, not one per frame); `reconnects`
    counts the reopenings, so a board can tell that the bytes after it come after an outage.
    """

    def __init__(
        self,
        path: str,
        baud: int,
        handshake: Callable[[serial.Serial], None],
        *,
        reconnect: bool = True,
        max_backoff_s: float = 5.0,
        read_window_s: float = 0.01,
    ) -> None:
        self.path = path
        self.read_window_s = read_window_s
        self.baud = baud
        self.handshake = handshake
        self.reconnect = reconnect
        self.max_backoff_s = max_backoff_s
        self.port: serial.Serial | None = None
        self.reconnects = 0
        self._closed = False

    def open(self) -> None:
        self.port = open_port(self.path, self.baud)
        try:
            self.handshake(self.port)
        except BaseException:
            self.port.close()
            self.port = None
            raise

    def write(self, data: bytes) -> None:
        if self.port is None:
            raise DeviceError(f"{self.path}: not connected")
        self.port.write(data)
        self.port.flush()

    def read(self) -> Iterator[bytes]:
        """Blocks of received bytes until `close()`; reconnects on loss when allowed."""
        last = time.monotonic()
        rate = 0.0  # bytes/s arriving, smoothed
        while not self._closed:
            if self.port is None:
                self.open()
            window = self.read_window_s
            if rate > 0:  # never let more gather than the kernel's tty buffer safely holds
                window = min(window, SAFE_BUFFER_BYTES / rate)
            wait = last + window - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            now = time.monotonic()
            elapsed, last = now - last, now
            try:
                assert self.port is not None
                data = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                if self._closed:
                    return
                if not self.reconnect:
                    raise DeviceError(f"{self.path}: connection lost ({exc})") from None
                self._reopen(exc)
                continue
            if data:
                rate = 0.8 * rate + 0.2 * len(data) / max(elapsed, 1e-3)
                yield data

    def close(self) -> None:
        self._closed = True
        if self.port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self.port.close()
            self.port = None

    def _reopen(self, exc: Exception) -> None:
        log.warning("%s: connection lost (%s); reconnecting", self.path, exc)
        try:
            if self.port is not None:
                self.port.close()
        except (serial.SerialException, OSError):
            pass
        self.port = None
        delay = 0.1
        while not self._closed:
            try:
                self.open()
                break
            except DeviceError as err:
                log.info("%s: still away (%s); retrying in %.1f s", self.path, err, delay)
                time.sleep(delay)
                delay = min(self.max_backoff_s, delay * 2)
        self.reconnects += 1
