"""The headless recorder's console view: prompts, and one status line at a time."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from bruxwatch.firmware_host.session import Session
from bruxwatch.signal import ProcessedChunk
from bruxwatch.stream import units_text


def clock(seconds: float) -> str:
    """Elapsed time as HH:MM:SS (3723.4 -> "01:02:03")."""
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def counted(n: int, noun: str) -> str:
    """ "1 episode", "3 episodes"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def lost_text(gaps: int, seconds: float) -> str:
    """ "1 gap, 10 ms lost", "3 gaps, 2.4 s lost"."""
    amount = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
    return f"{counted(gaps, 'gap')}, {amount} lost"


def feedback_text(mode: str | None, given: int, logged: int) -> str:
    """What the feedback did: "feedback: 2 given, 0 logged", "baseline night: 5 logged, none
    given", "feedback off"."""
    if mode is None:
        return "feedback off"
    if mode == "baseline":
        return f"baseline night: {logged} logged, none given"
    return f"feedback: {given} given, {logged} logged"


def levels_text(values, digits: int = 1) -> str:
    """Per-channel levels "3.1/2.8", or "warming up" while any is not known yet (NaN)."""
    if values is None:
        return "-"
    if any(v != v for v in values):
        return "warming up"
    return "/".join(f"{v:.{digits}f}" for v in values)


class ConsoleView:
    """Rewrites one status line on a terminal every `interval_s`; elsewhere (a log file, a
    pipe) prints a line every `log_interval_s`."""

    def __init__(
        self,
        session: Session,
        out: TextIO | None = None,
        interval_s: float = 1.0,
        log_interval_s: float = 60.0,
    ) -> None:
        self.session = session
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.interval_s = interval_s if self.tty else log_interval_s
        self._last = 0.0
        session.subscribers.append(self.update)
        session.notice_listeners.append(self.notice)
        session.on_prompt = self.prompt

    def prompt(self, text: str) -> None:
        self._write(f"[{clock(self.session.status.seconds)}] {text}", newline=True)

    def notice(self, at_s: float, text: str) -> None:
        self._write(f"[{clock(at_s)}] {text}", newline=True)

    def update(self, chunk: ProcessedChunk) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return
        self._last = now
        self._write(self.line(), newline=not self.tty)

    def line(self) -> str:
        st = self.session.status
        info = self.session.info
        names = info.channels if info else ()
        quality = " ".join(
            f"{name}:{'/'.join(st.quality.get(i, ())) or 'ok'}" for i, name in enumerate(names)
        )
        units = "uV" if info is None else info.units
        env = levels_text(st.envelope)
        thr = levels_text(st.thresholds)
        last = clock(st.last_feedback_s) if st.last_feedback_s is not None else "-"
        mode = self.session.feedback.mode if self.session.feedback else None
        if st.link:
            return f"{clock(st.seconds)}  {st.link}"
        return (
            f"{clock(st.seconds)}  {quality}  envelope {env} {units_text(units)} "
            f"(threshold {thr})  "
            f"{counted(st.episodes, 'episode')}  "
            f"{feedback_text(mode, st.feedback_fired, st.feedback_held)}, last {last}  "
            f"lost {counted(st.lost, 'sample')}"
        )

    def _write(self, text: str, newline: bool) -> None:
        if self.tty:
            self.out.write("\r\033[K" + text + ("\n" if newline else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()
