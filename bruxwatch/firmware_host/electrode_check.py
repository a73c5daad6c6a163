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
    info = device.info
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
