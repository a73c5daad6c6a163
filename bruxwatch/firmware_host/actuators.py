"""How feedback reaches the wearer: the board's motor, the terminal bell, a soft tone, a
desktop notification; and `make_actuators`, which picks them from the `--feedback` names
and what the device can do.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Protocol

import numpy as np

from bruxwatch.devices.base import can_vibrate
from bruxwatch.firmware_host.feedback import Decision, FeedbackRecord

log = logging.getLogger(__name__)


class Actuator(Protocol):
    name: str

    def fire(self, strength: int, ms: int) -> None:
        """Give one pulse; return once the command is on its way."""
        ...


class MotorActuator:
    """The vibration motor on the sensor board (a device with `vibrate(ms, strength)`)."""

    name = "motor"

    def __init__(self, board) -> None:
        self.board = board

    def fire(self, strength: int, ms: int) -> None:
        self.board.vibrate(ms, strength)


class BellActuator:
    """The terminal bell."""

    name = "bell"

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr

    def fire(self, strength: int, ms: int) -> None:
        self.stream.write("\a")
        self.stream.flush()


PLAYERS = ("pw-play", "paplay", "aplay", "afplay")


class SoundActuator:
    """A soft tone (numpy-generated, 440 Hz with 20-ms fades) played by the system's player.

    Without a player or audio device it logs one warning and stays silent.
    """

    name = "sound"

    def __init__(self, frequency_hz: float = 440.0, rate: int = 22050) -> None:
        self.frequency_hz = frequency_hz
        self.rate = rate
        self.player = next((p for p in PLAYERS if shutil.which(p)), None)
        self._warned = False
        self._folder = Path(tempfile.mkdtemp(prefix="bruxwatch-sound-"))

    def tone(self, strength: int, ms: int) -> np.ndarray:
        """int16 samples of the tone at amplitude strength/255 of full scale × 0.5."""
        n = max(1, int(self.rate * ms / 1000))
        t = np.arange(n) / self.rate
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
        signal = 0.5 * strength / 255 * np.sin(2 * np.pi * self.frequency_hz * t) * fade
        return (signal * 32767).astype(np.int16)

    def fire(self, strength: int, ms: int) -> None:
        if self.player is None:
            if not self._warned:
                log.warning("no audio player found (%s); sound feedback is off", ", ".join(PLAYERS))
                self._warned = True
            return
        path = self._folder / f"tone-{strength}-{ms}.wav"
        if not path.exists():
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(self.rate)
                out.writeframes(self.tone(strength, ms).tobytes())
        try:
            subprocess.Popen(
                [self.player, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            if not self._warned:
                log.warning(
                    "cannot play sound with %s (%s); sound feedback is off", self.player, exc
                )
                self._warned = True
            self.player = None


class NotifyActuator:
    """A desktop notification through `notify-send`, where there is one."""

    name = "notify"

    def __init__(self) -> None:
        self.command = shutil.which("notify-send")
        if self.command is None:
            log.warning("notify-send not found; desktop notifications are off")

    def fire(self, strength: int, ms: int) -> None:
        self.notify("Jaw clench: relax your jaw")

    def notify(self, text: str) -> None:
        """Show `text` as a notification for a few seconds."""
        if self.command:
            subprocess.Popen(
                [self.command, "-t", "5000", "bruxwatch", text],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )


def deliver(
    decision: Decision,
    actuators: list[Actuator],
    *,
    enabled: bool,
    received_at: float,
    fs: float,
) -> FeedbackRecord:
    """Carry out the policy's `decision` (held back instead while feedback is paused, not
    `enabled`): every actuator fires, a failed one is logged and the others go on. The record
    says what was done, and for a pulse given its latency (ms) from `received_at`
    (time.perf_counter() when the trigger sample arrived); `fs` (Hz) times the trigger."""
    if decision.fired and not enabled:
        decision = dataclasses.replace(decision, fired=False, reason=f"paused: {decision.reason}")
    latency = None
    if decision.fired:
        for actuator in actuators:
            try:
                actuator.fire(decision.strength, decision.ms)
            except Exception as exc:  # a failed buzz must not end the night
                log.warning("feedback through %s failed: %s", actuator.name, exc)
        latency = (time.perf_counter() - received_at) * 1000.0
    return FeedbackRecord(
        trigger_index=decision.trigger_index,
        at_s=decision.trigger_index / fs,
        fired=decision.fired,
        action=("+".join(a.name for a in actuators) or "none") if decision.fired else "none",
        strength=decision.strength,
        ms=decision.ms,
        latency_ms=latency,
        reason=decision.reason,
    )


ACTUATORS = {
    "motor": MotorActuator,
    "sound": SoundActuator,
    "bell": BellActuator,
    "notify": NotifyActuator,
}
"""Every kind of feedback `--feedback` can name (comma-separated)."""


def make_actuators(names: str | None, device) -> list[Actuator]:
    """The actuators `names` asks for ("motor,sound"; None: the board's motor when it has
    one, else the terminal bell); ValueError naming what cannot be done."""
    wanted = names or ("motor" if can_vibrate(device) else "bell")
    made: list[Actuator] = []
    for name in filter(None, (n.strip() for n in wanted.split(","))):
        if name not in ACTUATORS:
            raise ValueError(f"unknown feedback {name!r}; use {', '.join(ACTUATORS)}")
        if name == "motor":
            if not can_vibrate(device):
                raise ValueError("this device has no vibration motor; use --feedback sound or bell")
            made.append(MotorActuator(device))
        else:
            made.append(ACTUATORS[name]())
    return made
