"""The compiled loops behind `signal.compiled`. This module imports Numba: it is imported only
by `compiled.load`, which falls back to the NumPy/SciPy code without it."""

from __future__ import annotations

import numba
import numpy as np


def _jit(*signatures: str):
    """Compiled ahead of the first call for each of `signatures`, without the interpreter
    lock, cached on disk by Numba; no fast-math, so the arithmetic is IEEE's, step for step."""
    return numba.njit(
        list(signatures), nogil=True, cache=True, error_model="numpy", boundscheck=False
    )


def checked_float64(samples: np.ndarray, raw: np.ndarray, low: float, high: float) -> bool:
    """raw (channels, n) float64 = samples (float32 or float64, contiguous rows, which may lie
    apart), one row at a time; True when every sample lies in [low, high] (NaN does not), as
    `Pipeline._held_valid` asks: the conversion and the check in one pass."""
    valid = True
    for c in range(samples.shape[0]):
        valid &= _checked_row(samples[c], raw[c], low, high)
    return valid


@_jit(
    "boolean(float32[::1], float64[::1], float64, float64)",
    "boolean(float64[::1], float64[::1], float64, float64)",
)
def _checked_row(source, out, low, high):  # pragma: no cover - compiled
    valid = True
    for i in range(source.shape[0]):
        v = np.float64(source[i])
        out[i] = v
        valid = valid & (v >= low) & (v <= high)
    return valid


def sos_cascade(sos: np.ndarray, x: np.ndarray, y: np.ndarray, state: np.ndarray) -> None:
    """y (channels, n) float64 = x (same shape, float64) filtered through the sections `sos`
    (sections, 6) with `state` (channels, sections, 2) carried, exactly as
    scipy.signal.sosfilt's loop (transposed direct form II); rows contiguous, x may be y.
    Channels go two at a time: two independent recursions overlap in the processor (about
    0.38 s for 7 sections × 2 channels × 8 h at 1 kHz, against 0.49 s for SciPy's loop, which
    takes one channel after the other); reading x while writing y spares a copy."""
    n_channels = y.shape[0]
    for c in range(0, n_channels - 1, 2):
        pair = np.ascontiguousarray(state[c : c + 2].transpose(1, 0, 2))
        _sos_pair(sos, x[c], x[c + 1], y[c], y[c + 1], pair)
        state[c : c + 2] = pair.transpose(1, 0, 2)
    if n_channels % 2:
        _sos_single(sos, x[n_channels - 1], y[n_channels - 1], state[n_channels - 1])


@_jit(
    "void(float64[:, ::1], float64[::1], float64[::1], float64[::1], float64[::1],"
    " float64[:, :, ::1])"
)
def _sos_pair(sos, first, second, first_out, second_out, state):  # pragma: no cover - compiled
    """Two channels, rows `first` and `second` (n,) into `first_out` and `second_out`; state
    (sections, 2 channels, 2). The channels are constants here: a loop over channels costs
    half again as much."""
    n = first.shape[0]
    for i in range(n):
        a = first[i]
        b = second[i]
        for s in range(sos.shape[0]):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            ya = b0 * a + state[s, 0, 0]
            state[s, 0, 0] = b1 * a - a1 * ya + state[s, 0, 1]
            state[s, 0, 1] = b2 * a - a2 * ya
            yb = b0 * b + state[s, 1, 0]
            state[s, 1, 0] = b1 * b - a1 * yb + state[s, 1, 1]
            state[s, 1, 1] = b2 * b - a2 * yb
            a = ya
            b = yb
        first_out[i] = a
        second_out[i] = b


@_jit("void(float64[:, ::1], float64[::1], float64[::1], float64[:, ::1])")
def _sos_single(sos, x, y, state):  # pragma: no cover - compiled
    """One channel x (n,) into y; state (sections, 2)."""
    for i in range(x.shape[0]):
        a = x[i]
        for s in range(sos.shape[0]):
            ya = sos[s, 0] * a + state[s, 0]
            state[s, 0] = sos[s, 1] * a - sos[s, 4] * ya + state[s, 1]
            state[s, 1] = sos[s, 2] * a - sos[s, 5] * ya
            a = ya
        y[i] = a


def moving_sum_of_squares(
    values: np.ndarray,
    quantized: np.ndarray,
    window: int,
    sums: np.ndarray,
    inverse: float,
    limit: float,
    factor: float,
    root: bool,
    out: np.ndarray,
) -> None:
    """Window sums of quantized squares, as `envelope.ExactMovingSum.process(square=True)`
    (and `MovingRms`'s square root when `root`): quantized (channels, >= window + n) holds the
    last `window` quantized squares ahead and receives this block's after them; sums
    (channels,) is carried; out = sum × factor as float32. One row at a time: values may be a
    view whose rows are apart (ECG removal's output), each row is contiguous."""
    for c in range(values.shape[0]):
        sums[c] = _moving_sum_row(
            values[c], quantized[c], window, sums[c], inverse, limit, factor, root, out[c]
        )


@_jit(
    "int64(float64[::1], int64[::1], int64, int64, float64, float64, float64, boolean,"
    " float32[::1])"
)
def _moving_sum_row(  # pragma: no cover - compiled
    row, steps, window, total, inverse, limit, factor, root, result
):
    """One channel of `moving_sum_of_squares`; returns its sum carried on. The squares are
    quantized in one loop (it vectorizes), the sums run in another."""
    n = row.shape[0]
    ahead = steps[window : window + n]
    for i in range(n):
        q = (row[i] * row[i]) * inverse
        ahead[i] = np.int64(q if q <= limit else limit)
    for i in range(n):
        total += ahead[i] - steps[i]
        mean = np.float32(total * factor)
        result[i] = np.sqrt(mean) if root else mean
    return total


@_jit(
    "void(float32[:, ::1], int64[::1], int64[::1], float64[:, ::1], float64[:, ::1], float64[::1],"
    " float64[::1], boolean[:, ::1], boolean, boolean[::1], boolean[::1], float64[::1])"
)
def calibrated_level(  # pragma: no cover - compiled
    envelope,
    starts,
    ends,
    thresholds,
    releases,
    rest,
    scale,
    taking_part,
    all_take_part,
    on,
    stay,
    level,
):
    """The calibrated detection's per-sample work, as `Pipeline._detection_level` does it in
    NumPy: over the channels taking part, `on` = some envelope (channels, n) at or above its
    threshold, `stay` = at or above its release threshold, `level` = the highest % MVC,
    (envelope − rest) × scale (−inf where none takes part). Stretch k, samples
    [starts[k], ends[k]), has thresholds[k] and releases[k] (channels,). One channel at a
    time, over contiguous samples, the mask apart when every channel takes part: those loops
    compile to vector instructions (7x NumPy's four passes; a loop over the channels inside,
    or the mask tested in every one, runs no faster than NumPy)."""
    for k in range(starts.shape[0]):
        lo = starts[k]
        hi = ends[k]
        over = on[lo:hi]  # 1-D views: loops over them vectorize, 2-D indexing does not
        held = stay[lo:hi]
        highest = level[lo:hi]
        for c in range(envelope.shape[0]):
            row = envelope[c, lo:hi]
            t = thresholds[k, c]
            r = releases[k, c]
            low = rest[c]
            factor = scale[c]
            if all_take_part and c == 0:
                for i in range(hi - lo):
                    e = np.float64(row[i])
                    over[i] = e >= t
                    held[i] = e >= r
                    highest[i] = (e - low) * factor
            elif all_take_part:
                for i in range(hi - lo):
                    e = np.float64(row[i])
                    over[i] = over[i] | (e >= t)
                    held[i] = held[i] | (e >= r)
                    pct = (e - low) * factor
                    highest[i] = pct if pct > highest[i] else highest[i]
            else:
                counted = taking_part[c, lo:hi]
                for i in range(hi - lo):
                    e = np.float64(row[i])
                    pct = (e - low) * factor if counted[i] else -np.inf
                    if c == 0:
                        over[i] = counted[i] & (e >= t)
                        held[i] = counted[i] & (e >= r)
                        highest[i] = pct
                    else:
                        over[i] = over[i] | (counted[i] & (e >= t))
                        held[i] = held[i] | (counted[i] & (e >= r))
                        highest[i] = pct if pct > highest[i] else highest[i]


@_jit(
    "void(float32[:, ::1], int64[::1], int64[::1], float32[:, ::1], boolean[:, ::1], boolean,"
    " float32[::1])"
)
def adaptive_level(  # pragma: no cover - compiled
    envelope, starts, ends, inverses, taking_part, all_take_part, level
):
    """The adaptive detection level, as `Pipeline._detection_level` computes it in NumPy: the
    highest envelope × 1/background (float32) over the channels taking part (0 where none
    does). Stretch k, samples [starts[k], ends[k]), has inverses[k] (channels,)."""
    for k in range(starts.shape[0]):
        lo = starts[k]
        hi = ends[k]
        highest = level[lo:hi]
        for c in range(envelope.shape[0]):
            row = envelope[c, lo:hi]
            inverse = inverses[k, c]
            if all_take_part and c == 0:
                for i in range(hi - lo):
                    highest[i] = row[i] * inverse
            elif all_take_part:
                for i in range(hi - lo):
                    ratio = row[i] * inverse
                    highest[i] = ratio if ratio > highest[i] else highest[i]
            else:
                counted = taking_part[c, lo:hi]
                for i in range(hi - lo):
                    ratio = row[i] * inverse if counted[i] else np.float32(0.0)
                    if c == 0:
                        highest[i] = ratio
                    else:
                        highest[i] = ratio if ratio > highest[i] else highest[i]


@_jit("void(float64[:, ::1], float64[::1])")
def summed_squares(x, out):  # pragma: no cover - compiled
    """out = the sum over channels of x² (channels, n), channel after channel, as
    `ecg._summed_squares` adds them."""
    first = x[0]
    for i in range(out.shape[0]):
        out[i] = first[i] * first[i]
    for c in range(1, x.shape[0]):
        row = x[c]
        for i in range(out.shape[0]):
            out[i] = out[i] + row[i] * row[i]


@_jit(
    "int64(float64[::1], int64, int64[::1], int64[::1], float64[::1], float64[::1],"
    " boolean[::1], int64, float64[::1], int64[::1], int64[::1])"
)
def find_beats(  # pragma: no cover - compiled
    d, start, state, settings, numbers, floors, has_floor, floor_first, peaks, onsets, r_peaks
):
    """`ecg.EcgCanceller._find_beats` over d[i - start] (the summed squares of samples
    [start, start + len(d))), decision for decision: the search for the next onset block by
    block (the first d above the block's threshold, none in a block holding a NaN, whose
    largest d is NaN there), the R peak as the first largest d of the confirmation (the
    first NaN, as `np.argmax`), the last R peaks and their median.

    state: [scan, candidate (-1: none), peaks kept, last R peak], carried in and out.
    settings: [block, confirm, refractory, beats averaged]; numbers: [min_snr, samples after
    which the peaks are forgotten, typical R peak (out too)]. floors[b - floor_first] is
    block b's floor where has_floor. peaks: the last R peaks' d (beats averaged). Each beat
    found goes to onsets and r_peaks; returns how many."""
    scan, candidate, kept, last_r = state[0], state[1], state[2], state[3]
    block, confirm, refractory, averaged = settings[0], settings[1], settings[2], settings[3]
    min_snr, lost, typical = numbers[0], numbers[1], numbers[2]
    end = start + d.shape[0]
    found = 0
    while True:
        if candidate < 0:
            pos = scan
            while pos < end and candidate < 0:
                b = pos // block
                upto = min(end, (b + 1) * block)
                f = b - 1 - floor_first
                if 0 <= f < floors.shape[0] and has_floor[f]:
                    threshold = min_snr * floors[f]
                    if kept > 0 and np.float64(b * block - last_r) > lost:
                        kept = 0
                        typical = 0.0
                    if kept > 0:
                        third = typical / 3.0
                        if third > threshold:
                            threshold = third
                    for j in range(pos - start, upto - start):
                        if d[j] > threshold:
                            candidate = start + j
                            break
                    if candidate >= 0:  # a NaN in the block makes its largest d NaN: skipped
                        for j in range(max(b * block, start) - start, upto - start):
                            if d[j] != d[j]:
                                candidate = -1
                                break
                if candidate < 0:
                    pos = upto
            if candidate < 0:
                scan = max(scan, end)
                break
            scan = candidate
        onset = candidate
        if onset + confirm > end:
            break
        lo = onset - start
        best = lo
        largest = d[lo]
        if largest == largest:
            for j in range(lo + 1, lo + confirm):
                v = d[j]
                if v != v:
                    best = j
                    break
                if v > largest:
                    best = j
                    largest = v
        r = start + best
        if kept < averaged:
            kept += 1
        else:
            for k in range(averaged - 1):
                peaks[k] = peaks[k + 1]
        peaks[kept - 1] = d[best]
        ordered = np.sort(peaks[:kept])
        middle = kept // 2
        typical = ordered[middle] if kept % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0
        onsets[found] = onset
        r_peaks[found] = r
        found += 1
        last_r = r
        candidate = -1
        scan = max(onset + confirm, r + refractory)
    state[0], state[1], state[2], state[3] = scan, candidate, kept, last_r
    numbers[2] = typical
    return found


@_jit("float64(float64[::1], int64, int64)")
def _pairwise_sum(values, lo, n):  # pragma: no cover - compiled
    """The sum of values[lo : lo + n] in NumPy's own order for a contiguous float64 sum
    (`np.add.reduce`: pairwise halves down to blocks of at most 128, each summed in eight
    interleaved partial sums), so that it gives NumPy's number to the last bit."""
    if n < 8:
        total = -0.0
        for i in range(n):
            total += values[lo + i]
        return total
    if n <= 128:
        r0, r1, r2, r3 = values[lo], values[lo + 1], values[lo + 2], values[lo + 3]
        r4, r5, r6, r7 = values[lo + 4], values[lo + 5], values[lo + 6], values[lo + 7]
        i = 8
        whole = n - n % 8
        while i < whole:
            r0 += values[lo + i]
            r1 += values[lo + i + 1]
            r2 += values[lo + i + 2]
            r3 += values[lo + i + 3]
            r4 += values[lo + i + 4]
            r5 += values[lo + i + 5]
            r6 += values[lo + i + 6]
            r7 += values[lo + i + 7]
            i += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            total += values[lo + i]
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values, lo, half) + _pairwise_sum(values, lo + half, n - half)


def pairwise_sum(values: np.ndarray) -> float:
    """NumPy's sum of a contiguous float64 vector, the compiled way (for the tests)."""
    return _pairwise_sum(np.ascontiguousarray(values, dtype=np.float64), 0, values.shape[0])


@_jit(
    "int64(float64[:, ::1], int64[::1], int64[::1], float64[:, :, ::1], int64, int64,"
    " float64[:, :, ::1])"
)
def subtract_beats(  # pragma: no cover - compiled
    buffer, starts, seen, history, judge, known, windows
):
    """`ecg.EcgCanceller._subtract_run` for beats taken one after another, with the
    arithmetic of `ecg._templates` step for step: beat k's window is buffer[:, starts[k] :
    starts[k] + width] (windows apart, whole in the buffer); its template is the mean of the
    `averaged` windows before it (history (averaged, channels, width) as they came, oldest
    first, then the beats that fitted here), scaled and shifted by least squares over the
    first seen[k] of its `known` first samples; a beat looks like its template where every
    channel fits (or the channel `judge`, >= 0). Each beat that does is subtracted and its
    window as it came goes to windows[k]; the loop stops at the first that does not.
    Returns how many beats fitted."""
    averaged, n_channels, width = history.shape
    m = starts.shape[0]
    past = np.empty((averaged + m, n_channels, width))
    past[:averaged] = history
    means = np.empty((n_channels, width))
    slopes = np.empty((n_channels, width))
    a = np.empty(known)
    b = np.empty(known)
    product = np.empty(known)
    scales = np.empty(n_channels)
    shifts = np.empty(n_channels)
    for k in range(m):
        w0 = starts[k]
        looks_like = True
        for c in range(n_channels):
            mean = means[c]
            slope = slopes[c]
            for i in range(width):
                mean[i] = past[k, c, i]
            for j in range(1, averaged):
                for i in range(width):
                    mean[i] = mean[i] + past[k + j, c, i]
            for i in range(width):
                mean[i] = mean[i] / averaged
            for i in range(1, width - 1):
                slope[i] = (mean[i + 1] - mean[i - 1]) / 2.0
            slope[0] = mean[1] - mean[0]
            slope[width - 1] = mean[width - 1] - mean[width - 2]
            for i in range(known):
                counted = 1.0 if i < seen[k] else 0.0
                a[i] = mean[i] * counted
                b[i] = slope[i] * counted
            for i in range(known):
                product[i] = a[i] * a[i]
            aa = _pairwise_sum(product, 0, known)
            for i in range(known):
                product[i] = a[i] * b[i]
            ab = _pairwise_sum(product, 0, known)
            for i in range(known):
                product[i] = b[i] * b[i]
            bb = _pairwise_sum(product, 0, known)
            for i in range(known):
                product[i] = buffer[c, w0 + i] * a[i]
            ya = _pairwise_sum(product, 0, known)
            for i in range(known):
                product[i] = buffer[c, w0 + i] * b[i]
            yb = _pairwise_sum(product, 0, known)
            det = aa * bb - ab * ab
            if det > 0:
                scale = (ya * bb - yb * ab) / det
                shift = (aa * yb - ab * ya) / det
            else:
                scale = 1.0
                shift = 0.0
            fit = scale > 0.5 and scale < 2.0
            if fit:
                low = -scale  # np.maximum, then np.minimum: NaN passes through
                held = shift if (shift >= low or shift != shift) else low
                shifts[c] = held if (held <= scale or held != held) else scale
                scales[c] = scale
            else:
                scales[c] = 0.0
                shifts[c] = 0.0
            if (judge < 0 or c == judge) and not fit:
                looks_like = False
        if not looks_like:
            return k
        for c in range(n_channels):
            for i in range(width):
                windows[k, c, i] = buffer[c, w0 + i]
                past[averaged + k, c, i] = buffer[c, w0 + i]
        for c in range(n_channels):
            mean = means[c]
            slope = slopes[c]
            for i in range(width):
                buffer[c, w0 + i] = buffer[c, w0 + i] - (scales[c] * mean[i] + shifts[c] * slope[i])
    return m


@_jit("float64(float64[::1], int64)")
def _median_of_few(values, n):  # pragma: no cover - compiled
    """`ecg.median_of_few` of values[:n] (sorted in place): the middle one, or the mean of the
    two middle ones."""
    for i in range(1, n):  # insertion sort: n is a handful
        v = values[i]
        j = i - 1
        while j >= 0 and values[j] > v:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = v
    middle = n // 2
    if n % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2.0


@_jit("int64(float64[::1], float64[::1], int64[::1], int64, float64, float64, int64[::1])")
def accepted_intervals(  # pragma: no cover - compiled
    r, rr_all, candidates, n_ref, span, max_change, accepted
):
    """`heart_rate.heart_rate`'s loop over the candidate intervals `candidates` (indices into
    rr_all, ascending; interval k ends at beat time r[k + 1], s), decision for decision:
    writes the indices of the accepted intervals, in the order they are accepted, to
    `accepted` and returns how many. `recent` (the last n_ref accepted) and `run` (the
    candidates awaiting a run) are rings, as the Python deques with maxlen are."""
    recent_t = np.empty(n_ref)
    recent_rr = np.empty(n_ref)
    recent_first = 0
    recent_count = 0
    run_k = np.empty(n_ref, dtype=np.int64)
    run_first = 0
    run_count = 0
    work = np.empty(n_ref)
    count = 0
    for j in range(candidates.shape[0]):
        k = candidates[j]
        rr = rr_all[k]
        t = r[k + 1]
        if recent_count == n_ref and t - recent_t[recent_first] <= span:
            for i in range(n_ref):
                work[i] = recent_rr[(recent_first + i) % n_ref]
            reference = _median_of_few(work, n_ref)
            if abs(rr - reference) > max_change * reference:
                continue
            taken_first = j  # the one interval, from candidates[j]
            taken = 1
            from_run = False
        else:
            if run_count and run_k[(run_first + run_count - 1) % n_ref] != k - 1:
                run_count = 0
            if run_count == n_ref:  # full: the oldest drops out
                run_first = (run_first + 1) % n_ref
                run_count -= 1
            run_k[(run_first + run_count) % n_ref] = k
            run_count += 1
            if run_count < n_ref:
                continue
            for i in range(n_ref):
                work[i] = rr_all[run_k[(run_first + i) % n_ref]]
            middle = _median_of_few(work, n_ref)
            consistent = True
            for i in range(n_ref):
                if abs(rr_all[run_k[(run_first + i) % n_ref]] - middle) > max_change * middle:
                    consistent = False
            if not consistent:
                continue
            taken_first = 0
            taken = n_ref
            from_run = True
        for i in range(taken):
            kk = run_k[(run_first + i) % n_ref] if from_run else candidates[taken_first]
            if recent_count == n_ref:
                recent_first = (recent_first + 1) % n_ref
                recent_count -= 1
            slot = (recent_first + recent_count) % n_ref
            recent_t[slot] = r[kk + 1]
            recent_rr[slot] = rr_all[kk]
            recent_count += 1
            accepted[count] = kk
            count += 1
        if from_run:
            run_count = 0
    return count
