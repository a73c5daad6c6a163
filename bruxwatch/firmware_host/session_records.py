"""What a session reports and writes through: its running `Status`, the `SessionResult`
it ends with, and the `NightWriter` protocol a night's store implements
(`store.night_writer.RecordingWriter`), so the session needs nothing of the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal import Calibration
from bruxwatch.signal.events import Event
from bruxwatch.signal.sound import Clip
from bruxwatch.stream import Chunk, StreamInfo


@dataclass
class Status:
    """A snapshot for status displays, updated with every chunk."""

    seconds: float = 0.0
    samples: int = 0
    lost: int = 0
    episodes: int = 0
    artifacts: int = 0
    feedback_fired: int = 0
    feedback_held: int = 0
    last_feedback_s: float | None = None
    quality: dict[int, tuple[str, ...]] = field(default_factory=dict)
    link: str = ""  # what is wrong with the link now ("" while data flows)
    envelope: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class SessionResult:
    reason: str
    status: Status
    path: str | None
    info: StreamInfo | None


class NightWriter(Protocol):
    """What the session needs of the file a night is recorded into (RecordingWriter is
    one): each call may raise StoreError (a full disk), which ends the session."""

    path: Path
    closed: bool

    def append(self, chunk: Chunk) -> None: ...
    def append_aux(self, chunk: Chunk, info: StreamInfo) -> None: ...
    def add_events(self, events: list[Event]) -> None: ...
    def add_feedback(self, record: FeedbackRecord) -> None: ...
    def add_notice(self, at_s: float, text: str) -> None: ...
    def add_mark(self, at_s: float, label: str) -> None: ...
    def set_sound(self, device: str, rate: float, before_s: float, after_s: float) -> None: ...
    def add_sound_clip(self, clip: Clip) -> None: ...
    def set_calibration(
        self, calibration: Calibration | None, calibration_s: tuple[float, float]
    ) -> None: ...
    def flush(self, force: bool = False) -> bool: ...
    def finish(self, reason: str = "stopped") -> None: ...
