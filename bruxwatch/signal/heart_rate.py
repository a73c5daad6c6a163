"""Beat-to-beat heart rate from R peaks, with artifact rejection, and the heart-rate rise
that confirms a sleep-bruxism episode.

R peaks come from the QRS detection of `signal.ecg` (on the masseter leads, where the ECG
bleeds in, or on a channel wired as ECG). Not every detection is a heartbeat: a clench's
onset can pass for a QRS. An RR interval (s) counts only when
- both its beats looked like the running QRS template (`EcgCanceller.matched`),
- it lies between 60/`max_bpm` and 60/`min_bpm` s, and
- it differs by at most `max_change` from the median of the last `reference_beats`
  accepted intervals (when there are that many within the last 30 s): a missed beat
  doubles an interval and a false one halves it, far more than the heart changes in one
  beat;
- with no such reference (at the start, or after 30 s without an accepted interval), it is
  one of a run of `reference_beats` intervals between consecutive beats that all lie within
  `max_change` of the run's median: then the whole run counts. Stray detections far apart
  (a weak ECG in the masseter leads: a few beats found an hour, and clench onsets) make no
  such run, so they give no heart rate rather than a wrong one.

An episode is HR-confirmed when the highest heart rate over `peak_beats` consecutive
intervals in `window_s` around its onset (a single short interval is within the heart's own
beat-to-beat variation) is at least (1 + `rise`) × the mean heart rate over `baseline_s`
before it (seconds relative to the onset). The default rise of 20 % is the rule published
for the Bruxoff device, which pairs masseter EMG above 10 % MVC with such a rise and was
validated against polysomnography. Sleep bruxism follows a micro-arousal whose heart-rate
rise begins a beat or seconds before the jaw fires; swallowing, sleep talking and other
oromotor activity show no such rise. The rise peaks seconds after the onset, so the window
must hold at least `peak_beats` accepted intervals after the onset, or the episode's heart
rate is unknown. That is the rule, not the exception, with beats from the masseter leads: a
clench hides the beats there under its EMG (and the heart has settled by the time they come
back), so confirmation needs a channel wired as ECG across the chest, which sees every beat,
or a pulse sensor (`signal.pulse`, whose peaks go through the same rules); the masseter
leads still give the night's heart rate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bruxwatch.signal import compiled
from bruxwatch.signal.config import HeartConfig
from bruxwatch.signal.ecg import median_of_few

REFERENCE_SPAN_S = 30.0
"""Accepted intervals older than this (s) are not a reference for the next one."""
RESTING_WINDOW_S = 300.0
"""The resting heart rate is the lowest mean over a window this long (s)."""


@dataclass(frozen=True)
class HeartRate:
    """Accepted RR intervals: `rr_s` (s), each ending at beat time `t_s` (s from the
    recording's sample 0). `beats`: R peaks found; `rejected`: intervals set aside."""

    t_s: np.ndarray
    rr_s: np.ndarray
    beats: int
    rejected: int

    @property
    def bpm(self) -> np.ndarray:
        return 60.0 / self.rr_s

    def between(self, start_s: float, end_s: float) -> np.ndarray:
        """The accepted intervals ending in [start_s, end_s)."""
        lo, hi = np.searchsorted(self.t_s, [start_s, end_s])
        return self.rr_s[lo:hi]

    def mean_bpm(self) -> float | None:
        """Mean heart rate over every accepted interval (beats over time), or None."""
        if self.rr_s.size == 0:
            return None
        return float(60.0 * self.rr_s.size / self.rr_s.sum())

    def resting_bpm(self, window_s: float = RESTING_WINDOW_S) -> float | None:
        """The lowest mean heart rate over any `window_s` of the night (windows stepped by a
        fifth of it, each needing half its time covered by accepted intervals)."""
        if self.rr_s.size == 0:
            return None
        step = window_s / 5.0
        edges = np.arange(0.0, float(self.t_s[-1]) + step, step)
        covered = np.histogram(self.t_s, edges, weights=self.rr_s)[0]
        count = np.histogram(self.t_s, edges)[0]
        per = 5  # steps in a window
        if covered.size < per:
            return None
        span = np.convolve(covered, np.ones(per), "valid")
        beats = np.convolve(count, np.ones(per), "valid")
        ok = span >= 0.5 * window_s
        if not ok.any():
            return None
        return float(np.min(60.0 * beats[ok] / span[ok]))


def heart_rate(
    r_peaks: Sequence[int], matched: Sequence[bool], fs: float, config: HeartConfig | None = None
) -> HeartRate:
    """Accepted RR intervals from R-peak sample indices at `fs` Hz and whether each beat
    looked like a QRS (see the module's rules)."""
    config = config or HeartConfig()
    r = np.asarray(r_peaks, dtype=np.float64) / fs
    ok = np.asarray(matched, dtype=bool)
    if r.size != ok.size:
        raise ValueError(f"{r.size} R peaks but {ok.size} shape verdicts")
    low, high = 60.0 / config.max_bpm, 60.0 / config.min_bpm
    rr_all = np.diff(r)
    candidate = ok[1:] & ok[:-1] & (rr_all >= low) & (rr_all <= high)
    fast = compiled.kernels_for(r.size)
    if fast is not None:  # the same decisions in one compiled loop
        candidates = np.flatnonzero(candidate).astype(np.int64)
        taken = np.empty(candidates.size, dtype=np.int64)
        n = fast.accepted_intervals(
            r,
            rr_all,
            candidates,
            config.reference_beats,
            REFERENCE_SPAN_S,
            config.max_change,
            taken,
        )
        taken = taken[:n]
        return HeartRate(
            r[taken + 1],
            rr_all[taken],
            beats=int(r.size),
            rejected=max(0, int(r.size) - 1 - n),
        )
    times: list[float] = []
    intervals: list[float] = []
    n_ref = config.reference_beats
    recent: deque[tuple[float, float]] = deque(maxlen=n_ref)  # (t, rr) accepted
    run: deque[tuple[int, float, float]] = deque(maxlen=n_ref)  # (k, t, rr) awaiting a run
    for k in np.flatnonzero(candidate).tolist():
        rr, t = float(rr_all[k]), float(r[k + 1])
        if len(recent) == n_ref and t - recent[0][0] <= REFERENCE_SPAN_S:
            reference = median_of_few([v for _, v in recent])
            if abs(rr - reference) > config.max_change * reference:
                continue
            accepted = [(t, rr)]
        else:  # no reference: only a run of consistent intervals between consecutive beats
            if run and run[-1][0] != k - 1:
                run.clear()
            run.append((k, t, rr))
            if len(run) < n_ref:
                continue
            middle = median_of_few([v for _, _, v in run])
            if any(abs(v - middle) > config.max_change * middle for _, _, v in run):
                continue
            accepted = [(t_run, v) for _, t_run, v in run]
            run.clear()
        for t_ok, rr_ok in accepted:
            recent.append((t_ok, rr_ok))
            times.append(t_ok)
            intervals.append(rr_ok)
    return HeartRate(
        np.array(times),
        np.array(intervals),
        beats=int(r.size),
        rejected=max(0, int(r.size) - 1 - len(intervals)),
    )


@dataclass(frozen=True)
class EpisodeHeart:
    """The heart around one episode's onset: baseline and peak (bpm), their ratio - 1,
    and whether that rise confirms the episode (None: too few beats to tell)."""

    baseline_bpm: float | None
    peak_bpm: float | None
    rise: float | None
    confirmed: bool | None


def episode_heart(hr: HeartRate, onset_s: float, config: HeartConfig) -> EpisodeHeart:
    """The HR confirmation of an episode starting at `onset_s` (s)."""
    b0, b1 = config.baseline_s
    baseline = hr.between(onset_s + b0, onset_s + b1)
    w0, w1 = config.window_s
    window = hr.between(onset_s + w0, onset_s + w1)
    seen_after_onset = hr.between(onset_s, onset_s + w1).size >= config.peak_beats
    base = 60.0 * baseline.size / baseline.sum() if baseline.size else None
    peak = None
    if window.size:
        k = min(config.peak_beats, window.size)
        peak = 60.0 / float(np.convolve(window, np.full(k, 1.0 / k), "valid").min())
    if base is None or baseline.size < config.min_baseline_beats or peak is None:
        return EpisodeHeart(base, peak, None, None)
    if not seen_after_onset:  # where the rise peaks, the beats were lost: no verdict
        return EpisodeHeart(float(base), float(peak), None, None)
    rise = peak / base - 1.0
    return EpisodeHeart(float(base), float(peak), float(rise), bool(rise >= config.rise))
