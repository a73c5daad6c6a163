"""The records every layer shares: what a stream carries (StreamInfo) and blocks of its
samples (Chunk), from a device, a file or the simulator to the pipeline and the store.

Time in bruxwatch is the device clock: a sample's time in seconds is its index divided by the
sample rate. Host wall-clock time is recorded once per session, never per sample. This module
imports nothing of bruxwatch, so signal/, devices/ and store/ can all stand on it.

Beside the EMG a device may deliver auxiliary streams at their own rates (an accelerometer
at 25 Hz, heart rate, audio): it describes them in `aux_streams` (name -> StreamInfo of kind
"aux") and yields their chunks among the EMG's, each naming its stream (`Chunk.stream`).
Each stream counts its own sample indexes. The EMG is the stream named `EMG`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Literal

import numpy as np

MIN_RAW_FS = 100.0
"""Below this rate (Hz) a stream cannot be raw EMG (nothing left to band-pass above the
20-Hz edge): it is an envelope, such as the MyoWare's ENV output."""
MAX_FS = 20_000.0
"""The highest sample rate (Hz) bruxwatch takes: far above any sEMG amplifier's."""

SignalKind = Literal["raw", "envelope"]
"""What EMG stream a device sends: raw surface EMG, or an envelope made on the board."""
StreamKind = Literal["raw", "envelope", "aux"]
"""SignalKind, or "aux": a stream the EMG pipeline does not score (movement, sound ...)."""
EMG = "emg"
"""The name of the EMG stream, the one every device has."""
ACCEL = "accel"
"""The name of a 3-axis accelerometer's auxiliary stream (accel_x, accel_y, accel_z in g),
whichever device sends it; `signal.movement` reads position and movement from it."""
ACCEL_CHANNELS = ("accel_x", "accel_y", "accel_z")
PPG = "ppg"
"""The name of a pulse sensor's (photoplethysmograph's) stream: one channel, arbitrary
units; `signal.pulse` finds the heart beats in it."""
ECG_CHANNEL = "ecg"
"""The name of an EMG-stream channel wired as ECG (electrodes across the chest): its QRS
complexes give the heart beats, and it is never scored as EMG."""


@dataclass(frozen=True)
class StreamInfo:
    """What a stream carries.

    fs: sample rate in Hz.
    channels: channel names, e.g. ("left_masseter", "right_masseter").
    units: physical units of the samples, "uV" for microvolts or "counts" for raw ADC counts.
    kind: "raw" for surface EMG, "envelope" for boards that already rectify and smooth
        (the MyoWare 2.0 ENV pin); envelope streams skip band-pass and RMS.
    device: a human-readable description of the source.
    rails: (low, high) ADC limits in `units`, when known, for clipping detection.
    steps: each channel's ADC step in `units` (a Cyton's µV per count, 1 for counts) when
        every sample is a whole number of steps: the store keeps the counts, compressed
        (None: samples are any float).
    """

    fs: float
    channels: tuple[str, ...]
    units: str = "uV"
    kind: StreamKind = "raw"
    device: str = "unknown"
    rails: tuple[float, float] | None = None
    steps: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not (self.fs > 0 and np.isfinite(self.fs)):
            raise ValueError(f"sample rate must be a positive number of Hz, got {self.fs!r}")
        if not self.channels:
            raise ValueError("a stream needs at least one channel")
        if self.kind not in ("raw", "envelope", "aux"):
            raise ValueError(f"stream kind must be 'raw', 'envelope' or 'aux', got {self.kind!r}")

    @property
    def n_channels(self) -> int:
        return len(self.channels)


def accelerometer_info(fs: float, device: str) -> StreamInfo:
    """What an `ACCEL` stream is: X, Y, Z in g at `fs` Hz, from `device`."""
    return StreamInfo(fs=fs, channels=ACCEL_CHANNELS, units="g", kind="aux", device=device)


@dataclass
class Chunk:
    """A block of consecutive samples from one stream.

    first_index: index of the first sample since the start of the session (device clock).
    samples: float32 array of shape (channels, n) in the stream's units.
    missing_before: samples known to be lost immediately before this chunk (dropped packets,
        a reconnect); first_index already accounts for them.
    stream: the stream the samples belong to: `EMG`, or one of the device's `aux_streams`.
    """

    first_index: int
    samples: np.ndarray
    missing_before: int = 0
    stream: str = EMG

    def __post_init__(self) -> None:
        # Indexes are Python ints whatever arithmetic made them: sqlite3 stores a numpy
        # integer as a BLOB, and a float index would silently round. operator.index accepts
        # every integer type (numpy's too) and refuses floats.
        try:
            self.first_index = operator.index(self.first_index)
            self.missing_before = operator.index(self.missing_before)
        except TypeError:
            raise TypeError(
                f"chunk indexes must be integers, got first_index={self.first_index!r}, "
                f"missing_before={self.missing_before!r}"
            ) from None
        if self.first_index < 0 or self.missing_before < 0:
            raise ValueError(
                f"chunk indexes must not be negative (first_index={self.first_index}, "
                f"missing_before={self.missing_before})"
            )
        if self.samples.ndim != 2:
            raise ValueError(f"chunk samples must be (channels, n), got {self.samples.shape}")

    @property
    def n(self) -> int:
        return int(self.samples.shape[-1])

    @property
    def end_index(self) -> int:
        """Index one past the last sample."""
        return self.first_index + self.n

    def before(self, end: int | None) -> Chunk | None:
        """The part of this chunk before index `end` (all of it for None), or None if no
        sample is: what a session keeps of it up to --duration."""
        if end is None or self.end_index <= end:
            return self
        if self.first_index >= end:
            return None
        return Chunk(
            self.first_index,
            self.samples[:, : end - self.first_index],
            self.missing_before,
            self.stream,
        )


def gapless_chunks(samples: np.ndarray, index: np.ndarray, stream: str) -> list[Chunk]:
    """Samples (channels, n) at increasing stream indexes `index` (n,), such as a stored
    auxiliary stream read back, as one Chunk of `stream` per run without a gap."""
    breaks = (np.flatnonzero(np.diff(index) != 1) + 1).tolist()
    return [
        Chunk(int(index[lo]), samples[:, lo:hi], stream=stream)
        for lo, hi in zip([0, *breaks], [*breaks, index.size], strict=True)
        if hi > lo
    ]


class ChunkRun:
    """Pieces of a stream (frames, packets) joined into one Chunk per gap-free run, so a read
    that brought many pieces becomes one chunk, split only where samples were lost. The
    chunks belong to `stream`."""

    def __init__(self, stream: str = EMG) -> None:
        self.stream = stream
        self._parts: list[np.ndarray] = []
        self._start = 0
        self._missing = 0

    def add(self, index: int, samples: np.ndarray, missing: int = 0) -> Chunk | None:
        """Append `samples` starting at stream `index`, `missing` samples lost before them;
        returns the run finished by that gap, if any."""
        done = self.take() if missing else None
        if not self._parts:
            self._start, self._missing = index, missing
        self._parts.append(samples)
        return done

    def take(self) -> Chunk | None:
        """The run so far as one Chunk (None if empty); starts a new run."""
        if not self._parts:
            return None
        samples = np.concatenate(self._parts, axis=1)
        chunk = Chunk(self._start, samples, self._missing, stream=self.stream)
        self._parts = []
        return chunk


class AuxClock:
    """Places the readings of an auxiliary stream that a device sends inside its EMG packets
    (an accelerometer at `aux_fs` Hz beside EMG at `emg_fs` Hz) on the aux stream's own
    clock: a reading goes to the slot nearest to `emg_index x aux_fs / emg_fs` of the EMG
    sample that carried it, so both streams keep the same time.

    The sensor's own clock never quite matches the EMG's (a Ganglion sends 10 readings per
    201 samples on firmware 2, 9.95 a second; an accelerometer's rate is only nominal): a
    reading whose slot the reading before already took is dropped (the sensor runs a little
    fast), and one slot skipped is filled with the reading before, as OpenBCI's software
    holds the last reading (it runs a little slow). Readings so stay within a slot and a half
    of their time all night, and only two or more slots skipped are lost readings (a gap)."""

    def __init__(self, aux_fs: float, emg_fs: float) -> None:
        self.per_emg_sample = aux_fs / emg_fs
        self.expected: int | None = None  # the slot after the last reading placed
        self._last: np.ndarray | None = None

    def place(self, emg_index: int, reading: np.ndarray) -> list[tuple[int, np.ndarray, int]]:
        """(slot, samples (channels, 1), readings lost just before) for what to store of
        `reading` (channels,), carried by EMG sample `emg_index`: none, itself, or the
        reading before (held over one skipped slot) and itself."""
        slot = math.floor(emg_index * self.per_emg_sample + 0.5)  # the nearest, halves up
        expected, column = self.expected, np.asarray(reading).reshape(-1, 1)
        if expected is None:
            placed = [(slot, column, 0)]
        elif slot < expected:
            return []
        elif slot == expected + 1 and self._last is not None:
            placed = [(expected, self._last, 0), (slot, column, 0)]
        else:
            placed = [(slot, column, slot - expected)]
        self.expected, self._last = slot + 1, column
        return placed


def units_text(units: str) -> str:
    """How a stream's units read on screen and on paper: "uV" (as stored) -> "µV"; others
    as they are ("counts", "% MVC")."""
    return "µV" if units == "uV" else units
