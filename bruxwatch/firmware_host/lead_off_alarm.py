"""The lead-off alarm: an electrode that comes off at 2 a.m. should not go unnoticed until
morning. When a scored channel stays flat, clipped or invalid (a lead off), or the sensor's
link stays lost, for longer than `after_s`, the alarm gives its own pattern (three short
pulses, a higher tone, "electrode off" as a notification), logs it in the night, and repeats
it with a doubling interval (`repeat_s` up to `max_repeat_s`) until the signal is back.

A channel's time counts in stream seconds (a simulator at full speed alarms at the same
point of its night as a live one); a lost link counts on the wall clock, since no stream
comes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bruxwatch.firmware_host.actuators import Actuator, NotifyActuator, SoundActuator
from bruxwatch.signal import ProcessedChunk
from bruxwatch.signal.events import QualityChanged
from bruxwatch.signal.quality import CLIPPED, FLAT, INVALID

LEAD_OFF_FLAGS = (FLAT, CLIPPED, INVALID)
"""Quality flags that mean an electrode is off or not touching (mains noise is not)."""
LINK = "link"
"""The problem key of a lost sensor link."""


@dataclass(frozen=True)
class AlarmConfig:
    """[alarm] in the settings file.

    enabled: False turns the alarm off (`record --no-alarm` too).
    after_s: how long (s) a channel must stay off, or the link lost, before the alarm.
    repeat_s: the first interval (s) between repeats; each later one doubles, up to
        max_repeat_s.
    pulses, pulse_ms, gap_ms: the pattern: `pulses` pulses of pulse_ms, gap_ms apart, at
        full strength (feedback is one gentle pulse).
    """

    enabled: bool = True
    after_s: float = 120.0
    repeat_s: float = 60.0
    max_repeat_s: float = 960.0
    pulses: int = 3
    pulse_ms: int = 150
    gap_ms: int = 250

    def __post_init__(self) -> None:
        if not (self.after_s >= 0 and self.repeat_s > 0 and self.max_repeat_s >= self.repeat_s):
            raise ValueError(
                "after_s must be 0 or more, repeat_s above 0, max_repeat_s at least repeat_s"
            )
        if not (1 <= self.pulses <= 10 and 20 <= self.pulse_ms <= 2000 and self.gap_ms >= 0):
            raise ValueError("pulses must be 1-10, pulse_ms 20-2000 and gap_ms 0 or more")


@dataclass
class _Problem:
    since_s: float  # stream s (a channel) or wall s (the link) when it began
    alarms: int = 0
    next_at: float = 0.0  # when (same clock) the next alarm is due


@dataclass(frozen=True)
class AlarmRecord:
    """One thing the alarm did, at stream time `at_s`: `text` says what; `fired`: an alarm
    given (False: a problem over)."""

    at_s: float
    text: str
    fired: bool = True


@dataclass
class LeadOffAlarm:
    """Feed it the session's chunks, notices and ticks (`attach`); it fires `actuators`
    through `later(delay_s, fn)` (the session's loop) and tells `on_record` what it did."""

    config: AlarmConfig
    channels: dict[int, str]  # scored channel index -> name
    actuators: Sequence[Actuator]
    stream_s: Callable[[], float]
    later: Callable[[float, Callable[[], None]], None]
    on_record: Callable[[AlarmRecord], None] = lambda record: None
    wall_s: Callable[[], float] = time.monotonic
    records: list[AlarmRecord] = field(default_factory=list)
    _problems: dict[str, _Problem] = field(default_factory=dict)

    @property
    def alarms(self) -> int:
        return sum(1 for r in self.records if r.fired)

    def current(self) -> str:
        """The latest alarm's text while its problem lasts ("" when none is on)."""
        if not any(p.alarms for p in self._problems.values()):
            return ""
        return next((r.text for r in reversed(self.records) if r.fired), "")

    # ------------------------------------------------------------------------ inputs
    def on_chunk(self, out: ProcessedChunk) -> None:
        for event in out.events:
            if isinstance(event, QualityChanged) and event.channel in self.channels:
                name = self.channels[event.channel]
                off = any(flag in LEAD_OFF_FLAGS for flag in event.flags)
                if off and name not in self._problems:
                    self._problems[name] = _Problem(event.at_s)
                elif not off and name in self._problems:
                    self._resolved(name, event.at_s)
        self._check()

    def on_notice(self, at_s: float, text: str) -> None:
        """The device link's notices: lost ("no data ...", "reconnecting ...") or back."""
        if "data again" in text:
            if LINK in self._problems:
                self._resolved(LINK, at_s)
        elif LINK not in self._problems:
            self._problems[LINK] = _Problem(self.wall_s())

    def on_tick(self) -> None:
        """Called twice a second by the session, data or not (a lost link sends none)."""
        self._check()

    # ---------------------------------------------------------------------- decisions
    def _check(self) -> None:
        if not self.config.enabled:
            return
        for name, problem in self._problems.items():
            now = self.wall_s() if name == LINK else self.stream_s()
            lasted = now - problem.since_s
            if lasted < self.config.after_s or now < problem.next_at:
                continue
            interval = min(self.config.repeat_s * 2**problem.alarms, self.config.max_repeat_s)
            problem.alarms += 1
            problem.next_at = now + interval
            what = "the sensor's link lost" if name == LINK else f"{name} electrode off"
            self._record(
                f"alarm {problem.alarms}: {what} for {_minutes(lasted)}; "
                f"again in {_minutes(interval)} if it stays so"
            )
            self._fire(what)

    def _resolved(self, name: str, at_s: float) -> None:
        problem = self._problems.pop(name)
        if problem.alarms:
            what = "the sensor's link" if name == LINK else f"{name} signal"
            self._record(f"alarm over: {what} back after {problem.alarms} alarm(s)", False)

    def _record(self, text: str, fired: bool = True) -> None:
        record = AlarmRecord(self.stream_s(), text, fired)
        self.records.append(record)
        self.on_record(record)

    def _fire(self, what: str) -> None:
        c = self.config
        for actuator in self.actuators:
            if isinstance(actuator, NotifyActuator):
                actuator.notify(f"bruxwatch: {what}; press it back on or replace it")
                continue
            for k in range(c.pulses):
                self.later(k * (c.pulse_ms + c.gap_ms) / 1000, _pulse(actuator, c.pulse_ms))


def _pulse(actuator: Actuator, ms: int) -> Callable[[], None]:
    def fire() -> None:
        with contextlib.suppress(Exception):  # an alarm that cannot buzz must not end the night
            actuator.fire(255, ms)

    return fire


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def alarm_actuators(feedback: Sequence[Actuator]) -> list[Actuator]:
    """The alarm's own voice on each feedback actuator: a higher tone than feedback's for
    sound; the rest as they are (the pattern tells them apart)."""
    return [SoundActuator(frequency_hz=880.0) if a.name == "sound" else a for a in feedback]


def attach(session, config: AlarmConfig, actuators: Sequence[Actuator]) -> LeadOffAlarm:
    """An alarm on `session`'s scored channels, fed by its chunks, notices and ticks; its
    records go into the night (as notices) and to `on_record`."""

    def channels() -> dict[int, str]:
        info = session.info or session.device.info
        return {c: info.channels[c] for c in session.scored_channels()}

    alarm = LeadOffAlarm(
        config,
        {},
        alarm_actuators(actuators),
        stream_s=lambda: session.status.seconds,
        later=session.later,
    )

    def on_chunk(out: ProcessedChunk) -> None:
        if not alarm.channels:
            alarm.channels = channels()
        alarm.on_chunk(out)

    session.subscribers.append(on_chunk)
    session.notice_listeners.append(alarm.on_notice)
    session.tick_listeners.append(alarm.on_tick)
    return alarm
