"""A BLE peripheral kept connected all night, with bleak, for the BLE boards.

bleak is asyncio; a Device is a plain iterator read by the session's reader thread. So the
link runs its own event loop in a daemon thread: it finds the peripheral (by address, or by
name with a scan), connects, subscribes to the notify characteristic, writes the start
command, and on a disconnect (common overnight) reconnects with backoff (0.5 s doubling to
10 s), scanning again when the target is a name. Notifications go from bleak's callback into
a queue without blocking it; `events()` hands them to the reader with the host time they
arrived, plus a `Reconnected` marker after each reconnect so the device can record the gap.
Notifications that stop while the connection stays up (`stall_s` of silence) count as a drop:
the link disconnects and connects again, which restarts the board. `on_notice` gets one line
for each change a user should see (silence, drop, retry, data again); by default it is logged.

`backend` and `scanner` exist for tests and emulators: bleak's own BleakClient runs with a
fake backend (a BaseBleakClient subclass), so bleak's client code is exercised, not bypassed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bruxwatch.devices.base import DeviceError, LinkedDevice
from bruxwatch.devices.serial_link import STALL_S
from bruxwatch.stream import EMG, Chunk, ChunkRun

log = logging.getLogger(__name__)

ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")
BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class Notification:
    at: float  # host time.monotonic() when it arrived, s
    data: bytes


class Piece(NamedTuple):
    """Samples a notification carried: where they go in their stream (index), the samples
    (channels, n), how many of the stream's samples were lost just before them, and which
    stream (`EMG`, or one of the board's `aux_streams`)."""

    index: int
    samples: np.ndarray
    missing: int
    stream: str = EMG


@dataclass(frozen=True)
class Reconnected:
    lost_at: float  # host time of the last notification before the drop, s
    at: float  # host time the link was back, s


def bluetooth_error(exc: BaseException) -> str:
    """One line for a Bluetooth failure, without a D-Bus traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if any(k in lowered for k in ("dbus", "no such file", "bluez", "org.bluez", "adapter")):
        return f"no usable Bluetooth here ({text}); is there an adapter and is bluetoothd running?"
    return text


class BleLink:
    """Keeps one peripheral connected and streams its notifications."""

    def __init__(
        self,
        target: str,
        notify_uuid: str,
        write_uuid: str,
        *,
        start: bytes | None,
        stop: bytes | None,
        on_connect: Callable[[object], Awaitable[None]] | None = None,
        backend: type | None = None,
        scanner: Callable[[str, float], Awaitable[object | None]] | None = None,
        scan_timeout_s: float = 10.0,
        write_response: bool = False,
        stall_s: float = STALL_S,
    ) -> None:
        self.target = target
        self.notify_uuid, self.write_uuid = notify_uuid, write_uuid
        self.start_command, self.stop_command = start, stop
        self.on_connect = on_connect
        self.backend = backend
        self.scanner = scanner or _scan_for
        self.scan_timeout_s = scan_timeout_s
        self.write_response = write_response
        self.stall_s = stall_s
        self.on_notice: Callable[[str], None] = lambda text: log.warning("%s", text)
        self.reconnects = 0
        self._quiet_since: float | None = None
        self.client = None
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._first_error: str | None = None
        self._last_data = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    def open(self, timeout_s: float = 30.0) -> None:
        """Start the link and wait for the first connection (DeviceError if it fails)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run_loop, name="ble-link", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._connected.is_set() and time.monotonic() < deadline:
            if self._first_error is not None:
                self.close()
                raise DeviceError(f"{self.target}: {self._first_error}")
            time.sleep(0.02)
        if not self._connected.is_set():
            self.close()
            raise DeviceError(f"{self.target}: no connection within {timeout_s:g} s")

    def close(self) -> None:
        self._stop.set()
        loop = self._loop
        if loop is not None and loop.is_running():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(5)
        if self._thread is not None:
            self._thread.join(5)

    def write(self, data: bytes, timeout_s: float = 2.0) -> None:
        """Write a command to the write characteristic (from any thread)."""
        loop, client = self._loop, self.client
        if loop is None or client is None or not self._connected.is_set():
            raise DeviceError(f"{self.target}: not connected, command not sent")
        future = asyncio.run_coroutine_threadsafe(
            client.write_gatt_char(self.write_uuid, data, response=self.write_response), loop
        )
        try:
            future.result(timeout_s)
        except Exception as exc:  # noqa: BLE001 - any backend error becomes one line
            raise DeviceError(f"{self.target}: write failed ({bluetooth_error(exc)})") from None

    def events(self, wait_s: float = 0.2) -> Iterator[list[Notification | Reconnected]]:
        """Batches of what arrived: blocks up to `wait_s` for the first item, then takes
        everything already queued. Ends when the link is closed."""
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=wait_s)
            except queue.Empty:
                yield []
                continue
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 4096:
                    batch.append(self._queue.get_nowait())
            yield batch

    # -------------------------------------------------------------------- the loop
    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._keep_connected())
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _keep_connected(self) -> None:
        from bleak import BleakClient

        attempt = 0
        while not self._stop.is_set():
            disconnected = asyncio.Event()
            try:
                device = await self._find()
                kwargs = {"backend": self.backend} if self.backend is not None else {}
                client = BleakClient(
                    device, disconnected_callback=lambda _c, d=disconnected: d.set(), **kwargs
                )
                await client.connect()
                self.client = client
                if self.on_connect is not None:
                    await self.on_connect(client)
                await client.start_notify(self.notify_uuid, self._notified)
                if self.start_command:
                    await client.write_gatt_char(
                        self.write_uuid, self.start_command, response=self.write_response
                    )
            except Exception as exc:  # noqa: BLE001 - report, then retry (or fail the open)
                message = bluetooth_error(exc)
                if not self._connected.is_set() and self.reconnects == 0:
                    self._first_error = message
                    return
                delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                self.on_notice(
                    f"{self.target}: reconnect failed ({message}); retrying in {delay:g} s"
                )
                await self._sleep(delay)
                attempt += 1
                continue
            if self.reconnects:
                self._queue.put_nowait(
                    Reconnected(self._quiet_since or self._last_data, time.monotonic())
                )
            self._connected.set()
            attempt = 0
            self._last_data = time.monotonic()  # silence counts from the (re)connection
            stop_wait = asyncio.ensure_future(self._wait_stop())
            drop_wait = asyncio.ensure_future(disconnected.wait())
            silence_wait = asyncio.ensure_future(self._wait_silence())
            waits = {stop_wait, drop_wait, silence_wait}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for wait in waits:
                wait.cancel()
            if self._stop.is_set():
                return
            self._connected.clear()
            self.reconnects += 1
            self._quiet_since = self._quiet_since or self._last_data
            if silence_wait.done() and not drop_wait.done():
                quiet = time.monotonic() - self._last_data
                self.on_notice(f"{self.target}: no data for {quiet:.0f} s; reconnecting")
                with contextlib.suppress(Exception):
                    await client.disconnect()
            else:
                self.on_notice(f"{self.target}: disconnected; reconnecting")
            await self._sleep(BACKOFF_S[0])

    async def _find(self):
        if ADDRESS.match(self.target):
            return self.target
        device = await self.scanner(self.target, self.scan_timeout_s)
        if device is None:
            raise DeviceError(f"no BLE device named {self.target!r} found")
        return device

    def _notified(self, _characteristic, data: bytearray) -> None:
        now = time.monotonic()
        self._last_data = now
        self._queue.put_nowait(Notification(now, bytes(data)))
        if self._quiet_since is not None:
            self.on_notice(f"{self.target}: data again after {now - self._quiet_since:.1f} s")
            self._quiet_since = None

    async def _wait_silence(self) -> None:
        """Returns when no notification has come for `stall_s` (never if 0)."""
        while not self.stall_s or time.monotonic() - self._last_data < self.stall_s:
            await asyncio.sleep(0.1)

    async def _wait_stop(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(0.05)

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            await asyncio.sleep(0.05)

    async def _shutdown(self) -> None:
        client = self.client
        if client is None or not client.is_connected:
            return
        with contextlib.suppress(Exception):
            if self.stop_command:
                await client.write_gatt_char(
                    self.write_uuid, self.stop_command, response=self.write_response
                )
            await client.disconnect()


async def _scan_for(name: str, timeout_s: float):
    """The first advertising device whose name is `name` (or starts with it)."""
    from bleak import BleakScanner

    return await BleakScanner.find_device_by_filter(
        lambda device, adv: bool(
            (adv.local_name or device.name or "").lower().startswith(name.lower())
        ),
        timeout=timeout_s,
    )


class NotifyingBoard(LinkedDevice):
    """A board whose samples come in BLE notifications on `link`. `notified_chunks()` joins
    what each batch of notifications brought into gap-free chunks; a subclass decodes one
    notification into pieces (`pieces`). `restarted` is set when the link was made again (the
    board starts afresh) and left for the subclass to clear once it has placed the gap."""

    link: BleLink
    restarted = False

    def pieces(self, item: Notification) -> Iterator[Piece]:
        """The pieces of signal `item` carries, in order within each stream."""
        raise NotImplementedError

    def notified_chunks(self) -> Iterator[Chunk]:
        self.restarted = False
        for batch in self.link.events():
            runs: dict[str, ChunkRun] = {}
            for item in batch:
                if isinstance(item, Reconnected):
                    self.restarted = True
                    continue
                for piece in self.pieces(item):
                    run = runs.setdefault(piece.stream, ChunkRun(piece.stream))
                    if done := run.add(piece.index, piece.samples, piece.missing):
                        yield done
            for run in runs.values():
                if last := run.take():
                    yield last
