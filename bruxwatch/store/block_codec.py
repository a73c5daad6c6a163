"""How a block of samples is stored: losslessly compressed, read back bit for bit.

Three codecs, named in each block's row (`blocks.codec`):

- ``flac``: a stream whose samples are whole multiples of its ADC's step
  (`StreamInfo.steps`: a Cyton's or Ganglion's µV per count, an Arduino's 1 count) is stored
  as those integers, compressed with FLAC (libsndfile, through `soundfile`): a codec made
  for sampled signals, lossless, 24 bits at most and 8 channels. The blob starts with how
  the reader multiplied (one byte: 0 in float32, as the Cyton reader does, 1 in float64 then
  rounded, as the Ganglion's), each channel's step (float64), then the FLAC stream. About
  1.1-1.2 bytes a sample on a
  rest-dominated 24-bit night, 0.3 on a 10-bit one (benchmarks/storage.py).
- ``f4z``: anything else (floats from LSL, imports, the simulator without an ADC): the
  float32 values with their bytes regrouped by significance, then zlib.
- ``f4`` (no codec named, nights written before): the float32 values as they are.

Every block is decoded once as it is encoded and compared with what came in: a block that
would not come back exactly (a step that is not the stream's, a count beyond 24 bits) is
stored with ``f4z`` instead. Nothing is ever stored approximately.
"""

from __future__ import annotations

import functools
import io
import zlib
from collections.abc import Sequence

import numpy as np

from bruxwatch.errors import StoreError

FLAC, FLOAT_ZLIB, FLOAT = "flac", "f4z", "f4"
MAX_FLAC_CHANNELS = 8
MAX_COUNT = 2**23 - 1
"""The largest count FLAC's 24-bit samples hold (a Cyton's full scale)."""
FLAC_RATE = 1000
"""The rate written in the FLAC header (FLAC wants one; the night's own is in its session)."""


def encode_block(samples: np.ndarray, steps: Sequence[float] | None) -> tuple[str, bytes]:
    """(codec, blob) for float32 `samples` (channels, n); `steps`: the ADC step of each
    channel, in the samples' units (None: not whole counts)."""
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if steps is not None:
        blob = _flac(samples, steps)
        if blob is not None:
            return FLAC, blob
    return FLOAT_ZLIB, _float_zlib(samples)


def decode_block(codec: str | None, blob: bytes, n_channels: int, n: int) -> np.ndarray:
    """The float32 samples (channels, n) of a stored block."""
    if codec in (None, FLOAT):
        return np.frombuffer(blob, dtype="<f4").reshape(n_channels, n)
    if codec == FLOAT_ZLIB:
        planes = np.frombuffer(zlib.decompress(blob), dtype=np.uint8).reshape(4, n_channels * n)
        return planes.T.copy().view("<f4").reshape(n_channels, n)
    if codec == FLAC:
        return _from_flac(blob, n_channels, n)
    raise ValueError(f"unknown sample codec {codec!r} (a newer bruxwatch wrote this night)")


# ----------------------------------------------------------------------------- codecs
def _float_zlib(samples: np.ndarray) -> bytes:
    """float32 bytes grouped by significance (all first bytes, then all second ...), zlib."""
    planes = samples.astype("<f4").reshape(-1).view(np.uint8).reshape(-1, 4).T
    return zlib.compress(np.ascontiguousarray(planes).tobytes(), 6)


def _flac(samples: np.ndarray, steps: Sequence[float]) -> bytes | None:
    """The FLAC blob of `samples` as counts of `steps`, or None when that would not come
    back bit for bit (or FLAC cannot hold it)."""
    n_channels, n = samples.shape
    if len(steps) != n_channels or n_channels > MAX_FLAC_CHANNELS or n == 0:
        return None
    step = np.asarray(steps, dtype=np.float64)[:, None]
    if not np.all(step > 0):
        return None
    counts = np.rint(samples / step)
    if not np.all(np.abs(counts) <= MAX_COUNT):
        return None
    counts = counts.astype(np.int32)
    mode = next((m for m in (0, 1) if _same_bits(_values(counts, step, m), samples)), None)
    soundfile = _soundfile()
    if mode is None or soundfile is None:
        return None

    flac = io.BytesIO()
    # libsndfile reads int32 as full scale: 24-bit samples are its top 24 bits
    soundfile.write(flac, counts.T << 8, FLAC_RATE, format="FLAC", subtype="PCM_24")
    blob = bytes([mode]) + np.asarray(steps, dtype="<f8").tobytes() + flac.getvalue()
    if not _same_bits(_from_flac(blob, n_channels, n), samples):
        return None
    return blob


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit (-0.0 is not 0.0 here, and a NaN equals itself)."""
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def _from_flac(blob: bytes, n_channels: int, n: int) -> np.ndarray:
    soundfile = _soundfile()
    if soundfile is None:
        raise StoreError(
            "this night's samples are FLAC and libsndfile cannot be loaded here: "
            "pip install soundfile (on 32-bit Raspberry Pi OS also: apt install libsndfile1)"
        )

    mode, head = blob[0], 1 + 8 * n_channels
    step = np.frombuffer(blob[1:head], dtype="<f8").astype(np.float64)[:, None]
    data, _rate = soundfile.read(io.BytesIO(blob[head:]), dtype="int32", always_2d=True)
    counts = (data.T >> 8).reshape(n_channels, n)
    return _values(counts, step, mode)


@functools.cache
def _soundfile():
    """The soundfile module, or None where libsndfile cannot be loaded (the samples are
    then stored as floats: bigger, as exact)."""
    try:
        import soundfile
    except (ImportError, OSError):
        return None
    return soundfile


def _values(counts: np.ndarray, step: np.ndarray, mode: int) -> np.ndarray:
    """Counts times their step as float32, multiplied as the board's reader does: in
    float32 (mode 0) or in float64 and then rounded (mode 1)."""
    if mode == 0:
        return counts.astype(np.float32) * step.astype(np.float32)
    return (counts * step).astype(np.float32)
