"""`replay:PATH`: a recorded night played back as if it were a device.

Any file the importers read (EDF/BDF, OpenBCI GUI, BrainFlow CSV, plain CSV with `fs=`) or a
bruxwatch recording (.sqlite). Gaps in the file are replayed as gaps. A recording's
auxiliary streams (the accelerometer) are replayed beside its EMG, each sample once the EMG
has reached its time. `speed=1` paces the
chunks to the wall clock (the live window shows it as it was), `speed=60` plays an hour a
minute, `speed=0` as fast as the host can score (the default without a live window).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bruxwatch.devices.base import DeviceSpec
from bruxwatch.devices.options import no_more, pop_number
from bruxwatch.stream import EMG, Chunk, StreamInfo, gapless_chunks

CHUNK_S = 0.05
"""Replayed chunk length, s (like a board delivering 50 ms at a time)."""


def _due(runs: list[Chunk], until: float) -> Iterator[Chunk]:
    """The samples of the gap-free `runs` with an index below `until`, taken off them."""
    while runs and runs[0].first_index < until:
        run = runs[0]
        n = min(run.n, max(1, int(np.ceil(until - run.first_index))))
        yield Chunk(run.first_index, run.samples[:, :n], stream=run.stream)
        if n == run.n:
            runs.pop(0)
        else:
            runs[0] = Chunk(run.first_index + n, run.samples[:, n:], stream=run.stream)


class ReplayDevice:
    """Plays a recording file back in chunks of `chunk_s` seconds at `speed` x real time."""

    def __init__(
        self,
        path: str | Path,
        *,
        speed: float = 0.0,
        fs: float | None = None,
        chunk_s: float = CHUNK_S,
    ) -> None:
        from bruxwatch.devices.base import DeviceError

        self.path = Path(path)
        if speed < 0:
            raise ValueError(f"replay speed must be 0 (as fast as possible) or more, got {speed}")
        self.speed = speed
        self._stop = threading.Event()
        self.aux_streams: dict[str, StreamInfo] = {}
        self._is_night = self.path.suffix.lower() in (".sqlite", ".db")
        if self._is_night:
            from bruxwatch.errors import StoreError
            from bruxwatch.store.recording import Recording

            try:  # read the header here; the samples are read in the reader's own thread
                with Recording(self.path) as night:
                    stored = night.info
                    self.aux_streams = {
                        name: dataclasses.replace(info, device=f"replay of {info.device}")
                        for name, info in night.aux_streams().items()
                    }
            except StoreError as exc:
                raise DeviceError(str(exc)) from None
            self.info = StreamInfo(
                fs=stored.fs,
                channels=stored.channels,
                units=stored.units,
                kind=stored.kind,
                device=f"replay of {self.path.name}",
                rails=stored.rails,
            )
        else:
            from bruxwatch.store.importers import NoSampleRate, RecordingError, read_recording

            try:
                self._file = read_recording(self.path, fs=fs)
            except NoSampleRate:
                raise DeviceError(
                    f"{self.path}: no time column, so give the sample rate in the device, "
                    f"e.g. replay:{self.path}?fs=1000"
                ) from None
            except RecordingError as exc:
                raise DeviceError(str(exc)) from None
            self.info = StreamInfo(
                fs=self._file.fs,
                channels=self._file.channels,
                units=self._file.units,
                kind="raw",
                device=f"replay of {self.path.name} ({self._file.source})",
            )
        self.block = max(1, int(round(chunk_s * self.info.fs)))

    def _source(self) -> Iterator[Chunk]:
        if self._is_night:
            from bruxwatch.store.recording import Recording

            with Recording(self.path) as night:
                aux = {
                    name: gapless_chunks(*night.aux_samples(name), name)
                    for name in self.aux_streams
                }
                for chunk in night.chunks(max_samples=self.block):
                    yield chunk
                    for name, runs in aux.items():
                        until = chunk.end_index * self.aux_streams[name].fs / self.info.fs
                        yield from _due(runs, until)
                for runs in aux.values():
                    yield from _due(runs, float("inf"))
        else:
            yield from self._file.chunks(block=self.block)

    def chunks(self) -> Iterator[Chunk]:
        started = time.monotonic()
        origin: int | None = None
        for chunk in self._source():
            if self._stop.is_set():
                return
            if chunk.stream != EMG:  # an aux chunk follows the EMG it was due with
                yield chunk
                continue
            if origin is None:
                origin = chunk.first_index
            if self.speed > 0:
                due = started + (chunk.end_index - origin) / self.info.fs / self.speed
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            yield chunk

    def close(self) -> None:
        self._stop.set()


def open_spec(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> ReplayDevice:
    """`replay:night.edf?speed=1`: a stored night or imported file played back (speed x real
    time; 0 as fast as it reads; default real time when the command is live)."""
    if not spec.target:
        raise ValueError("give the file to replay, e.g. replay:night.edf?speed=1")
    speed = pop_number(options, "speed", "1" if realtime else "0")
    fs = pop_number(options, "fs", None)
    no_more(spec.scheme, options)
    return ReplayDevice(spec.target, speed=speed, fs=fs)
