"""Streaming burst and episode detection: phasic / tonic / mixed, as sleep-bruxism scoring does.

Input per chunk: a boolean "above threshold" mask and the detection level (% MVC or
× background) of each sample. Work is done per threshold crossing, not per sample: the mask's
edges are found with numpy and only they are walked in Python.

Rules (DetectorConfig): runs above threshold closer than `merge_gap_s` merge; a merged run of at
least `min_burst_s` is a burst (phasic up to `tonic_min_s`, tonic beyond); bursts less than
`episode_gap_s` apart form one group; a group is an episode when it has a tonic burst or at
least `min_phasic_bursts` phasic bursts (both: mixed). Every decision is taken at an exact
sample index, so the events do not depend on how the stream is chunked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bruxwatch.signal.config import DetectorConfig
from bruxwatch.signal.events import (
    Burst,
    BurstEnd,
    BurstStart,
    Episode,
    EpisodeEnd,
    EpisodeStart,
    Event,
)


@dataclass
class _Group:
    """Bursts that may still become (or already are) one episode."""

    first_start: int
    bursts: list[Burst] = field(default_factory=list)
    announced: bool = False

    @property
    def last_end(self) -> int | None:
        return self.bursts[-1].end_index if self.bursts else None


class EpisodeDetector:
    """Burst/episode state machine over a stream of (above, level) samples."""

    def __init__(self, fs: float, config: DetectorConfig | None = None, pct_mvc: bool = True):
        self.fs = float(fs)
        self.config = config = config or DetectorConfig()
        self.pct_mvc = pct_mvc
        self._min_burst = max(1, round(config.min_burst_s * fs))
        self._merge_gap = max(1, round(config.merge_gap_s * fs))
        self._tonic = round(config.tonic_min_s * fs)
        self._episode_gap = round(config.episode_gap_s * fs)
        self._above = False
        self._run_start: int | None = None  # start of the current merged run
        self._run_end: int | None = None  # set while the run is below threshold (pending)
        self._run_peak = -np.inf
        self._run_area = 0.0  # the run's levels above threshold, summed (level units)
        self._run_is_burst = False
        self._run_is_tonic = False
        self._group: _Group | None = None
        self._events: list[Event] = []

    # ----------------------------------------------------------------------------- public
    @property
    def clench_since_index(self) -> int | None:
        """First sample of the run above threshold in progress (dips shorter than the merge gap
        included), or None when the signal is below threshold now."""
        return self._run_start if self._above else None

    @property
    def run_under_way(self) -> bool:
        """A run above threshold is in progress: above now, or in a dip that may still merge
        (shorter than the merge gap so far), after which `clench_since_index` goes on."""
        return self._run_start is not None

    def process(self, above: np.ndarray, level: np.ndarray, first_index: int) -> list[Event]:
        """Feed one chunk; returns the events it completes, in time order."""
        self._events = []
        n = above.shape[0]
        if n == 0:
            return []
        changes = np.flatnonzero(above[1:] != above[:-1]) + 1
        if bool(above[0]) != self._above:
            changes = np.concatenate(([0], changes))
        state, pos = self._above, 0
        for k in changes.tolist():
            self._segment(state, pos, k, level, first_index)
            pos, state = k, not state
            if state:
                self._rise(first_index + k)
            else:
                self._run_end = first_index + k
            self._above = state
        self._segment(state, pos, n, level, first_index)
        return self._events

    def finish(self, end_index: int) -> list[Event]:
        """The stream ends (or breaks at a gap) at `end_index`: close everything open."""
        self._events = []
        if self._run_start is not None:
            if self._run_end is None:
                self._run_end = end_index
            self._finalize_run(end_index)
        if self._group is not None:
            self._close_group()
        self._above = False
        return self._events

    # ---------------------------------------------------------------------------- private
    def _segment(self, above: bool, lo: int, hi: int, level: np.ndarray, first_index: int):
        """Samples [lo, hi) (local indices) all share the same `above` state."""
        if hi <= lo:
            return
        if not above:
            self._advance(first_index + hi)
            return
        self._run_peak = max(self._run_peak, float(level[lo:hi].max()))
        self._run_area += float(level[lo:hi].sum(dtype=np.float64))
        start = self._run_start
        g_lo, g_hi = first_index + lo, first_index + hi
        if not self._run_is_burst:
            at = max(g_lo, start + self._min_burst - 1)
            if at < g_hi:
                self._run_is_burst = True
                self._events.append(BurstStart(start_s=start / self.fs, at_s=at / self.fs))
        if not self._run_is_tonic:
            at = max(g_lo, start + self._tonic)
            if at < g_hi:
                self._run_is_tonic = True
                if self._group is None:
                    self._group = _Group(first_start=start)
                self._announce("tonic", at)

    def _rise(self, index: int) -> None:
        self._advance(index + 1)
        if self._run_start is not None:  # still pending: within the merge gap, so merge
            self._run_end = None
            return
        self._run_start, self._run_end = index, None
        self._run_peak = -np.inf
        self._run_area = 0.0
        self._run_is_burst = self._run_is_tonic = False

    def _advance(self, upto: int) -> None:
        """Take every decision due at a sample index before `upto`, in time order."""
        while True:
            if self._run_start is not None and self._run_end is not None:
                due = self._run_end + self._merge_gap
                if due < upto:
                    self._finalize_run(due)
                    continue
                return
            if self._run_start is None and self._group is not None:
                last_end = self._group.last_end
                if last_end is not None and last_end + self._episode_gap < upto:
                    self._close_group()
                    continue
            return

    def _finalize_run(self, at_index: int) -> None:
        start, end = self._run_start, self._run_end
        assert start is not None and end is not None
        self._run_start = self._run_end = None
        if end - start < self._min_burst:
            return
        kind = "tonic" if end - start > self._tonic else "phasic"
        area = self._run_area / self.fs
        burst = Burst(start, end, self.fs, kind, self._run_peak, area)
        self._events.append(BurstEnd(burst))
        if self._group is None:
            self._group = _Group(first_start=start)
        self._group.bursts.append(burst)
        phasic = sum(b.kind == "phasic" for b in self._group.bursts)
        if phasic >= self.config.min_phasic_bursts:
            self._announce("phasic", at_index)

    def _announce(self, kind: str, at_index: int) -> None:
        group = self._group
        assert group is not None
        if not group.announced:
            group.announced = True
            self._events.append(
                EpisodeStart(
                    start_s=group.first_start / self.fs, at_s=at_index / self.fs, kind=kind
                )
            )

    def _close_group(self) -> None:
        group, self._group = self._group, None
        assert group is not None
        bursts = group.bursts
        phasic = sum(b.kind == "phasic" for b in bursts)
        tonic = len(bursts) - phasic
        is_phasic = phasic >= self.config.min_phasic_bursts
        if not (is_phasic or tonic):
            return
        kind = "mixed" if is_phasic and tonic else ("tonic" if tonic else "phasic")
        peak = max(b.peak for b in bursts)
        episode = Episode(
            start_index=bursts[0].start_index,
            end_index=bursts[-1].end_index,
            fs=self.fs,
            kind=kind,
            bursts=len(bursts),
            phasic_bursts=phasic,
            tonic_bursts=tonic,
            peak_level=peak,
            peak_pct_mvc=peak if self.pct_mvc else None,
            area=sum(b.area for b in bursts),
        )
        self._events.append(EpisodeEnd(episode))
