"""From the wearer's rest and maximal voluntary clench (MVC) to detection thresholds.

Calibrated: per channel, rest = median envelope at rest, MVC = 95th percentile of the envelope
during maximal clenches; threshold = rest + 10 % of (MVC − rest), never below 2 × rest, and the
detection level is % MVC = 100 × (envelope − rest) / (MVC − rest).

Uncalibrated: `AdaptiveBackground` tracks a slow running low percentile of the envelope and the
threshold is a multiple of it; the level is then "× background", not % MVC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bruxwatch.signal.config import ThresholdConfig
from bruxwatch.stream import units_text

MIN_MVC_TO_REST = 3.0
"""A plausible MVC is at least this many times the rest level; less means bad electrodes."""


@dataclass(frozen=True)
class CalibrationProtocol:
    """The guided calibration, in seconds from its start: relax, then three maximal clenches
    of 3 s with 5-s rests. The simulator's `calibrate` option follows the same timing."""

    rest_s: tuple[float, float] = (1.0, 11.0)
    clenches_s: tuple[tuple[float, float], ...] = ((13.0, 16.0), (21.0, 24.0), (29.0, 32.0))
    end_s: float = 37.0

    @property
    def mvc_s(self) -> tuple[float, float]:
        return self.clenches_s[0][0], self.clenches_s[-1][1]

    def prompts(self) -> list[tuple[float, str]]:
        """(time s, what to tell the wearer) in order."""
        steps = [(0.0, "Relax your jaw completely, teeth apart, for 12 seconds.")]
        for k, (start, end) in enumerate(self.clenches_s, 1):
            steps.append((start, f"CLENCH as hard as is comfortable ({k} of 3) ..."))
            steps.append((end, "and relax."))
        return steps  # what came of it is said once it is known: `outcome_text`


PROTOCOL = CalibrationProtocol()


def outcome_text(calibration: Calibration | None, error: str | None, retrying: bool = False) -> str:
    """What to tell the wearer when the calibration is done: the levels, or why it failed
    (and, when `retrying`, that the sequence starts again now)."""
    if calibration is None and retrying:
        return f"Calibration FAILED: {error or 'no data'}. Once more, from the start:"
    if calibration is None:
        return (
            f"Calibration FAILED: {error or 'no data'}. Scoring against an adaptive background"
            " instead; run `bruxwatch calibrate` to try again."
        )
    rest = "/".join(f"{v:.1f}" for v in calibration.rest)
    mvc = "/".join(f"{v:.0f}" for v in calibration.mvc)
    return (
        f"Calibration recorded: rest {rest} {units_text(calibration.units)}, clench {mvc} "
        f"{units_text(calibration.units)}."
    )


class CalibrationError(ValueError):
    """The calibration data cannot give usable thresholds."""


@dataclass(frozen=True)
class Calibration:
    """Per-channel rest and MVC envelope levels, in the envelope's units (µV or ADC counts)."""

    rest: tuple[float, ...]
    mvc: tuple[float, ...]
    units: str = "uV"

    def __post_init__(self) -> None:
        if len(self.rest) != len(self.mvc) or not self.rest:
            raise CalibrationError("rest and MVC need one value per channel")

    def picked(self, positions: tuple[int, ...]) -> Calibration:
        """The calibration of some of its channels (0-based positions among its own)."""
        return Calibration(
            rest=tuple(self.rest[p] for p in positions),
            mvc=tuple(self.mvc[p] for p in positions),
            units=self.units,
        )

    def thresholds(self, config: ThresholdConfig) -> np.ndarray:
        """Envelope threshold per channel (units of the envelope)."""
        rest, mvc = np.asarray(self.rest), np.asarray(self.mvc)
        return np.maximum(
            rest + config.mvc_fraction * (mvc - rest), config.min_rest_multiple * rest
        )

    def threshold_pct_mvc(self, config: ThresholdConfig) -> np.ndarray:
        """The thresholds expressed in % MVC per channel."""
        return self.pct_mvc(self.thresholds(config)[:, None])[:, 0]

    def pct_mvc(self, envelope: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """% MVC of an envelope (channels, n): 0 at rest, 100 at MVC (into `out`, float64 of
        the same shape, when given)."""
        rest, scale = self.pct_terms()
        out = np.subtract(envelope, rest[:, None], out=out)
        return np.multiply(out, scale[:, None], out=out)

    def pct_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """(rest, scale) per channel, float64: % MVC = (envelope − rest) × scale."""
        rest = np.asarray(self.rest, dtype=np.float64)
        return rest, 100.0 / (np.asarray(self.mvc, dtype=np.float64) - rest)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(rest=tuple(data["rest"]), mvc=tuple(data["mvc"]), units=data.get("units", "uV"))


def calibrate(
    rest_envelope: np.ndarray,
    mvc_envelope: np.ndarray,
    config: ThresholdConfig | None = None,
    units: str = "uV",
    names: Sequence[str] | None = None,
) -> Calibration:
    """Calibration from envelopes (channels, n) recorded at rest and during maximal clenches
    (in `units`; `names` of the channels, for the messages).

    Raises CalibrationError when a segment is empty or the MVC is not clearly above rest.
    """
    config = config or ThresholdConfig()
    rest_envelope, mvc_envelope = np.atleast_2d(rest_envelope), np.atleast_2d(mvc_envelope)
    if rest_envelope.shape[-1] == 0 or mvc_envelope.shape[-1] == 0:
        raise CalibrationError("the rest and MVC segments must not be empty")
    rest = np.percentile(rest_envelope, config.rest_percentile, axis=-1)
    mvc = np.percentile(mvc_envelope, config.mvc_percentile, axis=-1)
    for channel, (r, m) in enumerate(zip(rest, mvc, strict=True)):
        if not m >= MIN_MVC_TO_REST * r or not m > 0:
            name = names[channel] if names else f"channel {channel + 1}"
            shown = units_text(units)
            raise CalibrationError(
                f"{name}: clench level {m:.3g} {shown} is not clearly above rest {r:.3g} "
                f"{shown} (needs {MIN_MVC_TO_REST:g}x); check the electrodes and clench harder"
            )
    return Calibration(rest=tuple(map(float, rest)), mvc=tuple(map(float, mvc)), units=units)


class AdaptiveBackground:
    """Slow running low percentile of the envelope, per channel, standing in for rest.

    The envelope is sampled at global indices that are multiples of `decimate_s`; at every
    multiple of `update_s` the background becomes the chosen percentile of the samples of the
    last `background_window_s` seconds strictly before that point. Everything is aligned to
    the stream's sample indices, so the result does not depend on the chunking.
    """

    def __init__(self, fs: float, n_channels: int, config: ThresholdConfig) -> None:
        self.config = config
        self.decimation = max(1, round(config.decimate_s * fs))
        self.update_every = self.decimation * max(1, round(config.update_s / config.decimate_s))
        self.window = max(1, round(config.background_window_s / config.decimate_s))
        self.min_values = max(1, round(config.warmup_s / config.decimate_s))
        self._values = np.zeros((n_channels, 0))
        self.background = np.full(n_channels, np.nan)

    def process(self, envelope: np.ndarray, first_index: int) -> np.ndarray:
        """Background per sample (channels, n); NaN until the warm-up has been seen."""
        out = np.empty(envelope.shape)
        for lo, hi, background in self.segments(envelope, first_index):
            out[:, lo:hi] = background[:, None]
        return out

    def segments(self, envelope: np.ndarray, first_index: int) -> list[tuple[int, int, np.ndarray]]:
        """Feed a chunk; returns (lo, hi, background per channel) for the local sample ranges
        [lo, hi) of constant background (split at the update points inside the chunk).

        The updates of a chunk whose window is full are found together, in one vectorized
        partition over the windows ending at each update point; the same numbers as taking
        them one by one."""
        n = envelope.shape[-1]
        upd, dec = self.update_every, self.decimation
        first_update = -(-first_index // upd) * upd
        first_picked = -(-first_index // dec) * dec  # global index of the first value taken
        picked = envelope[:, first_picked - first_index :: dec]
        points = range(first_update, first_index + n, upd)
        if not points:  # a live chunk, most of the time: nothing changes inside it
            if picked.shape[-1]:
                self._values = np.concatenate((self._values, picked), axis=-1)[:, -self.window :]
            return [(0, n, self.background)] if n else []
        values = np.concatenate((self._values, picked), axis=-1)
        held = self._values.shape[-1]
        segments = []
        start = 0
        # where the values strictly before each point end in `values`
        ends = [held + max(0, -(-(p - first_picked) // dec)) for p in points]
        full = [end >= self.window for end in ends]
        backgrounds = self._full_windows(values, [e for e in ends if e >= self.window])
        for point, end, is_full in zip(points, ends, full, strict=True):
            local = point - first_index
            if local > start:
                segments.append((start, local, self.background))
            if is_full:
                self.background = next(backgrounds)
            else:
                self._update(values[:, max(0, end - self.window) : end])
            start = local
        if n > start:
            segments.append((start, n, self.background))
        self._values = values[:, -self.window :]
        return segments

    def _full_windows(self, values: np.ndarray, ends: list[int]):
        """The background at each update whose `window` values end at `ends` in `values`,
        one after the other."""
        if not ends:
            return iter(())
        k = int(np.floor(self.config.background_percentile / 100.0 * (self.window - 1)))
        windows = np.lib.stride_tricks.sliding_window_view(values, self.window, axis=-1)
        picked = windows[:, np.asarray(ends) - self.window]  # (channels, updates, window)
        found = np.partition(picked, k, axis=-1)[..., k]  # (channels, updates)
        return iter(found.T.copy())

    def _update(self, values: np.ndarray) -> None:
        """The background from the values of a window not yet full (the night's first
        minute): unchanged until `min_values` of them have been seen."""
        count = values.shape[-1]
        if count < self.min_values:
            return
        k = int(np.floor(self.config.background_percentile / 100.0 * (count - 1)))
        self.background = np.partition(values, k, axis=-1)[:, k].copy()
