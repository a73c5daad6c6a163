"""Body position, body movement and an actigraphy sleep/wake estimate from a 3-axis
accelerometer (g), such as the Cyton's LIS3DH at 25 Hz.

The board's axes, as the hardware README tells the wearer to put it on (flat on the chest
or the forehead): +y toward the head, +x toward the wearer's left, +z out of the front. At
rest an accelerometer reads +1 g along the axis that points up, so a sleeper on the back
reads z = +1, on the front z = -1, on the left side x = -1 (the right side is up), on the
right side x = +1, sitting or standing y = +1 (`UP_AXIS`).

The accelerometer is cut into epochs of `epoch_s` aligned to its own sample index. Per
epoch:
- position: the mean vector's direction; "upright" when it is within `upright_deg` of +y,
  otherwise the lying position whose axis is nearest;
- activity (g): the root of the summed variances of the three axes over the epoch: about
  the sensor's noise when still, tenths of a g when the body moves; the epoch is *moving*
  at `moving_g` or more.
An epoch holding less than half its samples (a gap) has no position and no activity.

Sleep/wake, per minute, by the Cole-Kripke rule for one-minute epochs: D = 0.001 ×
(106 A₋₄ + 54 A₋₃ + 58 A₋₂ + 76 A₋₁ + 230 A₀ + 74 A₊₁ + 67 A₊₂), asleep when D < 1,
A being activity counts of the minutes around it. The rule's weights come from wrist
actigraphs' counts; bruxwatch's counts are its own: the minute's summed activity above the
still noise `still_g`, one count per 0.2 g·s, a scale chosen so that a 5-s turn at 0.2 g
(4.5 counts) scores its own minute awake but not the minutes around it, while restless
wakefulness (a movement every 15-60 s) scores awake throughout; a still sleeper gives 0.
It is an estimate for per-hour-of-sleep rates, not a hypnogram: actigraphy takes quiet
wakefulness for sleep.

`EpochAccumulator` takes the stream chunk by chunk; every epoch is computed from its own
samples only, so any chunking gives the same epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bruxwatch.signal.config import MovementConfig

POSITIONS = ("supine", "prone", "left", "right", "upright")
"""Body positions, in the order reports list them."""
UP_AXIS: dict[str, tuple[float, float, float]] = {
    "supine": (0.0, 0.0, 1.0),
    "prone": (0.0, 0.0, -1.0),
    "left": (-1.0, 0.0, 0.0),
    "right": (1.0, 0.0, 0.0),
    "upright": (0.0, 1.0, 0.0),
}
"""What the accelerometer reads (g) at rest in each position, in the board's axes."""
LYING = ("supine", "prone", "left", "right")
COLE_KRIPKE_WEIGHTS = (106.0, 54.0, 58.0, 76.0, 230.0, 74.0, 67.0)
"""Cole-Kripke's weights of the minutes -4 ... +2 around the scored one."""
COLE_KRIPKE_SCALE = 0.001
COUNTS_PER_G_S = 5.0
"""Activity counts per g·s of activity above the still noise."""


@dataclass(frozen=True)
class Epochs:
    """Accelerometer epochs: epoch k spans [k × epoch_s, (k + 1) × epoch_s) s from the
    stream's sample 0. activity: g (NaN: too few samples); position: index into
    `POSITIONS` (-1: unknown)."""

    epoch_s: float
    activity: np.ndarray
    position: np.ndarray

    @property
    def n(self) -> int:
        return int(self.activity.shape[0])

    def moving(self, moving_g: float) -> np.ndarray:
        """(n,) bool: epochs of body movement (never the unknown ones)."""
        return np.nan_to_num(self.activity, nan=0.0) >= moving_g

    def known(self) -> np.ndarray:
        return ~np.isnan(self.activity)

    def position_at(self, t: float) -> str | None:
        """The position at time t (s), or None where the accelerometer says nothing."""
        k = int(t // self.epoch_s)
        if not 0 <= k < self.n or self.position[k] < 0:
            return None
        return POSITIONS[int(self.position[k])]

    def moving_near(self, start_s: float, end_s: float, config: MovementConfig) -> bool | None:
        """Body movement within `episode_margin_s` of [start_s, end_s]; None when no epoch
        there is known."""
        lo = max(0, int((start_s - config.episode_margin_s) // self.epoch_s))
        hi = min(self.n, int(math.ceil((end_s + config.episode_margin_s) / self.epoch_s)))
        if hi <= lo or not self.known()[lo:hi].any():
            return None
        return bool(self.moving(config.moving_g)[lo:hi].any())

    def hours_by_position(self) -> dict[str, float]:
        """Hours in each position (unknown epochs left out)."""
        counts = np.bincount(self.position[self.position >= 0], minlength=len(POSITIONS))
        return {p: float(c) * self.epoch_s / 3600.0 for p, c in zip(POSITIONS, counts, strict=True)}


class EpochAccumulator:
    """Accelerometer chunks (3, n) in g, in order, into `Epochs`."""

    def __init__(self, fs: float, config: MovementConfig | None = None) -> None:
        self.config = config = config or MovementConfig()
        self.fs = float(fs)
        self.length = max(2, round(config.epoch_s * fs))
        self.epoch_s = self.length / self.fs
        self._activity: list[float] = []
        self._position: list[int] = []
        self._parts: list[np.ndarray] = []
        self._at: int | None = None  # the epoch being collected
        self._up = np.array([UP_AXIS[p] for p in POSITIONS])
        self._upright_cos = math.cos(math.radians(config.upright_deg))

    def add(self, first_index: int, samples: np.ndarray) -> None:
        """Samples (3, n) from aux sample `first_index` on (a jump in the index is a gap)."""
        x = np.asarray(samples, dtype=np.float64)
        n, L = x.shape[1], self.length
        head = min(n, (-first_index) % L)
        if head:
            self._add_part(first_index, x[:, :head])
        whole = (n - head) // L
        if whole:
            self._close_part()
            self._pad_to((first_index + head) // L)
            blocks = x[:, head : head + whole * L].reshape(3, whole, L)
            self._store(blocks.mean(axis=2), np.sqrt(blocks.var(axis=2).sum(axis=0)))
        if head + whole * L < n:
            self._add_part(first_index + head + whole * L, x[:, head + whole * L :])

    def finish(self) -> Epochs:
        """The epochs so far (an incomplete last epoch counts if it has half its samples)."""
        self._close_part()
        return Epochs(
            self.epoch_s,
            np.array(self._activity, dtype=np.float64),
            np.array(self._position, dtype=np.int8),
        )

    # ---------------------------------------------------------------------------- private
    def _add_part(self, start: int, part: np.ndarray) -> None:
        epoch = start // self.length
        if self._at != epoch:
            self._close_part()
            self._at = epoch
        self._parts.append(part)
        if start + part.shape[1] == (epoch + 1) * self.length:
            self._close_part()

    def _close_part(self) -> None:
        if self._at is None:
            return
        epoch, self._at = self._at, None
        values = np.concatenate(self._parts, axis=1)
        self._parts = []
        self._pad_to(epoch)
        if values.shape[1] >= self.length // 2:
            mean = values.mean(axis=1, keepdims=True)
            activity = np.sqrt(values.var(axis=1).sum())[None]
            self._store(mean, activity)
        else:
            self._pad_to(epoch + 1)

    def _pad_to(self, epoch: int) -> None:
        """Unknown epochs up to `epoch` (a gap in the stream)."""
        missing = epoch - len(self._activity)
        if missing > 0:
            self._activity += [math.nan] * missing
            self._position += [-1] * missing

    def _store(self, means: np.ndarray, activity: np.ndarray) -> None:
        """Epochs with mean vectors `means` (3, k) and `activity` (k,) g."""
        norm = np.linalg.norm(means, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = means / norm
        cosines = self._up @ np.nan_to_num(unit)  # (positions, k)
        lying = cosines[: len(LYING)].argmax(axis=0)
        upright = cosines[POSITIONS.index("upright")] >= self._upright_cos
        position = np.where(upright, POSITIONS.index("upright"), lying)
        position = np.where(norm > 0.3, position, -1)  # free fall or a dead sensor: unknown
        self._activity += activity.tolist()
        self._position += position.astype(int).tolist()


def epochs_of(
    samples: np.ndarray, fs: float, config: MovementConfig | None = None, first_index: int = 0
) -> Epochs:
    """A whole accelerometer recording (3, n) in g at `fs` Hz as epochs."""
    accumulator = EpochAccumulator(fs, config)
    accumulator.add(first_index, samples)
    return accumulator.finish()


def activity_counts(epochs: Epochs, config: MovementConfig) -> np.ndarray:
    """Counts per minute (NaN for a minute with no known epoch): `COUNTS_PER_G_S` × the
    minute's summed activity above `still_g`, in g·s."""
    per_minute = max(1, round(60.0 / epochs.epoch_s))
    n_minutes = -(-epochs.n // per_minute)
    above = np.clip(epochs.activity - config.still_g, 0.0, None) * epochs.epoch_s
    padded = np.full(n_minutes * per_minute, np.nan)
    padded[: epochs.n] = above
    table = padded.reshape(n_minutes, per_minute)
    known = ~np.isnan(table)
    counts = np.where(known, table, 0.0).sum(axis=1) * COUNTS_PER_G_S
    return np.where(known.any(axis=1), counts, np.nan)


def sleep_minutes(counts: np.ndarray) -> np.ndarray:
    """Cole-Kripke per minute: 1 asleep, 0 awake, -1 unknown (no counts). Unknown minutes
    around one count as no activity."""
    a = np.nan_to_num(counts, nan=0.0)
    padded = np.concatenate((np.zeros(4), a, np.zeros(2)))
    d = np.zeros_like(a)
    for k, weight in enumerate(COLE_KRIPKE_WEIGHTS):  # minute offsets -4 ... +2
        d += weight * padded[k : k + a.shape[0]]
    asleep = (COLE_KRIPKE_SCALE * d < 1.0).astype(np.int8)
    return np.where(np.isnan(counts), -1, asleep).astype(np.int8)
