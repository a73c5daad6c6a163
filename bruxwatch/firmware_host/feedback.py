"""Biofeedback: when to buzz (FeedbackPolicy); how is `firmware_host/actuators.py`.

The policy fires when a clench has lasted the onset delay (default 0.5 s, so a swallow does
not buzz), then waits a refractory period (10 s) before the next clench may buzz. A clench
that goes on gets another, stronger pulse every `repeat_after_s`. An hourly cap protects
sleep. In *baseline* mode every decision is taken and logged the same way, but nothing fires,
so baseline and feedback nights can be compared.

Micro-randomization (`withhold`, e.g. 0.2): for each clench that earns feedback, a seeded
generator decides once, at its first pulse, whether this clench's feedback is withheld; a
withheld clench is logged exactly like a given one (trigger sample, strength) with the reason
"withheld: ...". Comparing what happens after given and withheld feedback then measures the
effect of the feedback for this wearer (bruxwatch.signal.evidence). Baseline mode is the
special case withhold = 1. The same seed and the same clenches give the same assignments.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bruxwatch.signal.config import bounded, check_bounds

log = logging.getLogger(__name__)

Mode = Literal["feedback", "baseline"]


@dataclass(frozen=True)
class FeedbackRecord:
    """One feedback decision: fired, or held back (baseline mode, refractory, hourly cap).

    trigger_index: the sample that completed the onset delay; latency_ms: from that sample's
    arrival on the host to the command being written (None when nothing was sent).
    """

    trigger_index: int
    at_s: float
    fired: bool
    action: str
    strength: int
    ms: int
    latency_ms: float | None
    reason: str

    @property
    def withheld(self) -> bool:
        """Held back by the micro-randomization (`record --withhold`), not by a rule."""
        return self.reason.startswith("withheld")

    @property
    def first_pulse(self) -> bool:
        """The clench's first decision (the randomized one), not a repeat while it goes on."""
        return "continues" not in self.reason and "hourly cap" not in self.reason


@dataclass(frozen=True)
class FeedbackConfig:
    """Feedback settings (seconds; strength is PWM 0-255 for a motor, loudness for sound)."""

    mode: Mode = "feedback"
    onset_delay_s: float = bounded(0.5, 0.0, 30.0, "s")
    pulse_ms: int = bounded(300, 1, 5000, "ms")
    strength: int = bounded(180, 0, 255)
    refractory_s: float = bounded(10.0, 0.0, 3600.0, "s")
    repeat_after_s: float = bounded(5.0, 0.1, 600.0, "s")
    escalation: float = bounded(1.25, 1.0, 4.0)
    max_per_hour: int = bounded(60, 1, 1_000_000)
    withhold: float = bounded(0.0, 0.0, 1.0)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("feedback", "baseline"):
            raise ValueError(f"feedback mode must be feedback or baseline, got {self.mode!r}")
        check_bounds(self)


@dataclass(frozen=True)
class Decision:
    """One feedback decision at `trigger_index` (the sample completing the delay)."""

    trigger_index: int
    fired: bool
    strength: int
    ms: int
    reason: str


class FeedbackPolicy:
    """Decides, chunk by chunk, when a clench earns a pulse."""

    def __init__(self, fs: float, config: FeedbackConfig | None = None) -> None:
        self.fs = fs
        self.config = config = config or FeedbackConfig()
        self._onset = round(config.onset_delay_s * fs)
        self._refractory = round(config.refractory_s * fs)
        self._repeat = max(1, round(config.repeat_after_s * fs))
        self._hour = round(3600 * fs)
        self._run: int | None = None
        self._pulses = 0
        self._next_due = 0
        self._last: int | None = None
        self._recent: deque[int] = deque()
        self._rng = np.random.default_rng(config.seed)
        self._withheld = False

    def update(self, clench_since: int | None, end_index: int) -> Decision | None:
        """After a chunk ending before `end_index`: the decision due now, if any.

        clench_since: first sample of the clench in progress (None: no clench now).
        """
        if clench_since is None:
            self._run = None
            return None
        if clench_since != self._run:
            self._run, self._pulses = clench_since, 0
            self._next_due = clench_since + self._onset
        due = self._next_due
        if self._pulses == 0 and self._last is not None:
            due = max(due, self._last + self._refractory)  # a new clench inside the refractory
        if due > end_index - 1:
            return None
        cfg = self.config
        while self._recent and self._recent[0] <= due - self._hour:
            self._recent.popleft()
        self._next_due = due + self._repeat
        if len(self._recent) >= cfg.max_per_hour:
            return Decision(due, False, 0, cfg.pulse_ms, "hourly cap")
        strength = int(min(255, round(cfg.strength * cfg.escalation**self._pulses)))
        if self._pulses == 0 and cfg.withhold > 0:  # one draw per clench, at its first pulse
            self._withheld = bool(self._rng.random() < cfg.withhold)
        elif self._pulses == 0:
            self._withheld = False
        self._pulses += 1
        self._last = due
        self._recent.append(due)
        reason = "clench" if self._pulses == 1 else f"clench continues (pulse {self._pulses})"
        if cfg.mode == "baseline":
            return Decision(due, False, strength, cfg.pulse_ms, f"baseline: {reason}")
        if self._withheld:
            return Decision(due, False, strength, cfg.pulse_ms, f"withheld: {reason}")
        return Decision(due, True, strength, cfg.pulse_ms, reason)
