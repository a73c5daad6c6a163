"""EDF+ export of a night (with edfio): the raw EMG and annotations that EDFbrowser, MNE and
sleep-lab software open.

- One signal per channel, in the recording's units (uV), labelled "EMG <channel>", with the
  physical range set to the channel's own minimum and maximum (rounded outward to what fits the
  8-character EDF header field), so the 16-bit quantization step is as fine as the data allow.
  The step is reported per channel; it is what a round trip may differ by.
- Gaps (sensor disconnected) are filled with the channel's median and annotated; the signal
  is padded to whole 1-s data records with the same value, and the true end is annotated.
- Each auxiliary stream the night holds (the Cyton's accelerometer ...) becomes one more
  signal per channel at its own rate ("Accel X" in g, 25 Hz), filled like the EMG.
- Annotations: every scored episode (with kind, bursts and peak), every feedback decision
  (given or held back), gaps, bad-signal stretches, the calibration and the wearer's marks.
- Start date and time: the wall-clock time of sample 0 in the exporting machine's time zone
  (EDF has no time-zone field).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bruxwatch.store.formats import ExportOptions
from bruxwatch.store.private import private_path
from bruxwatch.store.recording import Recording
from bruxwatch.store.scored import ScoredNight, score_night

DATA_RECORD_S = 1
HEADER_FIELD = 8
"""EDF header numbers are at most 8 ASCII characters."""


@dataclass(frozen=True)
class EdfChannel:
    """What one exported channel became: physical range and quantization step, in `units`."""

    label: str
    physical_min: float
    physical_max: float
    step: float
    units: str = "uV"


def header_range(lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) widened outward to numbers that fit an 8-character EDF header field, never
    collapsing to a single value."""
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0

    def fits(value: float, decimals: int) -> bool:
        return len(f"{value:.{decimals}f}") <= HEADER_FIELD

    for decimals in range(6, -1, -1):
        scale = 10.0**decimals
        a, b = math.floor(lo * scale) / scale, math.ceil(hi * scale) / scale
        if fits(a, decimals) and fits(b, decimals):
            return a, b
    raise ValueError(f"values {lo:g}..{hi:g} do not fit an EDF header")


def annotations(night: ScoredNight, recording: Recording) -> list[tuple[float, float | None, str]]:
    """(onset s, duration s or None, text) for everything worth seeing in EDFbrowser."""
    fs = recording.info.fs
    items: list[tuple[float, float | None, str]] = []
    stretch = recording.session.config.get("calibration_s")
    if stretch:
        items.append((stretch[0], stretch[1] - stretch[0], "Calibration (rest, maximal clench)"))
    for e in night.analysis.episodes:
        peak = f", peak {e.peak_pct_mvc:.0f} %MVC" if e.peak_pct_mvc is not None else ""
        note = " (bad signal, not counted)" if e.artifact else ""
        bursts = f"{e.bursts} burst{'s' if e.bursts != 1 else ''}"
        text = f"Clench episode {e.kind}, {bursts}{peak}{note}"
        items.append((e.start_s, e.duration_s, text))
    for f in night.feedback:
        if f.fired and f.action not in ("", "none"):
            text = f"Feedback given ({f.action} {f.ms} ms)"
        elif f.fired:
            text = "Feedback given"
        else:
            text = f"Feedback held back ({f.reason})"
        items.append((f.trigger_index / fs, None, text))
    for at, missing in recording.gaps():
        items.append(((at - missing) / fs, missing / fs, "Signal gap (sensor disconnected)"))
    for lo, hi in night.analysis.bad_intervals:
        items.append((lo / fs, (hi - lo) / fs, "Bad signal quality"))
    for at, label in recording.marks():
        items.append((at, None, f"Mark: {label}"))
    return sorted(items, key=lambda item: item[0])


def write_edf(recording: Recording, path: Path, options: ExportOptions) -> str:
    """`export --edf`: the night scored with its own settings, then written as EDF+;
    ValueError for a night EDF+ cannot hold (a rate that is not a whole number ...)."""
    scored = score_night(recording, progress=options.progress)
    try:
        channels = export_edf(recording, scored, path, patient=options.patient)
    except ValueError as exc:
        raise ValueError(f"cannot write EDF+ ({exc})") from None
    ranges = "; ".join(
        f"{c.label} {c.physical_min:g}..{c.physical_max:g} {c.units}, step {c.step:.3g}"
        for c in channels
    )
    return f"{path} (EDF+, {len(scored.analysis.episodes)} episodes; {ranges})"


def export_edf(
    recording: Recording, night: ScoredNight, path: str | Path, patient: str | None = None
) -> list[EdfChannel]:
    """Write `recording` as EDF+ to `path`; returns each channel's range and step."""
    import edfio

    info = recording.info
    fs = info.fs
    if abs(fs - round(fs)) > 1e-9:
        raise ValueError(f"EDF export needs a whole-number sample rate, got {fs:g} Hz")
    per_record = int(round(fs)) * DATA_RECORD_S
    end = recording.end_index
    total = max(1, math.ceil(end / per_record)) * per_record
    signals, channels = [], []
    for ch, name in enumerate(info.channels):
        data = np.empty(total, dtype=np.float64)
        present = np.zeros(total, dtype=bool)
        for first, samples in recording.read(0, end):
            data[first : first + samples.shape[1]] = samples[ch]
            present[first : first + samples.shape[1]] = True
        signal, channel = _edf_signal(
            data, present, fs, edf_label(name), "surface EMG electrodes", info.units, "none (raw)"
        )
        signals.append(signal)
        channels.append(channel)
        del data, present
    for name, aux in recording.aux_streams().items():
        made = _aux_signals(recording, name, aux, total // per_record)
        signals += [signal for signal, _ in made]
        channels += [channel for _, channel in made]
    start = night.started_at.astimezone()
    notes = annotations(night, recording)
    if total > end:
        notes.append((end / fs, None, "Recording ends (padding follows)"))
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(name=_edf_text(patient) if patient else "X"),
        recording=edfio.Recording(
            startdate=start.date(), equipment_code=_edf_text(recording.session.device) or "X"
        ),
        starttime=start.time().replace(microsecond=0, tzinfo=None),
        data_record_duration=DATA_RECORD_S,
        annotations=[edfio.EdfAnnotation(onset, dur, text) for onset, dur, text in notes],
    )
    with private_path(path) as temporary:
        edf.write(temporary)
    return channels


def _aux_signals(recording: Recording, name: str, info, records: int) -> list:
    """One EDF signal per channel of an auxiliary stream (the Cyton's accelerometer ...), on
    the same data records as the EMG: gaps and the padding hold the channel's median."""
    if abs(info.fs - round(info.fs)) > 1e-9:
        raise ValueError(f"EDF export needs whole-number sample rates; {name} is {info.fs:g} Hz")
    values, index = recording.aux_samples(name)
    total = records * int(round(info.fs)) * DATA_RECORD_S
    inside = index < total
    made = []
    for row, channel in enumerate(info.channels):
        data = np.empty(total, dtype=np.float64)
        present = np.zeros(total, dtype=bool)
        data[index[inside]] = values[row, inside]
        present[index[inside]] = True
        label = channel.replace("_", " ").title()[:16]  # "accel_x" -> "Accel X"
        made.append(_edf_signal(data, present, info.fs, label, info.device, info.units, "none"))
    return made


def _edf_signal(
    data: np.ndarray,
    present: np.ndarray,
    fs: float,
    label: str,
    transducer: str,
    units: str,
    prefiltering: str,
):
    """One EDF signal of `data` (where `present`; the rest is filled, in place, with the
    median of what is), its physical range fitted to the values, and what it became."""
    import edfio

    data[~present] = float(np.median(data[present])) if present.any() else 0.0
    lo, hi = header_range(float(data.min()), float(data.max()))
    signal = edfio.EdfSignal(
        data,
        sampling_frequency=fs,
        label=label,
        transducer_type=transducer[:80],
        physical_dimension=units[:8],
        physical_range=(lo, hi),
        prefiltering=prefiltering,
    )
    return signal, EdfChannel(label, lo, hi, (hi - lo) / 65535, units)


def edf_label(channel: str) -> str:
    """A 16-character EDF label: "EMG Masseter L" for bruxwatch's masseter channel names
    (left_masseter, "EMG Masseter L" read back from an EDF file); other names keep theirs,
    with "EMG " in front unless they start with it."""
    lowered = channel.lower()
    words = lowered.replace("_", " ").split()
    if "masseter" in words:
        side = "L" if {"left", "l"} & set(words) else "R" if {"right", "r"} & set(words) else ""
        return f"EMG Masseter {side}".strip()
    label = channel if lowered.startswith("emg") else f"EMG {channel}"
    return label[:16]


def _edf_text(text: str) -> str:
    """EDF+ subfields are printable ASCII without spaces: letters are transliterated
    ("Jürgen Groß" -> "Jurgen_Gross", Cyrillic and CJK too) by anyascii, not dropped."""
    from anyascii import anyascii

    ascii_only = "".join(ch for ch in anyascii(text) if 32 <= ord(ch) < 127)
    return "_".join(ascii_only.split())[:40]
