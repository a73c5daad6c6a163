"""ECG in the masseter leads, found and taken out: QRS detection and template subtraction.

The heart's R waves reach electrodes on the jaw at up to ~150 µV, far above a resting masseter
(a few µV). After the band-pass each beat is a burst of some 30-60 ms that the RMS envelope
smears to ~0.15 s: a train of them raises the adaptive background and strings phasic
"episodes" together. The standard remedy for trunk and jaw sEMG is template subtraction: find
each QRS complex, average the last beats into a template per channel, and subtract it at
every beat.

Detection, on d = Σ over channels of the filtered signal squared (or, with a channel wired
as ECG, `detect_on`, that channel's alone: its beats stand far above its noise and no clench
hides them, and the masseter channels are cleaned at those beats):
- the noise floor of each `block_s` block is the median of d over the block before (the
  median ignores the few beats in it; every 4th sample is enough for it);
- a beat starts at the first sample where d exceeds both `min_snr` × that floor and a third
  of the typical R peak (median of the last beats), at least `refractory_s` after the last
  R peak; its R peak is the largest d in the `confirm_s` from there.
During a clench the floor rises with the EMG and detection pauses, which is harmless: the
ECG is small against a clench.

Subtraction: the template of each channel is the mean of the last `beats_averaged` beats
over [R − `before_s`, R + `after_s`]; from the third beat on (the second, with a template
of one beat) it is subtracted at every beat.
A beat is known only `confirm_s` after its onset, so its samples from `before_s` before the
R peak must still be held: the canceller hands samples on `before_s + confirm_s` late (70 ms
by default) and `flush` gives the rest at the end of a stream or before a long gap.

Each R peak's beat either fitted the template (`matched`) or did not (a clench's onset taken
for a QRS): `signal.heart_rate` counts only the beats that did, and only they shape the
template. After `beats_averaged` misfits in a row (a template learnt from the stream's
settling filters, or from a clench) the template is learnt again from the next beats.

Every decision is taken at an exact sample index from samples up to it, so any chunking
gives the same output, the same R peaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bruxwatch.signal import compiled
from bruxwatch.signal.config import EcgConfig
from bruxwatch.signal.room import widened

MIN_BEATS = 3
"""Beats averaged before a template is subtracted at all (fewer when the template holds
fewer: `beats_averaged`)."""
LOST_S = 2.0
"""No beat for this long (s): the typical R peak is forgotten and learnt again."""
RUN_BEATS = 32
"""Most beats handled at once (`EcgCanceller._subtract_run`): a beat that does not fit the
template makes the work done for the beats after it in the run go to waste."""
_NO_FLOOR = -1.0
"""Stands for a block without a floor yet (a floor, a median of squares, is never below 0)."""
FLOOR_STEP = 4
"""A block's floor is the median of every `FLOOR_STEP`-th sample of it (counted from the
block's start): plenty for a floor, and a quarter of the work."""


@dataclass
class _Beat:
    """A beat whose window is still passing: R at `r`, `done` samples of its window seen
    (`pieces`, as they came; `whole` unless the stream started inside it), and the
    `template` subtracted from them (None: too few beats yet, or it did not fit: not
    `matched`), the mean of the beats before it, taken when it is first handled
    (`started`)."""

    r: int
    onset: int
    template: np.ndarray | None = None
    matched: bool = True
    started: bool = False
    done: int = 0
    pieces: list[np.ndarray] = field(default_factory=list)
    whole: bool = True


class EcgCanceller:
    """Streaming QRS detection and template subtraction over (channels, n) filtered EMG."""

    def __init__(
        self,
        fs: float,
        n_channels: int,
        config: EcgConfig | None = None,
        detect_on: int | None = None,
    ) -> None:
        self.fs = float(fs)
        self.detect_on = detect_on
        self.config = config = config or EcgConfig()
        self.before = max(1, round(config.before_s * fs))
        self.after = max(1, round(config.after_s * fs))
        self.confirm = max(1, round(config.confirm_s * fs))
        self.refractory = max(self.confirm, round(config.refractory_s * fs))
        self.delay = self.before + self.confirm
        self.width = self.before + self.after + 1  # samples of a beat's window
        self.known = min(self.width, self.delay)  # of them, the most a confirmation sees
        self.block = max(2, round(config.block_s * fs))
        self.n_channels = n_channels
        self.r_peaks: list[int] = []  # sample indices of every R peak found
        self.matched: list[bool] = []  # each R peak's beat looked like the template
        self._peaks: list[float] = []  # d at the last R peaks
        self._typical_peak = 0.0  # their median (0: no peaks)
        self._windows: list[np.ndarray] = []  # the last beats' windows (channels, width)
        self._beats: list[_Beat] = []  # beats whose window is not all subtracted yet
        self._misfits = 0  # beats in a row that did not fit the template
        self._held = np.zeros((n_channels, 0))  # the last `delay` samples, not handed on
        self._start = 0  # index of self._held[:, 0]
        self.reset()

    def reset(self) -> None:
        """The stream broke (a long gap): forget what was under way, keep the templates."""
        self._beats = []
        self._held = np.zeros((self.n_channels, 0))
        self._floors: dict[int, float] = {}  # block -> median d over it
        self._block_parts: list[np.ndarray] = []
        self._block_at: int | None = None  # block being collected
        self._scan: int | None = None  # first index not yet searched for a beat
        self._candidate: int | None = None  # onset of a beat waiting for confirmation
        self._block_max: tuple[int, list[float]] = (0, [])  # (first block, its max d, ...)

    def process(self, y: np.ndarray, first_index: int, room: int = 0) -> tuple[np.ndarray, int]:
        """Feed filtered samples y (channels, n) from `first_index` on; returns the cleaned
        samples that are ready and the index of the first of them (`delay` samples late).

        room: y is the tail of a wider array with this many columns before it, free to be
        written, and y may be written too: when as many samples are held (as from the second
        chunk on), they go there, and the wider array is the buffer (no joined copy).
        """
        held = self._held.shape[1]
        if held == 0:
            self._start = first_index
        if self._scan is None:
            self._scan = first_index
        if room and held == room:
            buffer = widened(y, held)
            buffer[:, :held] = self._held
        elif held:
            buffer = np.concatenate((self._held, y), axis=1)
        else:
            buffer = y.copy()
        end = self._start + buffer.shape[1]
        lead = self.detect_on
        rows = buffer if lead is None else buffer[lead : lead + 1]
        fast = compiled.kernels_for(buffer.shape[1])
        if fast is None:
            d = _summed_squares(rows)  # d[i - start]
        else:
            d = np.empty(buffer.shape[1])
            fast.summed_squares(rows, d)
        self._collect_floors(d[first_index - self._start :], first_index)
        if fast is None:
            self._block_max = self._largest_of_blocks(d, end)
            self._find_beats(buffer, d, end)
            self._subtract(buffer, end)
        else:
            onsets, r_peaks = self._find_beats_compiled(fast, d, end)
            self._subtract_compiled(fast, buffer, end, onsets, r_peaks)
        ready = max(0, buffer.shape[1] - self.delay)
        out, self._held = buffer[:, :ready], buffer[:, ready:]
        start, self._start = self._start, self._start + ready
        return out, start

    def flush(self) -> tuple[np.ndarray, int]:
        """Everything held (end of stream, or before a long gap), and its first index."""
        out, start = self._held, self._start
        self._start += out.shape[1]
        self._held = np.zeros((self.n_channels, 0))
        self._beats = []
        return out, start

    @property
    def holding(self) -> int:
        """Samples received but not yet handed on."""
        return self._held.shape[1]

    # ---------------------------------------------------------------------------- private
    def _collect_floors(self, d: np.ndarray, first: int) -> None:
        """Median d of each whole block (aligned to sample indices) among d[first:]; the
        blocks wholly inside d in one vectorized median."""
        L, n = self.block, d.shape[0]
        head = min(n, (-first) % L)  # samples before the first block boundary in d
        if head:
            self._add_to_block(d[:head], first)
        whole = (n - head) // L
        if whole:
            blocks = d[head : head + whole * L].reshape(whole, L)
            medians = median_of_rows(blocks[:, ::FLOOR_STEP])
            first_block = (first + head) // L
            self._block_parts, self._block_at = [], None
            for k, value in enumerate(medians.tolist()):
                self._floors[first_block + k] = value
        if head + whole * L < n:
            self._add_to_block(d[head + whole * L :], first + head + whole * L)

    def _add_to_block(self, part: np.ndarray, start: int) -> None:
        """Samples [start, start + len(part)) of one block; its median once it is complete
        (a block cut by a gap counts if it has half its samples)."""
        block = start // self.block
        if self._block_at != block:
            self._block_parts, self._block_at = [], block
        self._block_parts.append(part)
        if start + part.shape[0] == (block + 1) * self.block:
            values = np.concatenate(self._block_parts)
            if values.shape[0] >= self.block // 2:
                self._floors[block] = float(median_of_rows(values[None, ::FLOOR_STEP])[0])
            self._block_parts, self._block_at = [], None

    def _threshold(self, block: int) -> float | None:
        """d a beat must exceed in `block`: `min_snr` × the floor of the block before, and a
        third of the typical R peak, unless no beat came for `LOST_S` (then the peaks are
        forgotten: a run of EMG taken for beats cannot lock the detector out)."""
        floor = self._floors.get(block - 1)
        if floor is None:
            return None
        threshold = self.config.min_snr * floor
        if self._peaks and block * self.block - self.r_peaks[-1] > LOST_S * self.fs:
            self._peaks, self._typical_peak = [], 0.0
        if self._peaks:
            threshold = max(threshold, self._typical_peak / 3.0)
        return threshold

    def _largest_of_blocks(self, d: np.ndarray, end: int) -> tuple[int, list[float]]:
        """The first block in the buffer and the largest d of each block in it (the search
        skips blocks below their threshold)."""
        L = self.block
        first_block = self._start // L
        edges = np.arange(first_block, (end - 1) // L + 1) * L - self._start
        if not edges.size:
            return self._block_max
        edges[0] = 0
        return first_block, np.maximum.reduceat(d, edges).tolist()

    def _find_beats_compiled(self, fast, d: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray]:
        """`_find_beats` in one compiled loop (`compiled_loops.find_beats`): the same
        decisions, so the same beats. Returns the onsets and R peaks of the beats found, for
        `_subtract_compiled` (their R peaks are in `r_peaks` already)."""
        assert self._scan is not None
        L, averaged = self.block, self.config.beats_averaged
        first_floor = self._scan // L - 1
        last_floor = (end - 1) // L - 1
        get = self._floors.get
        floors = np.array(
            [get(b, _NO_FLOOR) for b in range(first_floor, last_floor + 1)], dtype=np.float64
        )
        has_floor = floors != _NO_FLOOR  # a NaN floor is a floor (no beat is above it)
        peaks = np.zeros(averaged)
        peaks[: len(self._peaks)] = self._peaks
        state = np.array(
            [
                self._scan,
                -1 if self._candidate is None else self._candidate,
                len(self._peaks),
                self.r_peaks[-1] if self.r_peaks else -1,
            ],
            dtype=np.int64,
        )
        settings = np.array([L, self.confirm, self.refractory, averaged], dtype=np.int64)
        numbers = np.array([self.config.min_snr, LOST_S * self.fs, self._typical_peak])
        most = d.shape[0] // self.confirm + 1
        onsets, r_peaks = np.empty(most, dtype=np.int64), np.empty(most, dtype=np.int64)
        found = fast.find_beats(
            d,
            self._start,
            state,
            settings,
            numbers,
            floors,
            has_floor,
            first_floor,
            peaks,
            onsets,
            r_peaks,
        )
        self.r_peaks += r_peaks[:found].tolist()
        scan, candidate, kept, _ = state.tolist()
        self._scan = scan
        self._candidate = None if candidate < 0 else candidate
        self._peaks = peaks[:kept].tolist()
        self._typical_peak = float(numbers[2])
        self._forget_floors()
        return onsets[:found], r_peaks[:found]

    def _find_beats(self, buffer: np.ndarray, d: np.ndarray, end: int) -> None:
        """Detect every beat whose confirmation window ends by `end`."""
        assert self._scan is not None
        while True:
            if self._candidate is None:
                self._candidate = self._next_onset(d, end)
                if self._candidate is None:
                    return
            onset = self._candidate
            if onset + self.confirm > end:
                return
            lo = onset - self._start
            r = onset + int(np.argmax(d[lo : lo + self.confirm]))
            self.r_peaks.append(r)
            self._peaks = [*self._peaks, float(d[r - self._start])]
            self._peaks = self._peaks[-self.config.beats_averaged :]
            self._typical_peak = median_of_few(self._peaks)
            self._beats.append(_Beat(r, onset))
            self._candidate = None
            self._scan = max(onset + self.confirm, r + self.refractory)
            self._forget_floors()

    def _forget_floors(self) -> None:
        """Drop the floors of blocks the search has left behind."""
        assert self._scan is not None
        oldest = self._scan // self.block - 1
        floors = self._floors  # blocks come in ascending order, so the oldest are first
        while floors and (first := next(iter(floors))) < oldest:
            del floors[first]

    def _next_onset(self, d: np.ndarray, end: int) -> int | None:
        """The first index from `_scan` on where d is above its block's threshold."""
        assert self._scan is not None
        pos = self._scan
        while pos < end:
            block = pos // self.block
            upto = min(end, (block + 1) * self.block)
            threshold = self._threshold(block)
            first_block, maxima = self._block_max
            if threshold is not None and maxima[block - first_block] > threshold:
                above = d[pos - self._start : upto - self._start] > threshold
                first = int(above.argmax())  # the first True, if there is one
                if above[first]:
                    self._scan = pos + first
                    return self._scan
            pos = upto
        self._scan = max(self._scan, end)
        self._forget_floors()
        return None

    def _subtract(self, buffer: np.ndarray, end: int) -> None:
        """Subtract each beat's template from the samples of its window seen so far, keeping
        those samples as they came for the template of the beats to come.

        Beats are taken in order. Once the template holds its full `beats_averaged` beats, a
        run of beats whose windows lie whole in `buffer` and do not overlap is handled at once
        (`_subtract_run`); the others (a stream's first beats, a window cut by the end of the
        buffer) one by one. Both take the same arithmetic (`_templates`), so the output does
        not depend on which way a beat went, and so not on the chunking.
        """
        beats, still, k = self._beats, [], 0
        full = self.config.beats_averaged
        while k < len(beats):
            run = self._run_length(beats, k, end) if len(self._windows) == full else 0
            if run:
                k += self._subtract_run(buffer, beats[k : k + run])
                continue
            beat = beats[k]
            if not self._subtract_one(buffer, end, beat):
                still.append(beat)
            k += 1
        self._beats = still

    def _run_length(self, beats: list[_Beat], k: int, end: int) -> int:
        """How many beats from beats[k] on (at most `RUN_BEATS`) are not started yet, have
        their whole window in the buffer (up to `end`) and do not overlap the next one's."""
        width = self.width
        run, last = 0, None
        for beat in beats[k:]:
            w0 = beat.r - self.before
            if beat.started or w0 < self._start or w0 + width > end:
                break
            if last is not None and w0 < last + width:
                break
            run, last = run + 1, w0
            if run == RUN_BEATS:
                break
        return run

    def _subtract_run(self, buffer: np.ndarray, run: list[_Beat]) -> int:
        """Handle `run` (see `_run_length`) on the guess that every beat fits the template:
        each one's template is the mean of the `beats_averaged` windows before it, the run's
        own included. Up to the first beat that does not fit, the guess held; that beat is
        handled too, and the rest of the run is left for the next call. Returns how many
        beats were handled."""
        width, m = self.width, len(run)
        columns = np.array([b.r - self.before - self._start for b in run])[:, None]
        columns = columns + np.arange(width)  # (m, width) buffer indices, disjoint rows
        windows = buffer[:, columns].transpose(1, 0, 2)  # as they came (m, channels, width)
        history = np.concatenate((np.array(self._windows), windows[: m - 1]))
        seen = [b.onset + self.confirm - (b.r - self.before) for b in run]
        templates, fits = _templates(
            history, len(self._windows), windows[..., : self.known], seen, self.detect_on
        )
        fitted = fits.index(False) if False in fits else m  # the beats before the misfit
        if fitted:
            buffer[:, columns[:fitted]] -= templates[:fitted].transpose(1, 0, 2)
            self._windows = [*self._windows, *windows[:fitted]][-self.config.beats_averaged :]
        for k, beat in enumerate(run[: fitted + 1]):  # the misfit, if any, keeps its samples
            self._start_beat(beat, k < fitted)
            beat.done = width
        return min(m, fitted + 1)

    def _subtract_compiled(
        self, fast, buffer: np.ndarray, end: int, onsets: np.ndarray, r_peaks: np.ndarray
    ) -> None:
        """`_subtract` with the compiled loops, for the beats still under way (`_beats`, all
        started) and then those just found (their onsets and R peaks, in order).

        Once the template holds its full `beats_averaged` beats, each run of new beats whose
        windows lie whole in `buffer` and apart goes through `compiled_loops.subtract_beats`
        beat after beat, with `_templates`'s arithmetic, up to the first beat that does not
        fit (which keeps its samples); the others are handled one by one, as objects. The
        same output and decisions as `_subtract`."""
        still = [beat for beat in self._beats if not self._subtract_one(buffer, end, beat)]
        full, width = self.config.beats_averaged, self.width
        starts = r_peaks - self.before  # each window's first sample index
        whole = (starts >= self._start) & (starts + width <= end)
        apart = np.ones(starts.shape[0], dtype=bool)
        apart[1:] = starts[1:] >= starts[:-1] + width  # from the window before it
        k, m = 0, starts.shape[0]
        while k < m:
            run = 0
            if len(self._windows) == full and whole[k]:
                more = whole[k + 1 :] & apart[k + 1 :]
                run = 1 + (int(np.argmin(more)) if not more.all() else more.shape[0])
            if not run:
                beat = _Beat(int(r_peaks[k]), int(onsets[k]))
                if not self._subtract_one(buffer, end, beat):
                    still.append(beat)
                k += 1
                continue
            windows = np.empty((run, self.n_channels, width))
            fitted = fast.subtract_beats(
                buffer,
                starts[k : k + run] - self._start,
                onsets[k : k + run] + self.confirm - starts[k : k + run],
                np.array(self._windows),
                -1 if self.detect_on is None else self.detect_on,
                self.known,
                windows,
            )
            if fitted:
                self._windows = [*self._windows, *windows[:fitted]][-full:]
                self.matched += [True] * fitted
                self._misfits = 0
            if fitted < run:  # the misfit keeps its samples
                self._start_beat(_Beat(int(r_peaks[k + fitted]), int(onsets[k + fitted])), False)
            k += min(run, fitted + 1)
        self._beats = still

    def _start_beat(self, beat: _Beat, looks_like: bool) -> None:
        """Record whether `beat` fitted the template; learn the template again after
        `beats_averaged` misfits in a row."""
        beat.started = True
        beat.matched = looks_like
        self.matched.append(looks_like)
        self._misfits = 0 if looks_like else self._misfits + 1
        if self._misfits >= self.config.beats_averaged:  # a template gone wrong
            self._windows, self._misfits = [], 0

    def _subtract_one(self, buffer: np.ndarray, end: int, beat: _Beat) -> bool:
        """Handle one beat with the samples of its window in the buffer; True once its whole
        window has passed."""
        width = self.width
        w0 = beat.r - self.before  # its window starts at buffer index w0 - self._start
        at = w0 - self._start
        if not beat.started:  # the beats before it are all through: their mean
            looks_like = True  # no template to tell yet: nothing against it
            if len(self._windows) >= min(MIN_BEATS, self.config.beats_averaged) and at >= 0:
                seen = beat.onset + self.confirm - w0  # what its confirmation had seen
                counted = min(seen, self.known)
                start = np.zeros((1, self.n_channels, self.known))
                start[0, :, :counted] = buffer[:, at : at + counted]
                history = np.array(self._windows)
                templates, fits = _templates(history, len(history), start, [seen], self.detect_on)
                looks_like = fits[0]
                beat.template = templates[0] if looks_like else None
            self._start_beat(beat, looks_like)
        lo, seen = beat.done, min(width, end - w0)
        if lo == 0 and at < 0:  # the stream started inside the window
            beat.whole = False
            lo = -at
        if seen > lo:
            piece = buffer[:, at + lo : at + seen]
            beat.pieces.append(piece.copy())
            if beat.template is not None:
                piece -= beat.template[:, lo:seen]
        beat.done = max(lo, seen)
        if seen < width:
            return False
        if beat.whole and beat.matched:  # a clench's onset must not shape the template
            pieces = beat.pieces  # copies already: one needs no joining
            window = pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)
            self._windows = [*self._windows, window][-self.config.beats_averaged :]
        return True


def _templates(
    history: np.ndarray,
    averaged: int,
    beats: np.ndarray,
    seen: list[int],
    judge: int | None = None,
) -> tuple[np.ndarray, list[bool]]:
    """The templates of m beats in a row, and whether each beat looks like its template.

    history: the windows (channels, width) before the first beat, then the windows of the
        beats but the last: beat k's template comes from the mean of history[k : k +
        averaged], its `averaged` windows before it (the same sums, in the same order, as
        numpy's mean of them).
    beats: (m, channels, K) the start of each beat's window as it came, K = the most that
        confirmation can have seen (`before_s + confirm_s`, at most the window); seen[k] <= K
        of them were seen when beat k was confirmed, and only those count (the sums run over
        all K, zero past seen[k], so that every beat takes the same arithmetic).
    The mean is scaled and shifted by a fraction of a sample to fit what was seen, by least
    squares on the mean and its derivative (a shift of s samples: mean - s × mean'). A beat
    does not look like its mean (a clench's onset, not a QRS) where that fails on any
    channel, or with `judge` (the channel wired as ECG) on that channel, the others then
    getting no template (zeros) where they do not fit (a clench under way there).
    """
    m, known = len(seen), beats.shape[-1]
    mean = history[:m].copy()
    for k in range(1, averaged):
        mean += history[k : k + m]
    mean /= averaged
    slope = _gradient(mean)
    counted = (np.arange(known) < np.array(seen)[:, None])[:, None, :]  # (m, 1, K)
    a, b = mean[..., :known] * counted, slope[..., :known] * counted
    aa, ab, bb = (a * a).sum(-1), (a * b).sum(-1), (b * b).sum(-1)  # (m, channels)
    ya, yb = (beats * a).sum(-1), (beats * b).sum(-1)
    det = aa * bb - ab * ab
    solvable = det > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(solvable, (ya * bb - yb * ab) / det, 1.0)
        shift = np.where(solvable, (aa * yb - ab * ya) / det, 0.0)
    fit = (scale > 0.5) & (scale < 2.0)
    scales = np.where(fit, scale, 0.0)
    shifts = np.where(fit, np.minimum(np.maximum(shift, -scale), scale), 0.0)  # <= a sample
    templates = scales[..., None] * mean + shifts[..., None] * slope
    looks_like = fit.all(axis=1) if judge is None else fit[:, judge]
    return templates, looks_like.tolist()


def _summed_squares(x: np.ndarray) -> np.ndarray:
    """The sum over channels of x² (channels, n), channel after channel: the numbers
    `einsum("cn,cn->n", x, x)` gives, but in ufunc loops, which let other threads run."""
    total = np.multiply(x[0], x[0])
    for row in x[1:]:
        total += row * row
    return total


def _gradient(mean: np.ndarray) -> np.ndarray:
    """`np.gradient(mean, axis=-1)`, the same numbers, without its general-case overhead:
    central differences inside, one-sided at the two ends."""
    slope = np.empty_like(mean)
    np.subtract(mean[..., 2:], mean[..., :-2], out=slope[..., 1:-1])
    slope[..., 1:-1] /= 2.0
    np.subtract(mean[..., 1], mean[..., 0], out=slope[..., 0])
    np.subtract(mean[..., -1], mean[..., -2], out=slope[..., -1])
    return slope


def median_of_rows(rows: np.ndarray) -> np.ndarray:
    """`np.median(rows, axis=-1)` of rows without NaN, the same numbers, from one partition
    (numpy's also partitions to find NaNs, which costs it five times as much here)."""
    half = rows.shape[-1] // 2
    if rows.shape[-1] % 2:
        return np.partition(rows, half, axis=-1)[..., half]
    middle = np.partition(rows, (half - 1, half), axis=-1)
    return (middle[..., half - 1] + middle[..., half]) / 2.0


def median_of_few(values: list[float]) -> float:
    """`np.median` of a few floats (the last beats' R peaks, RR intervals), the same number,
    in Python: numpy's call would cost more than the sorting."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0
