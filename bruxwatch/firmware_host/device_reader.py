"""The session's reader thread: it pulls chunks from the device (blocking serial reads,
reconnects inside the device layer) and hands each, stamped with its arrival time, to the
session's loop; and what else goes into the loop's queue (notices, ticks, the stop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bruxwatch.devices.base import Device

MAX_QUEUED_CHUNKS = 2000
"""Chunks the reader may be ahead of the scorer (20 s of 10-ms chunks) before it waits."""
STOP = object()
"""Queued by `Session.stop()`: the loop ends."""
TICK = object()
"""Queued every half second by `tick`, so the loop wakes when nothing comes."""


@dataclass(frozen=True)
class Notice:
    """What the device's link said, queued in order with the chunks it came after."""

    text: str


async def tick(queue: asyncio.Queue, every_s: float) -> None:
    """Put TICK in the queue every `every_s` seconds (until cancelled)."""
    while True:
        await asyncio.sleep(every_s)
        queue.put_nowait(TICK)


def read_device(
    device: Device,
    put: Callable[[object], None],
    room: threading.Semaphore,
    stopping: Callable[[], bool],
) -> None:
    """Read `device` until it ends or `stopping()`: `put((chunk, time.perf_counter()))` for
    each chunk, `put(None)` at the end of the stream, `put(exc)` for what the device raised
    (the loop reports it and stops); `put` must be safe from this thread.

    Back-pressure for sources faster than real time (the simulator at full speed): `room`
    is taken before the next chunk is read (the loop releases it per chunk handled), so a
    closed-loop simulator (max_ahead_chunks = 1) makes chunk k+1 only after chunk k was
    handled. A live board never gets this far ahead, so nothing it sends waits here."""
    try:
        chunks = iter(device.chunks())
        while True:
            while not room.acquire(timeout=0.5):
                if stopping():
                    return
            chunk = next(chunks, None)
            if chunk is None:
                break
            put((chunk, time.perf_counter()))
            if stopping():
                break
        put(None)
    except BaseException as exc:  # handed to the loop, which reports and stops
        with contextlib.suppress(RuntimeError):  # the loop has closed
            put(exc)
