"""A fixed ring buffer of the last seconds of processed signal, filled by the session and read
by the live plot (no Qt here). Writers never wait for readers; a slow reader only misses
frames, never samples, because it always reads the newest window."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from bruxwatch.signal import ProcessedChunk
from bruxwatch.signal.events import BurstEnd, EpisodeEnd, EpisodeStart, Event


@dataclass
class Marks:
    """Recent detector results to shade: (start s, end s, kind)."""

    bursts: list[tuple[float, float, str]] = field(default_factory=list)
    episodes: list[tuple[float, float, str]] = field(default_factory=list)
    feedback: list[tuple[float, bool]] = field(default_factory=list)
    """(trigger time s, given): each feedback decision, given or held back."""
    open_episode: float | None = None
    open_kind: str = "phasic"  # the rule the open episode met first (its final kind may differ)


class SignalRing:
    """The last `seconds` of filtered EMG, envelope and detection level, plus recent marks."""

    def __init__(self, fs: float, n_channels: int, seconds: float = 10.0) -> None:
        self.fs = fs
        self.capacity = int(round(seconds * fs))
        self.filtered = np.zeros((n_channels, self.capacity), dtype=np.float32)
        self.envelope = np.zeros((n_channels, self.capacity), dtype=np.float32)
        self.level = np.zeros(self.capacity, dtype=np.float32)
        self.thresholds = np.full(n_channels, np.nan)
        self.written = 0  # index one past the newest sample (the stream's sample index)
        self.marks = Marks()
        self._lock = threading.Lock()

    def push(self, out: ProcessedChunk) -> None:
        n = out.filtered.shape[1]
        if n == 0:
            return
        with self._lock:
            if n >= self.capacity:
                sl = slice(n - self.capacity, n)
                out_f, out_e, out_l = out.filtered[:, sl], out.envelope[:, sl], out.level[sl]
                n = self.capacity
            else:
                out_f, out_e, out_l = out.filtered, out.envelope, out.level
            end = out.first_index + out.filtered.shape[1]
            positions = np.arange(end - n, end) % self.capacity
            self.filtered[:, positions] = out_f
            self.envelope[:, positions] = out_e
            self.level[positions] = out_l
            self.written = end
            self.thresholds = np.asarray(out.thresholds, dtype=float)
            self._note(out.events)

    def note_feedback(self, record) -> None:
        """A feedback decision (`FeedbackRecord`, from the session's thread)."""
        with self._lock:
            horizon = self.written / self.fs - 2 * self.capacity / self.fs
            kept = [m for m in self.marks.feedback if m[0] >= horizon]
            self.marks.feedback = [*kept, (record.at_s, bool(record.fired))]

    def _note(self, events: list[Event]) -> None:
        horizon = self.written / self.fs - 2 * self.capacity / self.fs
        marks = self.marks
        for event in events:
            if isinstance(event, BurstEnd):
                b = event.burst
                marks.bursts.append((b.start_s, b.end_s, b.kind))
            elif isinstance(event, EpisodeStart):
                marks.open_episode = event.start_s
                marks.open_kind = event.kind
            elif isinstance(event, EpisodeEnd):
                e = event.episode
                marks.episodes.append((e.start_s, e.end_s, e.kind))
                marks.open_episode = None
        marks.bursts = [m for m in marks.bursts if m[1] >= horizon]
        marks.episodes = [m for m in marks.episodes if m[1] >= horizon]

    def window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(times s, filtered, envelope, level) of the newest `capacity` samples, in order."""
        with self._lock:
            end = self.written
            n = min(end, self.capacity)
            positions = np.arange(end - n, end) % self.capacity
            t = np.arange(end - n, end) / self.fs
            return (
                t,
                self.filtered[:, positions],
                self.envelope[:, positions],
                self.level[positions],
            )
