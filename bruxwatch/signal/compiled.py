"""Optional compiled loops (Numba) for the per-sample stages whose cost is arithmetic, not
Python: the float64 copy of a block with its check against the valid range, the filter's SOS
cascade, ECG removal's QRS search and template subtraction beat by beat, the envelope's exact
moving sum of squares, the detection level (calibrated: comparisons and % MVC; adaptive:
ratio to the background), and the heart rate's rules for the RR intervals.

Each loop does the same floating-point operations in the same order as the NumPy/SciPy code it
stands in for, NumPy's summation order included where it sums (`compiled_loops._pairwise_sum`),
so its results are bit-identical (no fast-math, no fused multiply-add); the tests check that
on random data and chunkings. Installed with the `fast` extra
(`pip install 'bruxwatch[fast]'`); without Numba, or with `BRUXWATCH_COMPILED=0` in the
environment, the NumPy/SciPy code runs and gives the same numbers more slowly.

Loading costs 0.25-0.4 s (Numba's import, and its on-disk cache of the loops; the first
load after an install compiles them, about 7 s, once) and about 110 MB of memory. An 8-hour
night of 2 channels at 1 kHz scores in about 0.62 s with the loops, against 1.0 s (quiet) to
1.6 s (ECG to remove) without, so the loops pay for their loading within one night. A
process loads them once the jobs it was given add up to `PAYS_OFF_VALUES` (`prepare`, which
`analyze` calls for each recording): a live session (the recorder stays within its memory)
or a short command never imports Numba; scoring a night (`bruxwatch analyze`, the morning's
preparation after `record`, a report) loads them at its start. Once loaded, they run for any
block of at least `MIN_SAMPLES` samples per channel (a 10-ms live chunk gains nothing).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

MIN_SAMPLES = 4096
"""Samples per channel from which a block goes through a compiled loop (once loaded)."""

PAYS_OFF_VALUES = 40_000_000
"""Samples × channels a process must have been given (`prepare`) before it loads the loops:
about 5.5 hours of 2 channels at 1 kHz. From there the time they save exceeds their loading
time even on a quiet night (0.4 s saved for 57.6 M values against 0.3 s to load)."""

_SWITCH = "BRUXWATCH_COMPILED"

_enabled = os.environ.get(_SWITCH, "1").strip().lower() not in ("0", "no", "off", "false")
_kernels: SimpleNamespace | None = None
_tried = False
_given = 0  # samples × channels of the jobs `prepare` was told of


def set_enabled(enabled: bool) -> None:
    """Use the compiled loops once loaded (True) or always the NumPy/SciPy code (False)."""
    global _enabled
    _enabled = bool(enabled)


def load() -> bool:
    """Load the loops now (idempotent); True when they are enabled and run."""
    global _kernels, _tried
    if not _tried:
        _tried = True
        try:
            from bruxwatch.signal import compiled_loops
        except Exception:  # noqa: BLE001 - no Numba, or one that cannot compile: NumPy runs
            _kernels = None
        else:
            _kernels = SimpleNamespace(
                sos_cascade=compiled_loops.sos_cascade,
                checked_float64=compiled_loops.checked_float64,
                moving_sum_of_squares=compiled_loops.moving_sum_of_squares,
                calibrated_level=compiled_loops.calibrated_level,
                adaptive_level=compiled_loops.adaptive_level,
                summed_squares=compiled_loops.summed_squares,
                find_beats=compiled_loops.find_beats,
                subtract_beats=compiled_loops.subtract_beats,
                accepted_intervals=compiled_loops.accepted_intervals,
            )
    return _enabled and _kernels is not None


def prepare(n_values: int) -> None:
    """A job of `n_values` samples × channels is about to run: load the loops once this
    process's jobs add up to `PAYS_OFF_VALUES`."""
    global _given
    _given += max(0, int(n_values))
    if _enabled and _given >= PAYS_OFF_VALUES:
        load()


def kernels_for(n_samples: int) -> SimpleNamespace | None:
    """The loaded loops for a block of `n_samples` per channel, or None (use NumPy/SciPy)."""
    if not _enabled or _kernels is None or n_samples < MIN_SAMPLES:
        return None
    return _kernels
