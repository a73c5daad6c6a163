"""Process-wide memory tuning for the bruxwatch programs (not applied by the library itself).

Scoring a night allocates and frees a few half-megabyte arrays for every block. With glibc's
defaults, freed memory at the top of the heap is handed back to the kernel (above a 128-kB
trim threshold that adapts upward only partly) and every new block page-faults it in again.
The signal chain's stages now keep their work arrays from block to block, so `analyze` needs
no tuning (measured: it changes an 8-hour night's scoring by less than the run-to-run spread);
the bruxwatch command, the recorder, the scoring pool's workers and the benchmarks still ask
glibc to keep some freed memory for reuse (24 MB: a few blocks' worth), for the arrays each
block hands on. Memory stays flat: the retained pages are the ones the next block needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 24 << 20
MMAP_THRESHOLD = 16 << 20


def keep_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds; returns False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    )
