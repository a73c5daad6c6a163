"""`lsl:NAME`: any EMG/ExG stream on Lab Streaming Layer as a source, e.g. the OpenBCI GUI's
"TimeSeriesRaw" LSL output or another amplifier's LSL app.

The stream must have a regular rate. Channel labels and units come from the stream's
description when it has them (units default to uV). Lost samples are found from the
sender's LSL timestamps (clock-synchronized, not dejittered: dejittering would smooth a hole
away): a step longer than 3 sample periods and 50 ms is recorded as a gap of the missing
count. Shorter holes cannot be told from the jitter of senders that stamp whole chunks.
Options: `channels=1,2` (1-based) picks channels; `timeout=10` is how long to look for the
stream, in seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from bruxwatch.devices.base import Chunk, StreamInfo

PULL_TIMEOUT_S = 0.2
GAP_FACTOR = 3.0
GAP_MIN_S = 0.05


class LslInlet:
    def __init__(
        self,
        name: str,
        *,
        channels: tuple[int, ...] | None = None,
        timeout_s: float = 10.0,
        stream_type: str | None = None,
    ) -> None:
        from bruxwatch.devices.serial_link import DeviceError

        try:
            import pylsl
        except (ImportError, RuntimeError) as exc:
            raise DeviceError(
                f"lsl: devices need the lsl extra: pip install 'bruxwatch[lsl]' ({exc})"
            ) from None
        self._lsl = pylsl
        prop, value = ("name", name) if name else ("type", stream_type or "EMG")
        found = pylsl.resolve_byprop(prop, value, minimum=1, timeout=timeout_s)
        if not found:
            raise DeviceError(f"no LSL stream with {prop} {value!r} found in {timeout_s:g} s")
        stream = found[0]
        fs = stream.nominal_srate()
        if not fs > 0:
            raise DeviceError(f"LSL stream {stream.name()!r} has no regular sample rate")
        self.inlet = pylsl.StreamInlet(stream, max_buflen=60, processing_flags=pylsl.proc_clocksync)
        full = self.inlet.info()
        total = full.channel_count()
        labels, units = _channel_labels(full, total)
        picked = tuple(c - 1 for c in channels) if channels else tuple(range(total))
        if any(not 0 <= c < total for c in picked):
            raise DeviceError(f"LSL stream {stream.name()!r} has channels 1-{total}")
        self.picked = np.asarray(picked)
        self.info = StreamInfo(
            fs=fs,
            channels=tuple(labels[c] for c in picked),
            units=units,
            kind="raw",
            device=f"lsl:{stream.name()}",
        )
        self._total = total
        self._stop = threading.Event()

    def chunks(self) -> Iterator[Chunk]:
        fs = self.info.fs
        buffer = np.zeros((max(64, int(fs)), self._total), dtype=np.float32)
        stamps = np.zeros(buffer.shape[0])
        index = 0
        last_stamp: float | None = None
        while not self._stop.is_set():
            _, times = self.inlet.pull_chunk(
                timeout=PULL_TIMEOUT_S, max_samples=buffer.shape[0], dest_obj=buffer
            )
            n = len(times)
            if n == 0:
                continue
            stamps[:n] = times
            data = buffer[:n, self.picked].T.copy()
            steps = np.diff(np.r_[last_stamp if last_stamp is not None else stamps[0], stamps[:n]])
            cuts = np.flatnonzero(steps > max(GAP_FACTOR / fs, GAP_MIN_S)).tolist()
            after_gap = set(cuts)
            bounds = [0, *cuts, n]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                if a == b:
                    continue
                missing = max(1, int(round(steps[a] * fs)) - 1) if a in after_gap else 0
                index += missing
                yield Chunk(index, data[:, a:b], missing_before=missing)
                index += b - a
            last_stamp = float(stamps[n - 1])

    def close(self) -> None:
        self._stop.set()


def _channel_labels(info, total: int) -> tuple[list[str], str]:
    labels = [f"ch{k + 1}" for k in range(total)]
    units = "uV"
    child = info.desc().child("channels").child("channel")
    k = 0
    while not child.empty() and k < total:
        label = child.child_value("label")
        if label:
            labels[k] = label
        unit = child.child_value("unit")
        if unit and k == 0:
            units = "uV" if unit.lower() in ("microvolts", "uv", "µv") else unit
        child = child.next_sibling()
        k += 1
    return labels, units
