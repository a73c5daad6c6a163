"""Settings of the signal chain, one frozen dataclass per stage (defaults from DESIGN.md).

Pure data: no I/O. `bruxwatch.config` loads these from TOML and CLI flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class FilterConfig:
    """Band-pass plus mains notches, applied causally as one SOS cascade.

    band_hz: pass band in Hz; the upper edge is clipped to `max_high_fraction` × fs.
    order: Butterworth order of each edge (4 → 4 second-order sections for the band-pass).
    mains_hz: 50 or 60 (Hz), "auto" to find which from the signal (`signal.mains`), or None
        for no notch at all.
    notch_harmonics: "auto" notches the fundamental and every harmonic found in the signal
        (in or next to the pass band); a number N notches the fundamental and its harmonics
        up to N × mains_hz whether present or not (1: the fundamental only, like BrainFlow's
        environmental-noise filter). Each notch adds one second-order section.
    notch_q: quality factor of each notch (bandwidth = f / Q Hz).
    mains_check_s: how often (s) the signal is looked at for mains lines, after the first
        five seconds (looked at every second).
    harmonic_ratio: a mains line is present when its power is at least this many times what
        the spectrum around it predicts (10: 10 dB above it).
    """

    band_hz: tuple[float, float] = (20.0, 450.0)
    order: int = 4
    max_high_fraction: float = 0.45
    mains_hz: float | Literal["auto"] | None = "auto"
    notch_harmonics: int | Literal["auto"] = "auto"
    notch_q: float = 30.0
    mains_check_s: float = 10.0
    harmonic_ratio: float = 10.0

    def __post_init__(self) -> None:
        if self.mains_hz not in (None, "auto", 50.0, 60.0):
            raise ValueError(f'mains_hz must be 50, 60, "auto" or 0 (off), got {self.mains_hz!r}')
        if self.notch_harmonics != "auto" and not (
            isinstance(self.notch_harmonics, int) and 1 <= self.notch_harmonics <= 20
        ):
            raise ValueError(
                f'notch_harmonics must be "auto" or 1-20, got {self.notch_harmonics!r}'
            )
        if not 1.0 <= self.mains_check_s <= 600.0:
            raise ValueError(f"mains_check_s must be 1-600 s, got {self.mains_check_s:g}")
        if not self.harmonic_ratio > 1.0:
            raise ValueError(f"harmonic_ratio must be above 1, got {self.harmonic_ratio:g}")


@dataclass(frozen=True)
class EcgConfig:
    """ECG removal from the filtered EMG: QRS detection and template subtraction (seconds).

    remove: find and subtract the heart's QRS complexes (raw EMG streams only).
    before_s / after_s: the template spans R - before_s to R + after_s.
    confirm_s: a beat's R peak is the largest value this long from its onset; with before_s
        it is how late the signal chain hands samples on (70 ms by default).
    refractory_s: no beat starts this soon after an R peak.
    min_snr: a beat stands out this many times above the median squared signal (power).
    beats_averaged: beats in the template. block_s: blocks of the noise-floor median.
    """

    remove: bool = True
    before_s: float = 0.04
    after_s: float = 0.06
    confirm_s: float = 0.03
    refractory_s: float = 0.25
    min_snr: float = 50.0
    beats_averaged: int = 8
    block_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("before_s", "after_s", "confirm_s"):
            value = getattr(self, name)
            if not 0 < value <= 0.2:
                raise ValueError(f"ecg {name} must be above 0 and at most 0.2 s, got {value:g}")
        if not 0.15 <= self.refractory_s <= 1.0:
            raise ValueError(f"ecg refractory_s must be 0.15-1 s, got {self.refractory_s:g}")
        if not self.min_snr > 1:
            raise ValueError(f"ecg min_snr must be above 1, got {self.min_snr:g}")
        if not 1 <= self.beats_averaged <= 64:
            raise ValueError(f"ecg beats_averaged must be 1-64, got {self.beats_averaged}")
        if not 0.1 <= self.block_s <= 5:
            raise ValueError(f"ecg block_s must be 0.1-5 s, got {self.block_s:g}")


@dataclass(frozen=True)
class EnvelopeConfig:
    """Moving RMS of the filtered EMG (seconds); moving mean for boards that send an envelope."""

    rms_window_s: float = 0.125
    envelope_smoothing_s: float = 0.05

    def __post_init__(self) -> None:
        if not 0.05 <= self.rms_window_s <= 0.25:
            raise ValueError(f"RMS window must be 0.05-0.25 s, got {self.rms_window_s}")
        if not 0 <= self.envelope_smoothing_s <= 1.0:
            raise ValueError(f"envelope smoothing must be 0-1 s, got {self.envelope_smoothing_s}")


@dataclass(frozen=True)
class ThresholdConfig:
    """Where a clench starts.

    Calibrated: threshold = rest + `mvc_fraction` × (MVC − rest), never below
    `min_rest_multiple` × rest. Uncalibrated: an adaptive background (the `background_percentile`
    of the envelope over the last `background_window_s` seconds, sampled every `decimate_s` and
    refreshed every `update_s`) stands in for rest, and threshold = `adaptive_factor` × background.
    No detection happens until `warmup_s` of signal has been seen.
    release_fraction: hysteresis. A run above threshold starts where the envelope reaches the
    threshold and ends only where it falls below this fraction of it (the onset/offset
    double threshold of EMG onset detection), so a clench that dips briefly is not cut into
    pieces too short to count. 1.0: one threshold for both.
    """

    mvc_fraction: float = 0.10
    min_rest_multiple: float = 2.0
    rest_percentile: float = 50.0
    mvc_percentile: float = 95.0
    adaptive_factor: float = 4.0
    background_percentile: float = 10.0
    background_window_s: float = 60.0
    decimate_s: float = 0.25
    update_s: float = 5.0
    warmup_s: float = 5.0
    release_fraction: float = 0.75

    def __post_init__(self) -> None:
        if not 0.3 <= self.release_fraction <= 1.0:
            raise ValueError(f"release_fraction must be 0.3-1, got {self.release_fraction:g}")


@dataclass(frozen=True)
class DetectorConfig:
    """Burst and episode rules of sleep-bruxism scoring (seconds).

    A burst: envelope above threshold for at least `min_burst_s`; runs closer than `merge_gap_s`
    merge. Phasic burst: `min_burst_s`–`tonic_min_s`; tonic burst: longer than `tonic_min_s`.
    Bursts less than `episode_gap_s` apart form one episode. An episode is phasic with at least
    `min_phasic_bursts` phasic bursts, tonic with a tonic burst, mixed with both.
    bridge_gap_s: samples lost for at most this long (a few radio packets) are bridged: the
    signal chain carries on as if the stream were whole (the missing stretch is concealed with
    a copy of the samples just before it), so a lost packet does not end a burst or an episode.
    Longer gaps end what is under way and restart the filters. The gap is recorded either way.
    """

    min_burst_s: float = 0.25
    merge_gap_s: float = 0.10
    tonic_min_s: float = 2.0
    min_phasic_bursts: int = 3
    episode_gap_s: float = 3.0
    bridge_gap_s: float = 0.05

    def __post_init__(self) -> None:
        if not 0 <= self.bridge_gap_s <= 0.5:
            raise ValueError(f"bridge_gap_s must be 0-0.5 s, got {self.bridge_gap_s}")


@dataclass(frozen=True)
class QualityConfig:
    """Signal-quality gates, evaluated on blocks of `block_s` seconds aligned to the stream start.

    flat_std: a block whose standard deviation (stream units) is below this is flat / lead-off.
    clip_fraction: a block with at least this fraction of samples at the ADC rails is clipped.
    mains_ratio: a block where the mains left after the notches (the 50- and 60-Hz lines
        of the filtered signal) has an RMS above this multiple of the rest of the filtered
        signal is bad: hum the notches remove is not.
    max_abs: a sample whose magnitude exceeds this (stream units), like one that is not a
        finite number or lies outside the ADC rails, is impossible: it is held at the last
        valid value before it reaches the filters, and its block is flagged "invalid".
    min_good_hours: a night with less good signal than this (hours) has no per-hour rates:
        its outputs read "not enough good signal" (0 turns the minimum off).
    """

    block_s: float = 1.0
    flat_std: float = 0.1
    clip_fraction: float = 0.01
    mains_ratio: float = 3.0
    max_abs: float = 1e7
    min_good_hours: float = 2.0

    def __post_init__(self) -> None:
        if not 0.1 <= self.block_s <= 10:
            raise ValueError(f"quality block_s must be 0.1-10 s, got {self.block_s:g}")
        if not 0 <= self.min_good_hours <= 24:
            raise ValueError(f"min_good_hours must be 0-24 h, got {self.min_good_hours:g}")


@dataclass(frozen=True)
class SignalConfig:
    """The whole signal chain. `masseter_channels` picks the channels scored (None = all)."""

    filter: FilterConfig = field(default_factory=FilterConfig)
    ecg: EcgConfig = field(default_factory=EcgConfig)
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    masseter_channels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.detector.episode_gap_s < self.quality.block_s:
            raise ValueError("episode_gap_s must be at least the quality block length")
