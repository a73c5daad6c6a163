"""Running the electrode check on a device: its samples for the check's 17 s, with the
prompts said as the stream reaches each step (`signal.electrode_check` judges them)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bruxwatch.devices.base import Device
from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.electrode_check import (
    CHECK,
    CheckProtocol,
    ElectrodeVerdict,
    check_electrodes,
)
from bruxwatch.signal.pipeline import scored_channels
from bruxwatch.stream import EMG


def read_check(
    device: Device, protocol: CheckProtocol = CHECK, on_prompt: Callable[[str], None] = print
) -> np.ndarray:
    """The device's EMG (channels, n) from its first sample to `protocol.end_s`; the device
    is closed after. Lost samples are left out (the check needs no exact timing)."""
    prompts = list(protocol.prompts())
    parts: list[np.ndarray] = []
    seen = 0
    try:
        for chunk in device.chunks():
            if chunk.stream != EMG:
                continue
            fs = device.info.fs
            while prompts and prompts[0][0] * fs <= seen + chunk.n:
                on_prompt(prompts.pop(0)[1])
            parts.append(chunk.samples)
            seen += chunk.n
            if seen >= protocol.end_s * fs:
                break
    finally:
        device.close()
    if not parts:
        return np.zeros((device.info.n_channels, 0), dtype=np.float32)
    return np.concatenate(parts, axis=1)


def run_check(
    device: Device,
    config: SignalConfig,
    protocol: CheckProtocol = CHECK,
    on_prompt: Callable[[str], None] = print,
) -> list[ElectrodeVerdict]:
    """Read the check from `device` and judge each scored channel (ValueError when the
    sensor gave too little)."""
    raw = read_check(device, protocol, on_prompt)
    return judge(raw, device.info, config, protocol)


class CheckUnderway:
    """The check inside a running session (the live window's button): from `start_s` of
    stream on, the prompts said on time and the samples kept until the check's end."""

    def __init__(
        self, protocol: CheckProtocol, start_s: float, on_prompt: Callable[[str], None]
    ) -> None:
        self.protocol = protocol
        self.start_s = start_s
        self.on_prompt = on_prompt
        self._prompts = [(start_s + t, text) for t, text in protocol.prompts()]
        self._parts: list[np.ndarray] = []
        self._seen = 0

    def next_step(self, now_s: float) -> tuple[float, str]:
        """(seconds until the next prompt, its text), or until the verdict."""
        if self._prompts:
            at, text = self._prompts[0]
            return max(0.0, at - now_s), text
        return max(0.0, self.start_s + self.protocol.end_s - now_s), "the verdict"

    def add(self, samples: np.ndarray, end_s: float, fs: float) -> np.ndarray | None:
        """Keep a chunk's samples ending at stream time `end_s`; the whole check's samples
        once it is over (None while it goes on)."""
        while self._prompts and self._prompts[0][0] <= end_s:
            self.on_prompt(self._prompts.pop(0)[1])
        self._parts.append(samples)
        self._seen += samples.shape[1]
        if self._seen < self.protocol.end_s * fs:
            return None
        return np.concatenate(self._parts, axis=1)


def judge(
    raw: np.ndarray, info, config: SignalConfig, protocol: CheckProtocol = CHECK
) -> list[ElectrodeVerdict]:
    """The verdict on each scored channel of `raw` (all the stream's channels, from the
    check's start)."""
    scored = scored_channels(info.channels, config)
    mains = config.filter.mains_hz
    return check_electrodes(
        raw[list(scored)],
        info.fs,
        [info.channels[c] for c in scored],
        units=info.units,
        kind=info.kind,
        mains_hz=mains if isinstance(mains, float | int) else None,
        rails=info.rails,
        protocol=protocol,
        filters=config.filter,
        quality=config.quality,
    )
