"""Sound around episodes, never the whole night: the clip keeper asks a microphone for the
stretch from `before_s` before each episode's onset to `after_s` after its end (at most
`max_s` long) once the EMG's clock has passed it, and hands the clip to the night's
writer. Nothing else of what the microphone hears is kept: a real microphone holds only
the last `Microphone.held_s` seconds in memory, overwritten as it goes.

A sound source (`SoundSource`) gives samples on the EMG's clock: `at(emg_s)` tells it the
EMG's time as each chunk is scored (a real microphone maps that to its own clock), and
`clip(start_s, end_s)` returns what it holds of that stretch as a `Clip` (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bruxwatch.signal.events import EpisodeEnd, Event
from bruxwatch.signal.sound import Clip

BEFORE_S = 5.0
AFTER_S = 5.0
MAX_S = 60.0


class SoundSource(Protocol):
    """Where clips come from: a microphone, or a simulated bedroom."""

    rate: float
    description: str

    def at(self, emg_s: float) -> None:
        """The EMG's clock reads `emg_s` seconds now."""

    def clip(self, start_s: float, end_s: float) -> Clip | None:
        """What is held of the stretch from `start_s` to `end_s` on the EMG's clock (mono,
        full scale 1.0; it may start later or end sooner); None when nothing of it is."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Pending:
    start_s: float
    end_s: float


class ClipKeeper:
    """Keeps a clip around every counted episode (artifacts have none). Feed it the
    session's scored chunks (`on_processed`, a session subscriber) and the closing events
    (`finish`); each clip goes to `keep` (the night writer's `add_sound_clip`)."""

    def __init__(
        self,
        source: SoundSource,
        keep: Callable[[Clip], None],
        fs: float | None = None,
        before_s: float = BEFORE_S,
        after_s: float = AFTER_S,
        max_s: float = MAX_S,
    ) -> None:
        self.source = source
        self.keep = keep
        self.fs = fs  # the EMG's rate (Hz); set by `attach` once the stream is known
        self.before_s, self.after_s, self.max_s = before_s, after_s, max_s
        self._pending: list[_Pending] = []
        self.kept = 0

    def on_processed(self, out) -> None:
        """A scored chunk (`signal.ProcessedChunk`): note its episodes, move the clock, and
        keep the clips whose stretch the clock has passed."""
        assert self.fs is not None
        now_s = (out.first_index + out.level.size) / self.fs
        self.source.at(now_s)
        self._note(out.events)
        self._keep_until(now_s)

    def finish(self, events: list[Event]) -> None:
        """The recording ends: the last episodes' clips, with what there is of them."""
        self._note(events)
        self._keep_until(float("inf"))

    def _note(self, events: list[Event]) -> None:
        ended = [e.episode for e in events if isinstance(e, EpisodeEnd) and not e.episode.artifact]
        for episode in ended:
            start = max(0.0, episode.start_s - self.before_s)
            end = min(episode.end_s + self.after_s, start + self.max_s)
            self._pending.append(_Pending(start, end))
        if ended:
            self._pending.sort(key=lambda p: p.end_s)

    def _keep_until(self, now_s: float) -> None:
        while self._pending and self._pending[0].end_s <= now_s:
            wanted = self._pending.pop(0)
            clip = self.source.clip(wanted.start_s, wanted.end_s)
            if clip is None or clip.samples.size == 0:
                continue
            self.keep(clip)
            self.kept += 1


def attach(session, source: SoundSource, **clip_lengths: float) -> ClipKeeper:
    """Keep clips from `source` around the episodes `session` scores, in its night: the
    microphone is named in the night once the stream has started (so a night with no
    episode still says a microphone listened), each clip goes in as it is complete, and
    the last ones as the session closes. `clip_lengths`: before_s, after_s, max_s."""

    def keep(clip: Clip) -> None:
        if session.writer is not None and not session.writer.closed:
            session.writer.add_sound_clip(clip)

    keeper = ClipKeeper(source, keep, **clip_lengths)

    def scored(out) -> None:
        if keeper.fs is None:
            keeper.fs = session.info.fs
            if session.writer is not None:
                session.writer.set_sound(
                    source.description, source.rate, keeper.before_s, keeper.after_s
                )
        keeper.on_processed(out)

    session.subscribers.append(scored)
    session.closing_listeners.append(keeper.finish)
    return keeper
