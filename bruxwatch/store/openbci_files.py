"""Recordings made with OpenBCI's tools: the OpenBCI GUI's `OpenBCI-RAW-*.txt` and BrainFlow's
`DataFilter.write_file` CSV. Both carry the ExG channels in uV.

OpenBCI GUI (v5 and later): `%` header lines (`%Number of channels = 8`, `%Sample Rate = 250
Hz`, `%Board = OpenBCI_GUI$BoardCytonSerial`), then a row of column names (`Sample Index, EXG
Channel 0, ...`; v5 writes a row of zeros there instead, which is no sample and is skipped),
then comma-separated rows whose `Timestamp` column is the host's unix time (s) of each sample:
the first one dates the recording. The older v4 files have no column-name row: the columns are
the sample index, the ExG channels, accelerometer values and a clock time (no date).
A Cyton's accelerometer (GUI v5 and later: the `Accel Channel 0-2` columns; BrainFlow: rows
9-11; in g) is read too:
the GUI holds each 25-Hz reading in every row until the next, so the value at every 10th
sample of the stream (index 9, 19, ... counting lost samples) is that reading
(`OpenBCIData.accel`).

BrainFlow CSV: no header, one sample per line, tab-separated, one column per row of the board's
data array; the layout (which columns are ExG, package number, timestamp) is BrainFlow's board
description, copied below for the boards bruxwatch knows.

Lost packets: Cyton counts samples 0-255 and wraps, so a jump in that counter is an exact gap
of the missing count; for other boards the files carry no reliable counter and gaps are found
from the host timestamps (a pause longer than 3 sample periods).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BrainFlowLayout:
    """Where the columns are in a BrainFlow data array (BoardShim.get_board_descr)."""

    name: str
    num_rows: int
    exg: tuple[int, ...]
    package_num: int
    timestamp: int
    fs: float
    counter_modulo: int | None
    accel: tuple[int, ...] = ()
    """The rows holding the accelerometer's last reading (g), for a board at 10 samples
    per reading (the Cyton); empty where bruxwatch does not read it."""


# From BrainFlow's board descriptions (BoardShim.get_board_descr), checked against
# brainflow 5.x: Cyton 24 rows (ExG 1-8, accel 9-11, timestamp 22), Ganglion 15 rows (ExG
# 1-4, timestamp 13), Cyton+Daisy 32 rows (ExG 1-16, timestamp 30); package number in row 0.
# BrainFlow's Cyton writes the last accelerometer reading into every row, as the GUI does.
BRAINFLOW_LAYOUTS = {
    24: BrainFlowLayout("Cyton", 24, tuple(range(1, 9)), 0, 22, 250.0, 256, (9, 10, 11)),
    15: BrainFlowLayout("Ganglion", 15, tuple(range(1, 5)), 0, 13, 200.0, None),
    32: BrainFlowLayout("Cyton+Daisy", 32, tuple(range(1, 17)), 0, 30, 125.0, None),
}

GUI_BOARDS = {  # %Board = OpenBCI_GUI$<name>: (default rate Hz, counter modulo)
    "BoardCytonSerial": (250.0, 256),
    "BoardCytonWifi": (1000.0, 256),
    "BoardCytonSerialDaisy": (125.0, None),
    "BoardGanglionBLE": (200.0, None),
    "BoardGanglionNative": (200.0, None),
    "BoardGanglionWifi": (1600.0, None),
}


class OpenBCIFileError(ValueError):
    """The file looked like an OpenBCI/BrainFlow file but cannot be read; one line says why."""


@dataclass
class OpenBCIData:
    """ExG samples (channels, n) in uV, the rate, channel names, and gaps as (position in the
    sample array, samples missing before it)."""

    samples: np.ndarray
    fs: float
    channels: tuple[str, ...]
    gaps: list[tuple[int, int]]
    source: str
    start: dt.datetime | None = None  # the first sample's time (UTC), from the file
    accel: tuple[np.ndarray, np.ndarray] | None = None
    """The accelerometer (3, m) in g at `ACCEL_FS` and each reading's index on that clock."""


ACCEL_FS = 25.0
"""The rate (Hz) of a Cyton's accelerometer readings."""
ACCEL_BOARDS = ("BoardCytonSerial", "BoardCytonWifi")
"""GUI boards whose accelerometer columns hold the Cyton's 25-Hz readings."""


def looks_like_gui(first_line: str) -> bool:
    return first_line.startswith("%OpenBCI")


def brainflow_layout(first_line: str) -> BrainFlowLayout | None:
    """The layout a BrainFlow CSV line matches (tab-separated numbers), or None."""
    fields = first_line.rstrip("\r\n").split("\t")
    if len(fields) not in BRAINFLOW_LAYOUTS:
        return None
    try:
        [float(f) for f in fields]
    except ValueError:
        return None
    return BRAINFLOW_LAYOUTS[len(fields)]


def counter_gaps(counter: np.ndarray, modulo: int) -> list[tuple[int, int]]:
    """Gaps from a wrapping sample counter: a step of k (mod `modulo`) means k-1 lost."""
    steps = np.mod(np.diff(counter.astype(np.int64)), modulo)
    where = np.flatnonzero(steps != 1)
    return [(int(i) + 1, int((steps[i] - 1) % modulo)) for i in where if steps[i] != 1]


def timestamp_gaps(t: np.ndarray, fs: float, factor: float = 3.0) -> list[tuple[int, int]]:
    """Gaps from host timestamps (s): pauses longer than `factor` sample periods."""
    dt = np.diff(t)
    where = np.flatnonzero(dt > factor / fs)
    return [(int(i) + 1, max(1, int(round(dt[i] * fs)) - 1)) for i in where]


def read_brainflow_csv(path: Path, layout: BrainFlowLayout) -> OpenBCIData:
    data = _loadtxt(path, delimiter="\t", skip=0)
    if data.shape[1] != layout.num_rows:
        raise OpenBCIFileError(
            f"{path}: rows have {data.shape[1]} values, a BrainFlow {layout.name} file has "
            f"{layout.num_rows}"
        )
    samples = data[:, layout.exg].T
    if layout.counter_modulo:
        gaps = counter_gaps(data[:, layout.package_num], layout.counter_modulo)
    else:
        gaps = timestamp_gaps(data[:, layout.timestamp], layout.fs)
    channels = tuple(f"exg{k}" for k in range(1, len(layout.exg) + 1))
    start = unix_start(data[0, layout.timestamp])
    accel = held_readings(data[:, list(layout.accel)].T, gaps, layout.fs) if layout.accel else None
    source = f"BrainFlow CSV ({layout.name})"
    return OpenBCIData(samples, layout.fs, channels, gaps, source, start, accel)


UNIX_RANGE = (1e9, 4.2e9)
"""Seconds since 1970 that a recording's timestamp can be: 2001 to 2103."""


def unix_start(value: float) -> dt.datetime | None:
    """A unix time (s) as a UTC datetime, or None if it is not one (a GUI v4 clock time)."""
    if not UNIX_RANGE[0] <= value <= UNIX_RANGE[1]:
        return None
    return dt.datetime.fromtimestamp(float(value), dt.UTC)


def _timestamp_column(line: str, names: list[str] | None) -> int | None:
    """The column of unix timestamps: named `Timestamp`, or the first that holds one."""
    if names is not None:
        for i, name in enumerate(names):
            if name.strip().lower() == "timestamp":
                return i
    for i, field in enumerate(line.split(",")):
        try:
            if UNIX_RANGE[0] <= float(field) <= UNIX_RANGE[1]:
                return i
        except ValueError:
            continue
    return None


def read_gui_txt(path: Path) -> OpenBCIData:
    """Read an OpenBCI GUI `OpenBCI-RAW-*.txt` recording (v4 or v5 layout)."""
    header: dict[str, str] = {}
    names: list[str] | None = None
    skip = 0
    first_row = ""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("%"):
                key, _, value = line[1:].partition("=")
                header[key.strip().lower()] = value.strip()
                skip += 1
                continue
            if names is None and re.search(r"[A-Za-z]", line.split(",")[0]):
                names = [n.strip() for n in line.split(",")]
                skip += 1
                continue
            if _all_zero(line):  # v5's row of zeros where v6 names the columns
                skip += 1
                continue
            first_row = line
            break
    rate = header.get("sample rate", "")
    match = re.match(r"([\d.]+)", rate)
    board = header.get("board", "").split("$")[-1]
    default_fs, modulo = GUI_BOARDS.get(board, (None, None))
    fs = float(match.group(1)) if match else default_fs
    if not fs:
        raise OpenBCIFileError(f"{path}: no '%Sample Rate = ... Hz' line in the header")
    accel_cols: list[int] = []
    if names is not None:
        exg = [i for i, n in enumerate(names) if n.lower().startswith("exg channel")]
        index_col = names.index("Sample Index") if "Sample Index" in names else 0
        if board in ACCEL_BOARDS:
            accel_cols = [i for i, n in enumerate(names) if n.lower().startswith("accel channel")]
            accel_cols = accel_cols if len(accel_cols) == 3 else []
        usecols = sorted({index_col, *exg, *accel_cols})
    else:  # v4: index, N channels, accel x3, then clock-time column(s)
        count = int(header.get("number of channels", "8") or 8)
        exg = list(range(1, count + 1))
        index_col = 0
        usecols = list(range(0, count + 1))
    if not exg:
        raise OpenBCIFileError(f"{path}: no 'EXG Channel' columns")
    stamp_col = _timestamp_column(first_row, names)
    if stamp_col is not None:
        usecols = sorted({*usecols, stamp_col})
    data = _loadtxt(path, delimiter=",", skip=skip, usecols=usecols)
    pos = {col: k for k, col in enumerate(usecols)}
    samples = data[:, [pos[c] for c in exg]].T
    gaps = counter_gaps(data[:, pos[index_col]], modulo) if modulo else []
    if not modulo and stamp_col is not None:
        gaps = timestamp_gaps(data[:, pos[stamp_col]], fs)
    channels = tuple(f"exg{k}" for k in range(1, len(exg) + 1))
    source = f"OpenBCI GUI ({board or 'unknown board'})"
    start = unix_start(data[0, pos[stamp_col]]) if stamp_col is not None else None
    accel = None
    if accel_cols:
        accel = held_readings(data[:, [pos[c] for c in accel_cols]].T, gaps, fs)
    return OpenBCIData(samples, fs, channels, gaps, source, start, accel)


def held_readings(
    held: np.ndarray, gaps: list[tuple[int, int]], fs: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """25-Hz readings from values held in every row (3, n): the value at each stream index
    that closes a reading's period, with the reading's index on its own clock. All-zero
    values (what the tools hold before the first reading arrives) are no reading; None
    without any."""
    every = round(fs / ACCEL_FS)
    if every < 1 or abs(every * ACCEL_FS - fs) > 1e-6:
        return None
    stream_index = np.arange(held.shape[1])
    for position, missing in gaps:
        stream_index[position:] += missing
    closing = np.flatnonzero(stream_index % every == every - 1)
    closing = closing[np.any(held[:, closing] != 0.0, axis=0)]
    if closing.size == 0:
        return None
    return held[:, closing], stream_index[closing] // every


def _all_zero(line: str) -> bool:
    fields = [f.strip() for f in line.split(",") if f.strip()]
    try:
        return bool(fields) and all(float(f) == 0.0 for f in fields)
    except ValueError:
        return False


def _loadtxt(path: Path, delimiter: str, skip: int, usecols=None) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            data = np.loadtxt(
                path,
                delimiter=delimiter,
                skiprows=skip,
                usecols=usecols,
                ndmin=2,
                dtype=np.float64,
            )
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "bad value"
        changed = re.search(r"columns changed from (\d+) to (\d+) at row (\d+)", first)
        if changed:
            was, now, row = changed.groups()
            first = f"line {int(row) + skip} has {now} values where the others have {was}"
        raise OpenBCIFileError(f"{path}: {first}") from None
    if data.shape[0] == 0:
        raise OpenBCIFileError(f"{path}: no samples after the header")
    if not np.isfinite(data).all():
        row = int(np.flatnonzero(~np.isfinite(data).all(axis=1))[0]) + skip + 1
        raise OpenBCIFileError(f"{path}: missing or non-finite value on line {row}")
    return data
