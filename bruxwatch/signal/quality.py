"""Signal-quality gates on fixed blocks: flat line / lead-off, clipping at the rails, mains pick-up
left after the notches, and impossible values (not finite, beyond the rails: held by the
pipeline, flagged here). Mains hum is judged on the filtered signal: hum the notches remove
is not bad signal.

Blocks are aligned to the stream's sample indices (block b covers [b·L, (b+1)·L)), so the flags
do not depend on chunking. A block is judged once it is complete (or when the stream breaks).

Per channel, so a dead lead loses its channel and not the night: a scored channel flagged in a
block is left out of detection from the end of that block until a block of it is judged good
again, as long as another scored channel is good (when every scored channel is flagged, all
stay in and what they detect is an artifact). A block is bad for the night where a channel
taking part in detection is flagged; those blocks are kept as merged [start, end) index
intervals, episodes overlapping them are artifacts and their time is not good signal.
"""

from __future__ import annotations

import numpy as np

from bruxwatch.signal.config import QualityConfig
from bruxwatch.signal.events import QualityChanged

FLAT, CLIPPED, MAINS, INVALID = "flat", "clipped", "mains", "invalid"


class QualityMonitor:
    """Per-channel quality flags per block, and the bad stretches of the scored channels."""

    def __init__(
        self,
        fs: float,
        n_channels: int,
        config: QualityConfig | None = None,
        *,
        rails: tuple[float, float] | None = None,
        mains_hz: tuple[float, ...] = (),
        scored: tuple[int, ...] | None = None,
    ) -> None:
        self.fs = float(fs)
        self.config = config = config or QualityConfig()
        self.block = max(1, round(config.block_s * fs))
        self.rails = rails
        self.mains_hz = tuple(f for f in mains_hz if f < fs / 2)
        self.scored = list(scored) if scored is not None else list(range(n_channels))
        self.flags: list[tuple[str, ...]] = [() for _ in range(n_channels)]
        self.bad: list[list[int]] = []  # merged [start, end) sample intervals
        self.flagged_samples = np.zeros(n_channels, dtype=np.int64)  # per channel, any flag
        self.flag_samples = np.zeros((n_channels, len(_NAMES)), dtype=np.int64)  # per flag
        self._last_bad = np.zeros(len(self.scored), dtype=bool)  # scored channels, last block
        # (first sample index, scored channels taking part) from that index on; ascending
        self._taking_part: list[tuple[int, np.ndarray]] = []
        self.known_until = 0
        self._pending_start: int | None = None
        self._pending_end = 0
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
        # One matrix product per block projects the filtered signal on each mains line
        # checked: columns [cos, sin] per frequency.
        columns = []
        for f in self.mains_hz:
            phase = 2 * np.pi * f / self.fs * np.arange(self.block)
            columns += [np.cos(phase), np.sin(phase)]
        self._basis = np.stack(columns, axis=-1) if columns else None  # (L, 2 per line)

    # ----------------------------------------------------------------------------- public
    def process(
        self,
        raw: np.ndarray,
        filtered: np.ndarray,
        first_index: int,
        invalid: np.ndarray | None = None,
    ) -> list:
        """Feed raw and filtered samples (channels, n), and where the raw input was impossible
        (bool (channels, n), None: nowhere); returns QualityChanged events."""
        events: list[QualityChanged] = []
        if self._pending_start is not None and first_index != self._pending_end:
            events += self._flush()  # the stream jumped: judge the partial block on its own
        L = self.block
        if self._pending_start is not None:  # complete the block under way with the head
            need = (self._pending_start // L + 1) * L - first_index
            if raw.shape[-1] < need:
                self._pending.append((raw, filtered, invalid))
                self._pending_end = first_index + raw.shape[-1]
                return events
            self._pending.append((raw[:, :need], filtered[:, :need], _part(invalid, 0, need)))
            events += self._flush()
            raw, filtered, invalid = raw[:, need:], filtered[:, need:], _part(invalid, need, None)
            first_index += need
        start, end = first_index, first_index + raw.shape[-1]
        pos = (-start) % L  # the stream started mid-block (after a gap): a short block first
        if pos > end - start:
            pos = 0  # that short block is not complete yet: all of it waits below
        elif pos:
            part = _part(invalid, 0, pos)
            events += self._judge(
                start,
                raw[:, None, :pos],
                filtered[:, None, :pos],
                None if part is None else part[:, None, :],
            )
        whole = (end - start - pos) // L if (start + pos) % L == 0 else 0
        if whole:
            stop = pos + whole * L
            n_channels = raw.shape[0]
            part = _part(invalid, pos, stop)
            events += self._judge(
                start + pos,
                raw[:, pos:stop].reshape(n_channels, whole, L),
                filtered[:, pos:stop].reshape(n_channels, whole, L),
                None if part is None else part.reshape(n_channels, whole, L),
            )
            pos = stop
        if start + pos < end:
            rest = None if invalid is None else invalid[:, pos:]
            self._pending = [(raw[:, pos:], filtered[:, pos:], rest)]
            self._pending_start, self._pending_end = start + pos, end
        return events

    def finish(self) -> list:
        """Judge the incomplete last block (end of stream or before a gap)."""
        return self._flush()

    def overlaps_bad(self, start: int, end: int) -> bool:
        """Does [start, end) touch a bad-quality stretch?"""
        for lo, hi in reversed(self.bad):
            if hi <= start:
                return False
            if lo < end:
                return True
        return False

    def bad_seconds(self) -> float:
        return sum(hi - lo for lo, hi in self.bad) / self.fs

    def flagged_seconds(self, channel: int) -> float:
        """Time (s) a channel was flagged, whether or not it was taking part then."""
        return float(self.flagged_samples[channel]) / self.fs

    def flag_seconds(self, channel: int) -> dict[str, float]:
        """Time (s) a channel carried each flag (a block may carry several)."""
        row = self.flag_samples[channel]
        return {name: float(row[i]) / self.fs for i, name in enumerate(_NAMES) if row[i]}

    def taking_part(self, first: int, n: int) -> np.ndarray | None:
        """Which scored channels take part in detection at samples [first, first + n): bool
        (scored, n), or None when all of them do throughout. Known for every sample whose
        block's predecessor has been judged, so call it after `process` of those samples."""
        entries = self._taking_part
        while len(entries) > 1 and entries[1][0] <= first:
            entries.pop(0)  # older entries are no longer needed
        end = first + n
        relevant = [(i, m) for i, m in entries if i < end]
        if not relevant or all(m.all() for _, m in relevant):
            return None
        mask = np.ones((len(self.scored), n), dtype=bool)
        for k, (index, part) in enumerate(relevant):
            lo = max(index - first, 0)
            hi = relevant[k + 1][0] - first if k + 1 < len(relevant) else n
            mask[:, lo:hi] = part[:, None]
        return mask

    # ---------------------------------------------------------------------------- private
    def _flush(self) -> list:
        if self._pending_start is None:
            return []
        raw, filtered, invalid = _joined(self._pending)
        start = self._pending_start
        self._pending_start, self._pending = None, []
        return self._judge(
            start,
            raw[:, None, :],
            filtered[:, None, :],
            None if invalid is None else invalid[:, None, :],
        )

    def _judge(
        self,
        start: int,
        raw: np.ndarray,
        filtered: np.ndarray,
        invalid: np.ndarray | None = None,
    ) -> list:
        """Flag blocks raw/filtered (channels, k, length) beginning at sample `start`;
        `invalid` (same shape, or None) marks impossible input samples."""
        cfg = self.config
        length = raw.shape[-1]
        mean = raw.sum(axis=-1) / length
        mean_square = np.einsum("ckl,ckl->ck", raw, raw) / length
        std = np.sqrt(np.maximum(mean_square - mean * mean, 0.0))
        flat = std < cfg.flat_std
        clipped = np.zeros_like(flat)
        if self.rails is not None:
            lo, hi = self.rails
            # Most blocks never touch a rail: two passes tell, where counting takes four.
            # (NaN fails both comparisons, and those blocks are counted.)
            if not (raw.min() > lo and raw.max() < hi):
                clipped = ((raw <= lo) | (raw >= hi)).mean(axis=-1) >= cfg.clip_fraction
        mains = np.zeros_like(flat)
        if self._basis is not None:  # what the notches left of the mains lines
            proj = filtered @ self._basis[:length]  # (channels, k, 2 per line)
            residue_ms = 2.0 * np.einsum("ckp,ckp->ck", proj, proj) / (length * length)
            total_ms = np.einsum("ckl,ckl->ck", filtered, filtered) / length
            rest_ms = np.maximum(total_ms - residue_ms, 1e-24)
            mains = residue_ms > cfg.mains_ratio**2 * rest_ms
        impossible = np.zeros_like(flat) if invalid is None else invalid.any(axis=-1)
        codes = flat * 1 + clipped * 2 + mains * 4 + impossible * 8  # (channels, k)
        events = self._changes(start, length, codes)
        k = codes.shape[1]
        self.flagged_samples += (codes != 0).sum(axis=1) * length
        for bit in range(len(_NAMES)):
            self.flag_samples[:, bit] += ((codes >> bit) & 1).sum(axis=1) * length
        bad = codes[self.scored] != 0  # (scored, k)
        before = np.concatenate((self._last_bad[:, None], bad[:, :-1]), axis=1)
        part = _taking_part(before)  # who took part in each block
        for b in np.flatnonzero((part & bad).any(axis=0)).tolist():
            self._mark_bad(start + b * length, start + (b + 1) * length)
        after = _taking_part(bad)  # who takes part from the end of each block on
        previous = (
            self._taking_part[-1][1] if self._taking_part else np.ones(len(self.scored), bool)
        )
        changed = np.any(
            after != np.concatenate((previous[:, None], after[:, :-1]), axis=1), axis=0
        )
        for b in np.flatnonzero(changed).tolist():
            self._taking_part.append((start + (b + 1) * length, after[:, b].copy()))
        self._last_bad = bad[:, -1].copy()
        self.known_until = start + k * length
        return events

    def _changes(self, start: int, length: int, codes: np.ndarray) -> list:
        """QualityChanged events where a channel's flag code differs from the block before."""
        previous = np.array([_code(f) for f in self.flags])[:, None]
        stacked = np.concatenate((previous, codes), axis=1)
        channels, blocks = np.nonzero(stacked[:, 1:] != stacked[:, :-1])
        order = np.lexsort((channels, blocks))
        events = []
        for ch, b in zip(channels[order].tolist(), blocks[order].tolist(), strict=True):
            flags = _flags(int(codes[ch, b]))
            events.append(
                QualityChanged(at_s=(start + b * length) / self.fs, channel=ch, flags=flags)
            )
        for ch in range(codes.shape[0]):
            self.flags[ch] = _flags(int(codes[ch, -1]))
        return events

    def _mark_bad(self, start: int, end: int) -> None:
        if self.bad and self.bad[-1][1] >= start:
            self.bad[-1][1] = max(self.bad[-1][1], end)
        else:
            self.bad.append([start, end])


_NAMES = (FLAT, CLIPPED, MAINS, INVALID)


def _taking_part(bad: np.ndarray) -> np.ndarray:
    """Scored channels (rows) that take part after blocks (columns) flagged `bad`: the good
    ones, or all of them when none is good."""
    return ~bad | bad.all(axis=0)


def _joined(pending: list) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The pending pieces as one (raw, filtered, invalid-or-None)."""
    if len(pending) == 1:
        return pending[0]
    raw = np.concatenate([r for r, _, _ in pending], axis=-1)
    filtered = np.concatenate([f for _, f, _ in pending], axis=-1)
    if all(i is None for _, _, i in pending):
        return raw, filtered, None
    invalid = np.concatenate(
        [np.zeros(r.shape, dtype=bool) if i is None else i for r, _, i in pending], axis=-1
    )
    return raw, filtered, invalid


def _part(invalid: np.ndarray | None, lo: int, hi: int | None) -> np.ndarray | None:
    return None if invalid is None else invalid[:, lo:hi]


def _flags(code: int) -> tuple[str, ...]:
    return tuple(name for bit, name in enumerate(_NAMES) if code >> bit & 1)


def _code(flags: tuple[str, ...]) -> int:
    return sum(1 << _NAMES.index(name) for name in flags)
