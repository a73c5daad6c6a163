"""`lsl:NAME`: any EMG/ExG stream on Lab Streaming Layer as a source, e.g. the OpenBCI GUI's
"TimeSeriesRaw" LSL output or another amplifier's LSL app.

The stream must have a regular rate. Channel labels and units come from the stream's
description when it has them (units default to uV). Lost samples are found from the
sender's LSL timestamps (clock-synchronized, not dejittered: dejittering would smooth a hole
away). A step longer than 3 sample periods and 50 ms is a hole; but a sender that pushes
without timestamps (liblsl then stamps each sample when it is pushed, as the OpenBCI GUI's
output is) makes a hole whenever it pauses, and then delivers the late samples in a rush: so
a hole is only judged once the samples after it span SETTLE_S, and what is missing is what
the timestamps say minus what came (0 after a mere pause). Shorter holes cannot be told from
the jitter of senders that stamp whole chunks.
Options: `channels=1,2` (1-based) picks channels; `timeout=10` is how long to look for the
stream, in seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from bruxwatch.devices.base import DeviceSpec
from bruxwatch.devices.options import no_more, pop_channels, pop_number
from bruxwatch.stream import Chunk, StreamInfo

PULL_TIMEOUT_S = 0.2
GAP_FACTOR = 3.0
GAP_MIN_S = 0.05
SETTLE_S = 0.5
"""Seconds of samples after a hole in the timestamps before it is judged (loss or a pause)."""
SILENT_S = 2.0


class LslInlet:
    def __init__(
        self,
        name: str,
        *,
        channels: tuple[int, ...] | None = None,
        timeout_s: float = 10.0,
        stream_type: str | None = None,
    ) -> None:
        from bruxwatch.devices.base import DeviceError

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
        self.on_notice: Callable[[str], None] = lambda text: None

    def chunks(self) -> Iterator[Chunk]:
        fs = self.info.fs
        hole = max(GAP_FACTOR / fs, GAP_MIN_S)
        tolerance = max(GAP_FACTOR, GAP_MIN_S * fs)  # samples: below this, jitter
        buffer = np.zeros((max(64, int(fs)), self._total), dtype=np.float32)
        index = 0
        last_stamp: float | None = None
        # after a hole: the stamp before it and the samples since, until they span SETTLE_S
        before: float | None = None
        held: list[tuple[np.ndarray, np.ndarray]] = []
        quiet_since = time.monotonic()
        silent = False
        while not self._stop.is_set():
            _, times = self.inlet.pull_chunk(
                timeout=PULL_TIMEOUT_S, max_samples=buffer.shape[0], dest_obj=buffer
            )
            n = len(times)
            now = time.monotonic()
            if n == 0:
                if not silent and now - quiet_since >= SILENT_S:
                    silent = True
                    self.on_notice(f"{self.info.device}: no data for {now - quiet_since:.0f} s")
                continue
            if silent:
                self.on_notice(f"{self.info.device}: data again after {now - quiet_since:.1f} s")
                silent = False
            quiet_since = now
            stamps = np.asarray(times[:n], dtype=np.float64)
            data = buffer[:n, self.picked].T.copy()
            if before is None:
                steps = np.diff(np.r_[stamps[0] if last_stamp is None else last_stamp, stamps])
                cut = int(np.argmax(steps > hole)) if (steps > hole).any() else n
                if cut:
                    yield Chunk(index, data[:, :cut])
                    index += cut
                if cut == n:
                    last_stamp = float(stamps[-1])
                    continue
                before = float(stamps[cut - 1]) if cut else last_stamp
                data, stamps = data[:, cut:], stamps[cut:]
            held.append((data, stamps))
            last_stamp = float(stamps[-1])
            if last_stamp - before < SETTLE_S:
                continue
            samples = np.concatenate([d for d, _ in held], axis=1)
            came = samples.shape[1]
            lost = round((last_stamp - before) * fs) - came
            missing = lost if lost > tolerance else 0
            index += missing
            yield Chunk(index, samples, missing_before=missing)
            index += came
            before, held = None, []

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


def open_spec(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> LslInlet:
    """`lsl:obci_eeg1?channels=1,2&timeout=10`: a Lab Streaming Layer stream by name."""
    picked = pop_channels(options, "channels", None)
    timeout = pop_number(options, "timeout", "10")
    no_more(spec.scheme, options)
    return LslInlet(spec.target, channels=picked, timeout_s=timeout)
