"""`--lsl`: publish a running session on Lab Streaming Layer (pylsl) for other lab software.

Two streams, both with source id `bruxwatch-<device>`:
- `<name>-envelope` (type "EMG", float32, the device's rate): one channel per masseter with
  the RMS envelope in the recording's units, plus `level`, the detection level (% MVC when
  calibrated, x background otherwise). Channel labels and units are in the stream's
  description, as the XDF/LSL conventions have them.
- `<name>-events` (type "Markers", string, irregular): "burst_end phasic 0.40s",
  "episode_start tonic", "episode_end mixed 6.2s bursts=4", "feedback_given",
  "feedback_held baseline", "gap 0.35s", "quality left_masseter clipped".
Each chunk is stamped with the LSL clock at the moment it was scored (its last sample).
"""

from __future__ import annotations

import numpy as np

from bruxwatch.firmware_host.feedback import FeedbackRecord
from bruxwatch.signal import ProcessedChunk
from bruxwatch.signal.events import BurstEnd, EpisodeEnd, EpisodeStart, Event, Gap, QualityChanged
from bruxwatch.stream import StreamInfo


class LslError(RuntimeError):
    """LSL is not available here; one line says why."""


def _pylsl():
    try:
        import pylsl
    except (ImportError, RuntimeError) as exc:  # RuntimeError: liblsl not found
        raise LslError(f"LSL needs the lsl extra: pip install 'bruxwatch[lsl]' ({exc})") from None
    return pylsl


def event_text(event: Event, channels: tuple[str, ...]) -> str | None:
    """The marker string for a detector event (None for events not published)."""
    if isinstance(event, BurstEnd):
        return f"burst_end {event.burst.kind} {event.burst.duration_s:.2f}s"
    if isinstance(event, EpisodeStart):
        return f"episode_start {event.kind}"
    if isinstance(event, EpisodeEnd):
        e = event.episode
        note = " artifact" if e.artifact else ""
        return f"episode_end {e.kind} {e.duration_s:.1f}s bursts={e.bursts}{note}"
    if isinstance(event, Gap):
        return f"gap {event.missing_s:.2f}s"
    if isinstance(event, QualityChanged):
        name = channels[event.channel] if event.channel < len(channels) else str(event.channel)
        return f"quality {name} {'+'.join(event.flags) or 'ok'}"
    return None


class LslPublisher:
    """Publishes a session's envelope and events; subscribe `push` and `feedback`."""

    def __init__(self, info: StreamInfo, name: str = "bruxwatch") -> None:
        pylsl = self._lsl = _pylsl()
        self.channels = info.channels
        source = f"bruxwatch-{info.device}"
        envelope = pylsl.StreamInfo(
            f"{name}-envelope", "EMG", len(info.channels) + 1, info.fs, "float32", source
        )
        desc = envelope.desc().append_child("channels")
        for label in (*info.channels, "level"):
            child = desc.append_child("channel")
            child.append_child_value("label", label)
            child.append_child_value("unit", info.units if label != "level" else "level")
            child.append_child_value("type", "EMG envelope" if label != "level" else "level")
        envelope.desc().append_child_value("manufacturer", "bruxwatch")
        markers = pylsl.StreamInfo(
            f"{name}-events", "Markers", 1, pylsl.IRREGULAR_RATE, "string", source + "-events"
        )
        self.envelope_outlet = pylsl.StreamOutlet(envelope, chunk_size=0, max_buffered=60)
        self.marker_outlet = pylsl.StreamOutlet(markers)

    def push(self, out: ProcessedChunk) -> None:
        """Session subscriber: the chunk's envelope and level, then its events."""
        now = self._lsl.local_clock()
        if out.envelope.shape[1]:
            block = np.vstack((out.envelope, out.level[None, :])).T.astype(np.float32)
            self.envelope_outlet.push_chunk(np.ascontiguousarray(block), now)
        for event in out.events:
            text = event_text(event, self.channels)
            if text:
                self.marker_outlet.push_sample([text], now)

    def feedback(self, record: FeedbackRecord) -> None:
        """Session feedback listener."""
        text = "feedback_given" if record.fired else f"feedback_held {record.reason}"
        self.marker_outlet.push_sample([text], self._lsl.local_clock())


def attach(session, name: str = "bruxwatch") -> None:
    """Publish `session` on LSL from the moment its stream info is known."""
    state: dict = {}

    def push(out: ProcessedChunk) -> None:
        if "publisher" not in state:
            state["publisher"] = LslPublisher(session.info, name)
        state["publisher"].push(out)

    def feedback(record: FeedbackRecord) -> None:
        if "publisher" in state:
            state["publisher"].feedback(record)

    _pylsl()  # fail now, with one line, if LSL is missing
    session.subscribers.append(push)
    session.feedback_listeners.append(feedback)
