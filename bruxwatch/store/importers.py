"""Reading and writing recordings as files. For now: plain CSV (one column per channel).

A CSV recording has a header row of channel names and one row per sample. An optional `time`
column (seconds) gives the sample rate; otherwise the caller must know it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

READ_ROWS = 200_000
"""Rows parsed per step when reading, so long files can report progress."""

FS_TOLERANCE = 0.01
"""A given sample rate may differ from the one implied by a time column by at most 1 %."""


class RecordingError(ValueError):
    """A recording file cannot be used; the message says why in one line."""


@dataclass
class Recording:
    """Samples (channels, n) float32 in `units`, at `fs` Hz, with channel names."""

    samples: np.ndarray
    fs: float
    channels: tuple[str, ...]
    units: str = "uV"

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.fs


def read_csv(
    path: str | Path,
    fs: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Recording:
    """Read a CSV recording. Raises RecordingError with a one-line reason on any problem.

    fs: sample rate in Hz; required unless the file has a `time` column, and checked against it
    when both are given. progress: called with (bytes read, file size).
    """
    path = Path(path)
    if fs is not None and not (fs > 0 and np.isfinite(fs)):
        raise RecordingError(f"sample rate must be a positive number of Hz, got {fs:g}")
    try:
        handle = path.open("r", encoding="utf-8", newline="")
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecordingError(f"{path}: is a folder, not a recording file") from None
    except PermissionError:
        raise RecordingError(f"{path}: permission denied") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot open ({exc.strerror})") from None
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
                raise RecordingError(
                    f"{path}: bad value near line {line}: {_first_line(exc)}"
                ) from None
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
    if "time" in lower:
        t_col = lower.index("time")
        fs = _fs_from_time(path, data[:, t_col], fs)
        data = np.delete(data, t_col, axis=1)
        names.pop(t_col)
    elif fs is None:
        raise RecordingError(f"{path}: no time column, so give the sample rate with --fs HZ")
    if not names:
        raise RecordingError(f"{path}: no signal columns")
    return Recording(
        samples=np.ascontiguousarray(data.T, dtype=np.float32),
        fs=float(fs),
        channels=tuple(names),
    )


def write_csv(path: str | Path, samples: np.ndarray, channels: tuple[str, ...]) -> None:
    """Write (channels, n) samples as CSV with a header row of channel names (3 decimals)."""
    samples = np.atleast_2d(samples)
    with Path(path).open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(channels) + "\n")
        row = ",".join(["%.3f"] * samples.shape[0]) + "\n"
        step = 50_000
        for start in range(0, samples.shape[1], step):
            block = samples[:, start : start + step].T
            out.write((row * block.shape[0]) % tuple(block.ravel().tolist()))


def _fs_from_time(path: Path, t: np.ndarray, fs: float | None) -> float:
    if t.size < 2:
        raise RecordingError(f"{path}: a time column needs at least two samples")
    step = float(np.median(np.diff(t)))
    if not step > 0:
        raise RecordingError(f"{path}: the time column does not increase")
    implied = 1.0 / step
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
