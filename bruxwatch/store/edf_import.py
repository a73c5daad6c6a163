"""EDF, EDF+ and BDF (24-bit) recordings read with pyEDFlib, e.g. from a sleep lab or another
EMG tool. The signals at the file's highest sample rate are taken (the EMG; slower channels
such as SpO2 are left out), converted to uV, with the start date and time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TO_UV = {"uv": 1.0, "µv": 1.0, "μv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}


class EdfFileError(ValueError):
    """The file cannot be read as EDF/BDF; one line says why."""


@dataclass
class EdfData:
    samples: np.ndarray
    fs: float
    channels: tuple[str, ...]
    start: dt.datetime | None
    source: str


def looks_like_edf(head: bytes) -> bool:
    """EDF starts with "0" and 7 spaces; BDF with 0xFF "BIOSEMI"."""
    return head[:8] == b"0       " or head[:8] == b"\xffBIOSEMI"


def read_edf(path: Path) -> EdfData:
    try:
        import pyedflib
    except ImportError as exc:
        raise EdfFileError(
            f"reading EDF/BDF needs the report extra: pip install 'bruxwatch[report]' ({exc})"
        ) from None
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise EdfFileError(f"{path}: not a readable EDF/BDF file ({first})") from None
    try:
        rates = np.asarray(reader.getSampleFrequencies(), dtype=float)
        if rates.size == 0:
            raise EdfFileError(f"{path}: the file has no signals")
        chosen = [i for i in range(rates.size) if rates[i] == rates.max()]
        labels = reader.getSignalLabels()
        rows = []
        for i in chosen:
            unit = reader.getPhysicalDimension(i).strip().lower()
            scale = TO_UV.get(unit)
            if scale is None:
                raise EdfFileError(
                    f"{path}: signal {labels[i]!r} is in {unit or 'no unit'!r}, not a voltage"
                )
            rows.append(reader.readSignal(i) * scale)
        lengths = {r.size for r in rows}
        if len(lengths) != 1:
            raise EdfFileError(f"{path}: the signals at {rates.max():g} Hz differ in length")
        # EDF start times are the wall clock where the file was made (EDF has no time
        # zone); bruxwatch writes this machine's local time, so that is how it reads them
        start = reader.getStartdatetime().replace(tzinfo=None).astimezone()
        kind = "BDF" if str(path).lower().endswith(".bdf") else "EDF"
    finally:
        reader.close()
    channels = tuple(labels[i].strip() or f"ch{i + 1}" for i in chosen)
    return EdfData(np.vstack(rows), float(rates.max()), channels, start, kind)
