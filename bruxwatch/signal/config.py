"""Settings of the signal chain, one frozen dataclass per stage (defaults from DESIGN.md).

Pure data: no I/O. `bruxwatch.config` loads these from TOML and CLI flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FilterConfig:
    """Band-pass plus mains notch, applied causally as one SOS cascade.

    band_hz: pass band in Hz; the upper edge is clipped to `max_high_fraction` × fs.
    order: Butterworth order of each edge (4 → 4 second-order sections for the band-pass).
    mains_hz: 50 or 60 Hz mains frequency, or None for no notch.
    notch_harmonics: notch the fundamental and its harmonics up to this many multiples (1:
        the fundamental only, like BrainFlow's environmental-noise filter; each harmonic adds
        one section and about 20 % to the filtering time),
        always staying below Nyquist and at or below the upper band edge.
    notch_q: quality factor of each notch (bandwidth = f / Q Hz).
    """

    band_hz: tuple[float, float] = (20.0, 450.0)
    order: int = 4
    max_high_fraction: float = 0.45
    mains_hz: float | None = 50.0
    notch_harmonics: int = 1
    notch_q: float = 30.0


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
    mains_ratio: a block whose mains RMS exceeds this multiple of the filtered EMG RMS has a
        poor electrode contact (mains pick-up).
    max_abs: a sample whose magnitude exceeds this (stream units), like one that is not a
        finite number or lies outside the ADC rails, is impossible: it is held at the last
        valid value before it reaches the filters, and its block is flagged "invalid".
    """

    block_s: float = 1.0
    flat_std: float = 0.1
    clip_fraction: float = 0.01
    mains_ratio: float = 10.0
    max_abs: float = 1e7


@dataclass(frozen=True)
class SignalConfig:
    """The whole signal chain. `masseter_channels` picks the channels scored (None = all)."""

    filter: FilterConfig = field(default_factory=FilterConfig)
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    masseter_channels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.detector.episode_gap_s < self.quality.block_s:
            raise ValueError("episode_gap_s must be at least the quality block length")
