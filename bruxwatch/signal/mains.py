"""Mains interference found in the signal itself: the frequency (50 or 60 Hz) and which of its
harmonics are present in the pass band, so the filter notches those and no others.

Every `FilterConfig.mains_check_s` seconds (every second during the first five), the raw
samples of the last second are Hann-windowed and Fourier-transformed (1-Hz bins). A line at
frequency f is *present* when its power (the three bins around f) is at least
`harmonic_ratio` times what the spectrum around it (f ± 3-10 Hz, upper median) predicts for
three bins, in any channel. A line is acted on once two checks in a row find it; a notched
harmonic is dropped again only after three checks in a row find it below a third of that
ratio (a clench raises the broadband spectrum for a while).
With `mains_hz = "auto"` the fundamental is the one of 50 and 60 Hz whose line stands out
more, once one does; before that, and when neither does, it stays as it was (50 Hz at first).
The fundamental is always notched; its harmonics are notched when present
(`notch_harmonics = "auto"`) or up to a fixed multiple (a number).

Decisions are taken at sample indices fixed by the schedule (multiples of the check interval
since the start of the stream), from samples before them, so any chunking of a stream gives
the same notches at the same samples. Where the windows lie is fixed by that schedule, so the
spectra of all the checks inside a chunk are found in one FFT call and the decisions then
taken in order: a night scored in 2-minute blocks pays one call per block, not one per check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bruxwatch.signal.config import FilterConfig

CANDIDATES_HZ = (50.0, 60.0)
STARTUP_CHECKS = 5
"""Checks once a second this many times from the start of the stream, then every
`mains_check_s` seconds."""
CONFIRM_CHECKS = 2
"""A line is notched (or the fundamental switched) once this many checks in a row find it:
one second of sEMG puts a random peak 10 dB above its neighbours about once in 300 looks."""
ABSENT_CHECKS = 3
"""A notched harmonic is dropped after this many checks in a row without it."""
_NEAR_BINS = (3, 10)  # the neighbourhood of a line, in 1-Hz bins either side


@dataclass(frozen=True)
class NotchPlan:
    """Which mains lines the filter notches: `mains_hz` (None: none) at the multiples in
    `harmonics` (1 = the fundamental)."""

    mains_hz: float | None
    harmonics: tuple[int, ...] = (1,)

    @property
    def frequencies(self) -> tuple[float, ...]:
        if self.mains_hz is None:
            return ()
        return tuple(k * self.mains_hz for k in self.harmonics)


def notch_limit(fs: float, high_hz: float, mains_hz: float) -> float:
    """Lines below this frequency (Hz) get a notch: under Nyquist, and in or next to the pass
    band (up to half a mains period above its upper edge)."""
    return min(fs / 2, high_hz + mains_hz / 2)


def fixed_plan(fs: float, high_hz: float, config: FilterConfig) -> NotchPlan:
    """The plan when nothing is found from the signal: the configured (or, for "auto", the
    50-Hz) fundamental, with the harmonics a fixed `notch_harmonics` asks for."""
    mains = config.mains_hz
    if mains is None:
        return NotchPlan(None, ())
    f0 = CANDIDATES_HZ[0] if mains == "auto" else float(mains)
    count = 1 if config.notch_harmonics == "auto" else int(config.notch_harmonics)
    limit = notch_limit(fs, high_hz, f0)
    return NotchPlan(f0, tuple(k for k in range(1, count + 1) if k * f0 < limit))


class MainsTracker:
    """Decides, from the raw samples, which mains lines the filter notches (see module doc).

    Feed every raw chunk in stream order with `feed`; it returns the plan changes it decided
    inside that chunk, as (offset into the chunk, new plan).
    """

    def __init__(self, fs: float, high_hz: float, config: FilterConfig):
        self.fs = float(fs)
        self.high_hz = high_hz
        self.config = config
        self.auto_frequency = config.mains_hz == "auto"
        self.auto_harmonics = config.notch_harmonics == "auto"
        self.plan = fixed_plan(fs, high_hz, config)
        self.window = max(8, round(fs))  # one second: 1-Hz bins
        self.every = self.window * max(1, round(config.mains_check_s))
        self._taper = np.hanning(self.window)
        self._parts: list[np.ndarray] = []
        self._have = 0  # samples of the current window collected
        self._start: int | None = None  # index of the stream's first sample
        self._next_check: int | None = None
        self._absent: dict[int, int] = {}  # notched harmonic -> checks in a row without it
        self._seen: dict[tuple, int] = {}  # line not yet acted on -> checks in a row with it
        self._sides: dict[int, np.ndarray] = {}  # line's bin -> the bins around it
        self._below_limit: dict[float, list[int]] = {}  # fundamental -> its harmonics notched
        # lines checked at once: (frequencies, others, their bins, their neighbourhoods)
        self._lines: tuple[list[float], list[float], np.ndarray, np.ndarray] | None = None

    @property
    def active(self) -> bool:
        """Does the tracker decide anything, or is the plan fixed?"""
        return self.plan.mains_hz is not None and (self.auto_frequency or self.auto_harmonics)

    def restart(self) -> None:
        """Forget the window being collected (it has a hole, or was used)."""
        self._parts, self._have = [], 0

    def feed(self, x: np.ndarray, first_index: int) -> list[tuple[int, NotchPlan]]:
        """Raw samples x (channels, n) from `first_index` on; plan changes inside them."""
        if not self.active:
            return []
        n = x.shape[-1]
        if self._start is None:
            self._start = first_index
            self._next_check = first_index + self.window
        end = first_index + n
        assert self._next_check is not None
        checks: list[int] = []  # the checks inside the chunk whose window is complete
        windows: list[np.ndarray] = []  # their windows (channels, window)
        while True:
            check = self._next_check
            window_start = check - self.window
            lo, hi = max(first_index, window_start), min(end, check)
            if lo < hi:
                if lo != window_start + self._have:  # a hole: this window is incomplete
                    self.restart()
                if lo == window_start + self._have:
                    self._take(x[:, lo - first_index : hi - first_index])
            if check > end:
                break
            if self._have == self.window:
                checks.append(check)
                parts = self._parts  # np.stack below copies them: one needs no joining
                windows.append(parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1))
            self.restart()
            self._next_check = self._following(check)
        if not checks:
            return []
        # where the windows are is fixed by the schedule, not by what is decided: their
        # spectra are found at once (one FFT call), the decisions then taken in order
        changes: list[tuple[int, NotchPlan]] = []
        for check, strengths in zip(checks, self._strengths(np.stack(windows)), strict=True):
            plan = self._decide(strengths)
            if plan != self.plan:
                self.plan = plan
                changes.append((check - first_index, plan))
        return changes

    # ---------------------------------------------------------------------------- private
    def _take(self, part: np.ndarray) -> None:
        self._parts.append(part)
        self._have += part.shape[-1]

    def _following(self, check: int) -> int:
        assert self._start is not None
        if check - self._start < STARTUP_CHECKS * self.window:
            return check + self.window
        return (check // self.every + 1) * self.every

    def _strengths(self, windows: np.ndarray) -> list[dict[float, float]]:
        """Each window's `_line_ratios`, from windows (checks, channels, window) of raw
        samples."""
        tapered = windows - windows.mean(axis=-1, keepdims=True)
        tapered *= self._taper
        power = np.abs(np.fft.rfft(tapered, axis=-1))
        return self._line_ratios(np.square(power, out=power))  # (.., bins)

    def _decide(self, strengths: dict[float, float]) -> NotchPlan:
        """The plan after one check, given its lines' strengths (`_line_ratios`)."""
        ratio = self.config.harmonic_ratio
        f0 = self.plan.mains_hz
        assert f0 is not None
        if self.auto_frequency:
            best = CANDIDATES_HZ[0]  # the first of the strongest, as max() picks
            for f in CANDIDATES_HZ[1:]:
                if strengths[f] > strengths[best]:
                    best = f
            wins = best != f0 and strengths[best] >= ratio and strengths[best] > strengths[f0]
            if self._confirmed(("mains", best), wins):
                f0 = best
                self._absent.clear()
                self._seen.clear()
        if not self.auto_harmonics:
            return self._fixed_at(f0)
        same = f0 == self.plan.mains_hz
        current = self.plan.harmonics if same else (1,)
        kept = [1]
        for k in self._harmonics_below_limit(f0):
            line = strengths[k * f0]
            if k not in current:
                if line >= ratio:
                    if self._confirmed(("harmonic", k), True):
                        kept.append(k)
                elif self._seen:  # not seen this time: its count starts again
                    self._seen.pop(("harmonic", k), None)
                continue
            self._absent[k] = self._absent.get(k, 0) + 1 if line < ratio / 3 else 0
            if self._absent[k] < ABSENT_CHECKS:
                kept.append(k)
            else:
                del self._absent[k]
        harmonics = tuple(kept)  # ascending: k runs upwards
        if same and harmonics == self.plan.harmonics:
            return self.plan
        return NotchPlan(f0, harmonics)

    def _harmonics_below_limit(self, f0: float) -> list[int]:
        """The multiples k >= 2 of f0 below its notch limit (kept per fundamental)."""
        found = self._below_limit.get(f0)
        if found is None:
            limit = notch_limit(self.fs, self.high_hz, f0)
            found = [k for k in range(2, int(limit // f0) + 1) if k * f0 < limit]
            self._below_limit[f0] = found
        return found

    def _fixed_at(self, f0: float) -> NotchPlan:
        """The fixed number of harmonics (`notch_harmonics`) of fundamental f0 that fit."""
        if f0 == self.plan.mains_hz:
            return self.plan
        limit = notch_limit(self.fs, self.high_hz, f0)
        count = int(self.config.notch_harmonics)
        return NotchPlan(f0, tuple(k for k in range(1, count + 1) if k * f0 < limit))

    def _confirmed(self, key: tuple, seen: bool) -> bool:
        """Has `key` been seen in `CONFIRM_CHECKS` checks in a row (this one included)?"""
        if not seen:
            self._seen.pop(key, None)
            return False
        self._seen[key] = self._seen.get(key, 0) + 1
        if self._seen[key] < CONFIRM_CHECKS:
            return False
        del self._seen[key]
        return True

    def _line_ratios(self, power: np.ndarray) -> list[dict[float, float]]:
        """For each check in power (checks, channels, bins): `_line_ratio` of every multiple
        of 50 and 60 Hz below the notch limit, those whose neighbourhood fits in the spectrum
        in one vectorized median."""
        if self._lines is None:
            limit = max(notch_limit(self.fs, self.high_hz, f) for f in CANDIDATES_HZ)
            freqs = sorted({f * k for f in CANDIDATES_HZ for k in range(1, int(limit // f) + 1)})
            freqs = sorted({*freqs, *CANDIDATES_HZ})  # both fundamentals, even above the limit
            near_lo, near_hi = _NEAR_BINS
            offsets = np.r_[-near_hi : -near_lo + 1, near_lo : near_hi + 1]
            centres = np.array([round(f * self.window / self.fs) for f in freqs])
            fits = (centres - near_hi >= 1) & (centres + near_hi < power.shape[-1])
            self._lines = (
                [f for f, ok in zip(freqs, fits, strict=True) if ok],
                [f for f, ok in zip(freqs, fits, strict=True) if not ok],
                centres[fits],
                centres[fits][:, None] + offsets[None, :],
            )
        fitting, others, centres, sides = self._lines
        ratios: list[dict[float, float]] = [
            {f: self._line_ratio(each, f) for f in others} for each in power
        ]
        if fitting:
            line = power[..., centres - 1] + power[..., centres] + power[..., centres + 1]
            middle = sides.shape[1] // 2
            floor = 3.0 * np.partition(power[..., sides], middle, axis=-1)[..., middle]
            with np.errstate(divide="ignore", invalid="ignore"):
                each = np.where(floor > 0, line / floor, np.where(line > 0, np.inf, 0.0))
            for found, best in zip(ratios, each.max(axis=-2).tolist(), strict=True):
                found.update(zip(fitting, best, strict=True))
        return ratios

    def _line_ratio(self, power: np.ndarray, f: float) -> float:
        """Power of the line at f (3 bins) over what its neighbourhood predicts, best channel."""
        bins = power.shape[-1]
        centre = round(f * self.window / self.fs)
        if not 1 <= centre < bins - 1:
            return 0.0
        side = self._sides.get(centre)
        if side is None:
            near_lo, near_hi = _NEAR_BINS
            offsets = np.r_[-near_hi : -near_lo + 1, near_lo : near_hi + 1]
            side = centre + offsets
            side = self._sides[centre] = side[(side >= 1) & (side < bins)]
        line = power[:, centre - 1 : centre + 2].sum(axis=-1)
        floor = (
            3.0 * np.partition(power[:, side], side.shape[0] // 2, axis=-1)[:, side.shape[0] // 2]
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(floor > 0, line / floor, np.where(line > 0, np.inf, 0.0))
        return float(ratios.max())
