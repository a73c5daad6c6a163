"""Reading recordings from files, whatever made them; writing plain CSV.

`read_recording` detects the format from the file's first bytes:
- EDF / EDF+ / BDF (pyEDFlib), e.g. from a sleep lab or `bruxwatch export --edf`;
- OpenBCI GUI `OpenBCI-RAW-*.txt` and BrainFlow CSV (see openbci_files);
- plain CSV: a header row of channel names and one row per sample. An optional `time` or
  `time_s` column (seconds) gives the sample rate, and pauses in it become gaps; otherwise the
  caller must know the rate.
Recordings made by `bruxwatch record` (.sqlite) are read with store.recording instead.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bruxwatch.errors import os_error_line
from bruxwatch.store.private import private_file
from bruxwatch.stream import ACCEL, Chunk, StreamInfo, gapless_chunks

READ_ROWS = 200_000
"""Rows parsed per step when reading, so long files can report progress."""

FS_TOLERANCE = 0.01
"""A given sample rate may differ from the one implied by a time column by at most 1 %."""


class RecordingError(ValueError):
    """A recording file cannot be used; the message says why in one line."""


class NoSampleRate(RecordingError):
    """The file has neither a sample rate nor a time column: the caller must give one."""


@dataclass
class FileRecording:
    """A recording read from another tool's file (or made in memory), all in memory; a
    stored night is `store.recording.Recording`. Samples (channels, n) float32 in `units`,
    at `fs` Hz, with channel names.

    gaps: (position in `samples`, samples lost just before it), from a packet counter or the
    file's clock; start: wall-clock time of the first sample, when the file says; source: the
    format it was read from.
    """

    samples: np.ndarray
    fs: float
    channels: tuple[str, ...]
    units: str = "uV"
    gaps: list[tuple[int, int]] = field(default_factory=list)
    start: dt.datetime | None = None
    source: str = "CSV"
    accel: tuple[np.ndarray, np.ndarray] | None = None
    """The file's accelerometer, when it has one: (3, m) in g at 25 Hz and the index of each
    reading on that clock (`openbci_files.held_readings`)."""

    def aux_chunks(self) -> Iterator[tuple[StreamInfo, Chunk]]:
        """The accelerometer as `ACCEL` stream chunks (runs without gaps) and its info."""
        if self.accel is None:
            return
        from bruxwatch.store.openbci_files import ACCEL_FS

        values, index = self.accel
        info = StreamInfo(
            fs=ACCEL_FS,
            channels=("accel_x", "accel_y", "accel_z"),
            units="g",
            kind="aux",
            device=f"{self.source}: accelerometer",
        )
        for chunk in gapless_chunks(values.astype(np.float32), index, ACCEL):
            yield info, chunk

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.fs

    def chunks(self, block: int = 1 << 17) -> Iterator[Chunk]:
        """The samples as stream chunks of at most `block`, gaps as jumps in the index."""
        cuts = [pos for pos, _ in self.gaps] + [self.samples.shape[1]]
        missing = dict(self.gaps)
        shift, start = 0, 0
        for cut in cuts:
            for a in range(start, cut, block):
                b = min(cut, a + block)
                lost = missing.get(a, 0) if a == start else 0
                shift += lost
                yield Chunk(a + shift, self.samples[:, a:b], missing_before=lost)
            start = cut


def read_recording(
    path: str | Path,
    fs: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileRecording:
    """Read any supported recording file (format detected from its content); raises
    RecordingError with one line on any problem. `fs` is needed only for plain CSV without
    a time column."""
    from bruxwatch.store import edf_import, openbci_files

    path = Path(path)
    with _open(path, "rb") as handle:
        head = handle.read(4096)
    try:
        if edf_import.looks_like_edf(head) or path.suffix.lower() in (".edf", ".bdf"):
            return _in_memory(edf_import.read_edf(path), gaps=[])
        first_line = head.decode("utf-8", errors="replace").splitlines()[0] if head else ""
        if head.startswith(b"SQLite format 3"):
            raise RecordingError(f"{path}: a bruxwatch recording; open it as a night (.sqlite)")
        if openbci_files.looks_like_gui(first_line):
            data = openbci_files.read_gui_txt(path)
        elif (layout := openbci_files.brainflow_layout(first_line)) is not None:
            data = openbci_files.read_brainflow_csv(path, layout)
        else:
            return read_csv(path, fs=fs, progress=progress)
    except (edf_import.EdfFileError, openbci_files.OpenBCIFileError) as exc:
        raise RecordingError(str(exc)) from None
    if fs is not None and abs(fs - data.fs) > FS_TOLERANCE * data.fs:
        raise RecordingError(f"{path}: --fs {fs:g} Hz disagrees with the file ({data.fs:g} Hz)")
    return _in_memory(data, gaps=data.gaps)


def _in_memory(data, gaps: list[tuple[int, int]]) -> FileRecording:
    """What a format's reader returned (samples, fs, channels, source, start), as float32."""
    return FileRecording(
        samples=np.ascontiguousarray(data.samples, dtype=np.float32),
        fs=data.fs,
        channels=data.channels,
        gaps=gaps,
        source=data.source,
        start=data.start,
        accel=getattr(data, "accel", None),
    )


def read_csv(
    path: str | Path,
    fs: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileRecording:
    """Read a CSV recording. Raises RecordingError with a one-line reason on any problem.

    fs: sample rate in Hz; required unless the file has a `time` column, and checked against it
    when both are given. progress: called with (bytes read, file size).
    """
    path = Path(path)
    if fs is not None and not (fs > 0 and np.isfinite(fs)):
        raise RecordingError(f"sample rate must be a positive number of Hz, got {fs:g}")
    handle = _open(path, "r", encoding="utf-8", newline="")
    with handle:
        size = max(1, path.stat().st_size)
        try:
            header = handle.readline()
        except UnicodeDecodeError:
            raise RecordingError(f"{path}: not a text CSV file") from None
        names = [h.strip().strip('"') for h in header.strip().split(",")]
        if not header.strip() or not any(names):
            raise RecordingError(f"{path}: empty file, expected a header row of channel names")
        if _all_numbers(names):
            raise RecordingError(f"{path}: the first row must name the channels, found numbers")
        blocks = []
        line = 2
        while True:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                    block = np.loadtxt(
                        handle, delimiter=",", dtype=np.float64, max_rows=READ_ROWS, ndmin=2
                    )
            except ValueError as exc:
                message = _first_line(exc)
                at = re.search(r" at row (\d+)(, column \d+)?\.?", message)
                where = f"line {line + int(at.group(1))}" if at else f"near line {line}"
                message = message.replace(at.group(0), "") if at else message
                raise RecordingError(f"{path}: bad value on {where}: {message}") from None
            except UnicodeDecodeError:
                raise RecordingError(f"{path}: not a text CSV file") from None
            if block.shape[0] == 0:
                break
            if block.shape[1] != len(names):
                raise RecordingError(
                    f"{path}: rows have {block.shape[1]} values but the header names {len(names)}"
                )
            blocks.append(block)
            line += block.shape[0]
            if progress is not None:
                progress(handle.buffer.tell() if hasattr(handle, "buffer") else 0, size)
            if block.shape[0] < READ_ROWS:
                break
    if not blocks:
        raise RecordingError(f"{path}: has a header but no samples")
    data = np.concatenate(blocks)
    if not np.isfinite(data).all():
        row = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0]) + 2
        raise RecordingError(f"{path}: missing or non-finite value on line {row}")
    lower = [n.lower() for n in names]
    gaps: list[tuple[int, int]] = []
    time_names = [n for n in ("time", "time_s") if n in lower]
    if time_names:
        t_col = lower.index(time_names[0])
        fs = _fs_from_time(path, data[:, t_col], fs)
        steps = np.rint(np.diff(data[:, t_col]) * fs).astype(np.int64)
        gaps = [(int(i) + 1, int(steps[i]) - 1) for i in np.flatnonzero(steps > 1)]
        data = np.delete(data, t_col, axis=1)
        names.pop(t_col)
    elif fs is None:
        raise NoSampleRate(f"{path}: no time column, so give the sample rate with --fs HZ")
    if not names:
        raise RecordingError(f"{path}: no signal columns")
    with np.errstate(over="ignore"):  # 1e39 becomes inf: scoring flags it, it is not fatal
        samples = np.ascontiguousarray(data.T, dtype=np.float32)
    return FileRecording(
        samples=samples,
        fs=float(fs),
        channels=tuple(names),
        gaps=gaps,
    )


def write_csv(path: str | Path, samples: np.ndarray, channels: tuple[str, ...]) -> None:
    """Write (channels, n) samples as CSV with a header row of channel names (3 decimals)."""
    samples = np.atleast_2d(samples)
    with private_file(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(channels) + "\n")
        row = ",".join(["%.3f"] * samples.shape[0]) + "\n"
        step = 50_000
        for start in range(0, samples.shape[1], step):
            block = samples[:, start : start + step].T
            out.write((row * block.shape[0]) % tuple(block.ravel().tolist()))


def _open(path: Path, mode: str, **kwargs):
    """`path.open(...)`, with every reason it cannot be opened as one RecordingError line."""
    try:
        return path.open(mode, **kwargs)
    except OSError as exc:
        raise RecordingError(os_error_line(path, exc)) from None


def _fs_from_time(path: Path, t: np.ndarray, fs: float | None) -> float:
    if t.size < 2:
        raise RecordingError(f"{path}: a time column needs at least two samples")
    step = float(np.median(np.diff(t)))
    if not step > 0:
        raise RecordingError(f"{path}: the time column does not increase")
    implied = 1.0 / step
    if abs(implied - round(implied)) < 1e-4 * implied:  # printed times round the last digit
        implied = float(round(implied))
    if fs is not None and abs(fs - implied) > FS_TOLERANCE * implied:
        raise RecordingError(
            f"{path}: --fs {fs:g} Hz disagrees with the time column ({implied:.6g} Hz)"
        )
    return fs if fs is not None else implied


def _all_numbers(values: list[str]) -> bool:
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
