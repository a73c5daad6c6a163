"""How much room a night takes and how many fit: said before a recording starts, and by
`bruxwatch service status`.

A night stores its samples compressed (`block_codec`): an ADC's counts take about 1.1-1.3
bytes a sample on a 24-bit board and 0.3 on a 10-bit one, floats about 3.1 (the whole file,
measured by benchmarks/storage.py); the estimate takes the upper end of each, so it errs on
the side of room.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

BYTES_PER_COUNT = 1.5
"""Bytes on disk per sample per channel of a stream of ADC counts (`StreamInfo.steps`), the
database's pages included."""
BYTES_PER_FLOAT = 3.2
"""The same for a stream of floats (LSL, imports)."""
FEW_NIGHTS = 3
"""Room for fewer nights than this is worth a warning."""


def night_bytes(fs: float, channels: int, seconds: float, counts: bool = True) -> float:
    """Bytes a recording of `seconds` at `fs` Hz on `channels` channels takes (`counts`:
    the stream says its ADC step)."""
    return fs * channels * seconds * (BYTES_PER_COUNT if counts else BYTES_PER_FLOAT)


@dataclass(frozen=True)
class Room:
    """Free space in a folder against the size of one night."""

    folder: Path
    free_bytes: int
    night_bytes: float

    @property
    def nights(self) -> float:
        return self.free_bytes / self.night_bytes if self.night_bytes > 0 else float("inf")

    @property
    def short(self) -> bool:
        return self.nights < FEW_NIGHTS

    def text(self, hours: float) -> str:
        """e.g. "a night of 8.0 h needs about 231 MB; 41.2 GB free in ~/nights: room for
        178 such nights" (with a warning when fewer than FEW_NIGHTS fit)."""
        line = (
            f"a night of {hours:.1f} h needs about {size_text(self.night_bytes)}; "
            f"{size_text(self.free_bytes)} free in {self.folder}: room for "
            f"{self.nights:.0f} such night{'s' if round(self.nights) != 1 else ''}"
        )
        if self.nights < 1:
            return f"warning: not enough room for this night: {line}; free some space"
        if self.short:
            return f"warning: little room left: {line}; free some space soon"
        return line


def room_for(folder: Path, fs: float, channels: int, seconds: float, counts: bool = True) -> Room:
    """The room in `folder` for nights of `seconds` (OSError when it cannot be asked)."""
    need = night_bytes(fs, channels, seconds, counts)
    return Room(folder, shutil.disk_usage(folder).free, need)


def size_text(n: float) -> str:
    """Bytes as "231 MB", "41.2 GB" (decimal units, as disks are sold)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{n:.0f} B"
