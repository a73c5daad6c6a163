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
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import serial

from bruxwatch.devices.base import DeviceError, LinkedDevice

log = logging.getLogger(__name__)


SAFE_BUFFER_BYTES = 2048
"""Bytes allowed to gather between reads: half of Linux's 4-kB tty read buffer."""


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


STALL_S = 2.0
"""Seconds without a byte, port open, before the board is taken for stalled and restarted."""


class SerialLink:
    """A port that is reopened with backoff when it disappears, and restarted when it falls
    silent.

    handshake(port) runs after every (re)open, and again on the open port when no byte has
    come for `stall_s` (a board reset by a brown-out waits for its start command; a Cyton
    whose radio link dropped needs a new start); it may raise DeviceError (board off, no
    answer), and then the port is reopened with backoff. A link without `restartable` (a
    plain sketch: nothing to send) only reports the silence. read() yields byte blocks, at
    most one per `read_window_s` (what arrived in the meantime, so a 1-kHz stream costs ~100
    wake-ups a second, not one per frame). `reconnects` counts the breaks (reopenings and
    silences), so a board can tell that the bytes after it come after an outage and place
    them by the host clock. `on_notice` gets one line for each change a user should see
    (silence, lost port, retry, data again); by default it is logged.
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
        stall_s: float = STALL_S,
        restartable: bool = True,
    ) -> None:
        self.path = path
        self._window = read_window_s
        self._shortened = threading.Event()  # set when the window is cut during a wait
        self.baud = baud
        self.handshake = handshake
        self.reconnect = reconnect
        self.max_backoff_s = max_backoff_s
        self.stall_s = stall_s
        self.restartable = restartable
        self.port: serial.Serial | None = None
        self.reconnects = 0
        self.on_notice: Callable[[str], None] = lambda text: log.warning("%s", text)
        self._closed = False
        self._quiet_since: float | None = None  # set while an outage is under way

    @property
    def read_window_s(self) -> float:
        """How long bytes gather between reads (s). Cutting it ends the wait under way at
        once (from any thread), so a clench seen during a long resting read is read in short
        windows from then on, not one long read later."""
        return self._window

    @read_window_s.setter
    def read_window_s(self, seconds: float) -> None:
        shorter = seconds < self._window
        self._window = seconds
        if shorter:
            self._shortened.set()

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
        last_data = last
        stall_after = self.stall_s
        rate = 0.0  # bytes/s arriving, smoothed
        while not self._closed:
            if self.port is None:
                self.open()
            window = self.read_window_s
            if rate > 0:  # never let more gather than the kernel's tty buffer safely holds
                window = min(window, SAFE_BUFFER_BYTES / rate)
            wait = last + window - time.monotonic()
            if wait > 0:
                self._shortened.wait(wait)  # returns early when the window is cut
            self._shortened.clear()
            if self._closed:
                return
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
                self._quiet_since = self._quiet_since or last_data
                self._reopen(exc)
                last = time.monotonic()
                continue
            if data:
                if self._quiet_since is not None:
                    self.on_notice(f"{self.path}: data again after {now - self._quiet_since:.1f} s")
                    self._quiet_since = None
                last_data, stall_after = now, self.stall_s
                rate = 0.8 * rate + 0.2 * len(data) / max(elapsed, 1e-3)
                yield data
            elif self.stall_s and now - last_data >= stall_after and not self._closed:
                self._quiet_since = self._quiet_since or last_data
                self._stalled(now - self._quiet_since)
                # a board that still says nothing is tried again less and less often
                last_data, stall_after = time.monotonic(), min(4 * stall_after, 60.0)
                last = last_data

    def close(self) -> None:
        self._closed = True
        self._shortened.set()  # a reader waiting out its window stops now
        if self.port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self.port.close()
            self.port = None

    def _stalled(self, silent_s: float) -> None:
        """No byte for a while with the port open: restart the board (or just say so)."""
        if not self.restartable:
            self.on_notice(f"{self.path}: no data for {silent_s:.0f} s; waiting for the sketch")
            self.reconnects += 1
            return
        self.on_notice(f"{self.path}: no data for {silent_s:.0f} s; restarting the board")
        try:
            assert self.port is not None
            self.handshake(self.port)
        except (DeviceError, serial.SerialException, OSError) as exc:
            self.on_notice(f"{self.path}: the board does not answer yet; trying again")
            self._reopen(exc, announce=False)
            return
        self.reconnects += 1

    def _reopen(self, exc: Exception, announce: bool = True) -> None:
        if announce:
            self.on_notice(f"{self.path}: connection lost ({exc}); reconnecting")
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
                if delay >= 1.0:  # the first quick retries go unannounced
                    self.on_notice(f"{self.path}: still away ({err}); retrying in {delay:.0f} s")
                time.sleep(delay)
                delay = min(self.max_backoff_s, delay * 2)
        self.reconnects += 1


class SerialBoard(LinkedDevice):
    """What every board on a SerialLink shares: how long bytes gather between reads, and
    where the link's notices go (the session shows them in its status line)."""

    link: SerialLink

    @property
    def read_window_s(self) -> float:
        """How long the reader lets bytes gather between reads (latency vs. CPU)."""
        return self.link.read_window_s

    @read_window_s.setter
    def read_window_s(self, seconds: float) -> None:
        self.link.read_window_s = seconds
