"""A microphone by the bed, through PortAudio (the `sounddevice` package, in the `audio`
extra), for the clips kept around episodes (`firmware_host.sound_clips`).

Only the last `held_s` seconds (default 120 s) are held, in memory, in a ring that is
overwritten as it goes: nothing of the sound is written anywhere unless the clip keeper asks
for the stretch around an episode. The EMG's clock is mapped to the microphone's by the
host clock: each scored chunk tells `at(emg_s)` when it was scored, and each block of sound
is stamped with the host time its last sample arrived, so a clip lines up with its episode
to within the audio block and chunk latencies (tens of ms) for a source read in real time.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from bruxwatch.devices.base import DeviceError
from bruxwatch.signal.sound import Clip

RATE = 16_000.0
"""Samples per second: grinding's band (1-6 kHz) and speech's lie below its 8-kHz Nyquist."""
HELD_S = 120.0


class Microphone:
    """The system's default microphone, or the one named (a PortAudio device name or
    number), mono at `rate` Hz. `clock` is the host clock (s), replaceable in tests."""

    def __init__(
        self,
        device: str | None = None,
        rate: float = RATE,
        held_s: float = HELD_S,
        clock=time.monotonic,
    ) -> None:
        try:
            import sounddevice
        except ImportError:
            raise DeviceError(
                "--audio needs the sounddevice package: pip install 'bruxwatch[audio]'"
            ) from None
        except OSError as exc:  # the package is there, PortAudio is not
            raise DeviceError(
                f"--audio needs the PortAudio library ({exc}); on Debian or Ubuntu: "
                "sudo apt install libportaudio2"
            ) from None
        self.rate = float(rate)
        self.clock = clock
        self._ring = np.zeros(int(held_s * rate), dtype=np.float32)
        self._written = 0  # samples received since the start
        self._last_at: float | None = None  # host time of the last sample received
        self._anchor: tuple[float, float] | None = None  # (EMG s, host s)
        self._lock = threading.Lock()
        chosen = int(device) if device is not None and device.isdigit() else device
        try:
            self._stream = sounddevice.InputStream(
                samplerate=self.rate,
                channels=1,
                dtype="float32",
                device=chosen,
                callback=self._received,
            )
            self._stream.start()
            name = sounddevice.query_devices(self._stream.device)["name"]
        except Exception as exc:  # noqa: BLE001 - PortAudio's errors come in many types
            raise DeviceError(f"microphone {device or '(default)'}: cannot open ({exc})") from None
        self.description = f"microphone {name} at {self.rate:g} Hz"

    def _received(self, block, frames, at, status) -> None:
        """PortAudio's callback: one block of samples (frames, 1)."""
        samples = np.asarray(block, dtype=np.float32).reshape(-1)
        now = self.clock()
        with self._lock:
            size = self._ring.size
            start = self._written % size
            first = min(samples.size, size - start)
            self._ring[start : start + first] = samples[:first]
            self._ring[: samples.size - first] = samples[first:]
            self._written += samples.size
            self._last_at = now

    def at(self, emg_s: float) -> None:
        self._anchor = (emg_s, self.clock())

    def clip(self, start_s: float, end_s: float) -> Clip | None:
        with self._lock:
            if self._anchor is None or self._last_at is None:
                return None
            emg_s, host_s = self._anchor
            last = self._written  # the number of the sample after the last one received
            last_s = emg_s + (self._last_at - host_s)  # its time on the EMG's clock
            first = last + int(round((start_s - last_s) * self.rate))
            stop = last + int(round((end_s - last_s) * self.rate))
            first, stop = max(first, last - self._ring.size, 0), min(stop, last)
            if stop <= first:
                return None
            taken = np.take(self._ring, np.arange(first, stop) % self._ring.size)
            start = last_s + (first - last) / self.rate
        return Clip(start, self.rate, taken.astype(np.float32))

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:  # noqa: BLE001 - closing what may already be gone
            pass
