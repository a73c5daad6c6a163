"""The guided calibration inside a session: the wearer is prompted on time (rest, then
maximal clenches), the samples of the sequence are kept, and once it is over the rest and
clench levels are taken from them. When no clench shows clearly above rest the wearer is
told why and led through it again, up to `attempts` times; the clock runs on meanwhile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bruxwatch.signal import Calibration, CalibrationError, Pipeline, SignalConfig
from bruxwatch.signal import calibrate as calibrate_from
from bruxwatch.signal.calibration import CalibrationProtocol, outcome_text
from bruxwatch.signal.events import BurstEnd, EpisodeEnd, EpisodeStart, Event
from bruxwatch.stream import Chunk, StreamInfo

log = logging.getLogger(__name__)


@dataclass
class CalibrationDone:
    """The sequence is over: the levels (None: every attempt failed) and every chunk of it."""

    calibration: Calibration | None
    chunks: list[Chunk]


class GuidedCalibration:
    """One guided calibration, from `start_s` (s of stream) on.

    live: scoring goes on meanwhile (asked for mid-stream, e.g. the live window's button);
        otherwise it runs at the start, before anything is scored.
    window: (first start, end) in s, where the clenches of every attempt lie: they are kept
        out of the night's counts, also after the calibration is over.
    error: why the last attempt failed (None after a success).
    """

    def __init__(
        self,
        protocol: CalibrationProtocol,
        *,
        attempts: int,
        start_s: float = 0.0,
        live: bool = False,
        on_prompt: Callable[[str], None] = lambda text: None,
    ) -> None:
        self.protocol = protocol
        self.live = live
        self.on_prompt = on_prompt
        self.error: str | None = None
        self.chunks: list[Chunk] = []
        self._attempts_left = max(1, attempts) - 1
        self._begin_attempt(start_s, start_s)

    def _begin_attempt(self, first_start: float, start: float) -> None:
        """Prompt the sequence from `start` (s); its clenches, and those of earlier attempts
        from `first_start` on, are kept out of the night's counts."""
        self._attempt_start = start
        self._prompts = [(start + t, text) for t, text in self.protocol.prompts()]
        self.window = (first_start, start + self.protocol.end_s)

    def next_step(self, now_s: float) -> tuple[float, str]:
        """(seconds until the next prompt, its text) at stream time `now_s`; after the last
        prompt, until the levels are taken."""
        if self._prompts:
            at, text = self._prompts[0]
            return max(0.0, at - now_s), text
        return max(0.0, self.window[1] - now_s), "the levels are taken"

    def add(self, chunk: Chunk, info: StreamInfo, config: SignalConfig) -> CalibrationDone | None:
        """Keep `chunk` and say the prompts that are due; once the sequence is over, the
        outcome (after telling the wearer), or None while it goes on or starts again."""
        self.chunks.append(chunk)
        now = chunk.end_index / info.fs
        while self._prompts and self._prompts[0][0] <= now:
            self.on_prompt(self._prompts.pop(0)[1])
        if now < self.window[1]:
            return None
        calibration = self._levels(info, config)
        retry = calibration is None and self._attempts_left > 0
        self.on_prompt(outcome_text(calibration, self.error, retrying=retry))
        if retry:  # the wearer is told why and led through it again; the clock runs on
            self._attempts_left -= 1
            self._begin_attempt(self.window[0], now)
            return None
        return CalibrationDone(calibration, self.chunks)

    def _levels(self, info: StreamInfo, config: SignalConfig) -> Calibration | None:
        """Rest and clench levels from the envelope of the current attempt's stretches."""
        probe = Pipeline(info, config)
        outs = [probe.process(c) for c in self.chunks]
        envelope = np.concatenate([o.envelope for o in outs], axis=1)
        index = np.concatenate(
            [np.arange(o.first_index, o.first_index + o.envelope.shape[1]) for o in outs]
        )
        t = index / info.fs - self._attempt_start
        scored = probe.scored
        (r0, r1), (m0, m1) = self.protocol.rest_s, self.protocol.mvc_s
        try:
            calibration = calibrate_from(
                envelope[scored][:, (t >= r0) & (t < r1)],
                envelope[scored][:, (t >= m0) & (t < m1)],
                config.threshold,
                units=info.units,
                names=[info.channels[c] for c in scored],
            )
            self.error = None  # an earlier try's failure is over
            return calibration
        except CalibrationError as exc:
            self.error = str(exc)
            log.info("calibration failed (%s); scoring against an adaptive background", exc)
            return None


def outside(events: list[Event], window: tuple[float, float]) -> list[Event]:
    """`events` without the bursts and episodes that start inside `window` (s): the
    calibration's clenches are not the night's."""
    return [e for e in events if not window[0] <= _start_s(e) < window[1]]


def _start_s(event: Event) -> float:
    """Where a burst or episode event starts (s); -inf for any other event."""
    if isinstance(event, BurstEnd):
        return event.burst.start_s
    if isinstance(event, EpisodeEnd):
        return event.episode.start_s
    if isinstance(event, EpisodeStart):
        return event.start_s
    return -math.inf
