"""Settings of the signal chain, one frozen dataclass per stage (defaults: see README).

Pure data: no I/O. `bruxwatch.config` loads these from TOML and CLI flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal


def bounded(default: Any, low: float, high: float, unit: str = "") -> Any:
    """A numeric setting: its default and the range [low, high] it must lie in (every item of
    a tuple), checked by `check_bounds` when the settings are made: the one place ranges live."""
    return field(default=default, metadata={"bounds": (low, high, unit)})


def check_bounds(settings: Any) -> None:
    """Raise ValueError naming the first field of a settings dataclass outside its range."""
    for f in fields(settings):
        bounds = f.metadata.get("bounds")
        if bounds is None:
            continue
        low, high, unit = bounds
        value = getattr(settings, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, bool) or not isinstance(item, int | float):
                continue  # "auto", None: the class checks those
            if not low <= item <= high:  # NaN is outside too
                shown = list(value) if isinstance(value, tuple) else value
                raise ValueError(
                    f"{f.name} must be {low:g}-{high:g}{' ' + unit if unit else ''}, got {shown}"
                )


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

    band_hz: tuple[float, float] = bounded((20.0, 450.0), 0.1, 5000.0, "Hz")
    order: int = bounded(4, 1, 10)
    max_high_fraction: float = bounded(0.45, 0.1, 0.49)
    mains_hz: float | Literal["auto"] | None = "auto"
    notch_harmonics: int | Literal["auto"] = "auto"
    notch_q: float = bounded(30.0, 1.0, 300.0)
    mains_check_s: float = bounded(10.0, 1.0, 600.0, "s")
    harmonic_ratio: float = bounded(10.0, 1.5, 1000.0)

    def __post_init__(self) -> None:
        if self.mains_hz not in (None, "auto", 50.0, 60.0):
            raise ValueError(f'mains_hz must be 50, 60, "auto" or 0 (off), got {self.mains_hz!r}')
        if self.notch_harmonics != "auto" and not (
            isinstance(self.notch_harmonics, int) and 1 <= self.notch_harmonics <= 20
        ):
            raise ValueError(
                f'notch_harmonics must be "auto" or 1-20, got {self.notch_harmonics!r}'
            )
        check_bounds(self)
        low, high = self.band_hz
        if not low < high:
            raise ValueError(
                f"band_hz must be [low, high] with low < high, got [{low:g}, {high:g}]"
            )


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
    before_s: float = bounded(0.04, 0.001, 0.2, "s")
    after_s: float = bounded(0.06, 0.001, 0.2, "s")
    confirm_s: float = bounded(0.03, 0.001, 0.2, "s")
    refractory_s: float = bounded(0.25, 0.15, 1.0, "s")
    min_snr: float = bounded(50.0, 1.5, 1e4)
    beats_averaged: int = bounded(8, 1, 64)
    block_s: float = bounded(0.5, 0.1, 5.0, "s")

    def __post_init__(self) -> None:
        check_bounds(self)


@dataclass(frozen=True)
class EnvelopeConfig:
    """Moving RMS of the filtered EMG (seconds); moving mean for boards that send an envelope."""

    rms_window_s: float = bounded(0.125, 0.05, 0.25, "s")
    envelope_smoothing_s: float = bounded(0.05, 0.0, 1.0, "s")

    def __post_init__(self) -> None:
        check_bounds(self)


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

    mvc_fraction: float = bounded(0.10, 0.01, 0.9)
    min_rest_multiple: float = bounded(2.0, 1.0, 20.0)
    rest_percentile: float = bounded(50.0, 1.0, 99.0)
    mvc_percentile: float = bounded(95.0, 50.0, 100.0)
    adaptive_factor: float = bounded(4.0, 1.5, 50.0)
    background_percentile: float = bounded(10.0, 1.0, 50.0)
    background_window_s: float = bounded(60.0, 5.0, 3600.0, "s")
    decimate_s: float = bounded(0.25, 0.01, 5.0, "s")
    update_s: float = bounded(5.0, 0.1, 600.0, "s")
    warmup_s: float = bounded(5.0, 0.0, 600.0, "s")
    release_fraction: float = bounded(0.75, 0.3, 1.0)

    def __post_init__(self) -> None:
        check_bounds(self)


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

    min_burst_s: float = bounded(0.25, 0.05, 5.0, "s")
    merge_gap_s: float = bounded(0.10, 0.0, 2.0, "s")
    tonic_min_s: float = bounded(2.0, 0.5, 30.0, "s")
    min_phasic_bursts: int = bounded(3, 1, 20)
    episode_gap_s: float = bounded(3.0, 0.5, 60.0, "s")
    bridge_gap_s: float = bounded(0.05, 0.0, 0.5, "s")

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.tonic_min_s <= self.min_burst_s:
            raise ValueError(
                f"tonic_min_s ({self.tonic_min_s:g} s) must be longer than min_burst_s "
                f"({self.min_burst_s:g} s)"
            )


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
    min_night_hours: a session recorded for less than this (hours) is not a night (a
        screenshot's seconds, a test at the desk): reports list it apart and count it in
        nothing.
    """

    block_s: float = bounded(1.0, 0.1, 10.0, "s")
    flat_std: float = bounded(0.1, 0.0, 1000.0)
    clip_fraction: float = bounded(0.01, 0.001, 1.0)
    mains_ratio: float = bounded(3.0, 1.0, 100.0)
    max_abs: float = bounded(1e7, 1.0, 1e12)
    min_good_hours: float = bounded(2.0, 0.0, 24.0, "h")
    min_night_hours: float = bounded(0.5, 0.0, 24.0, "h")

    def __post_init__(self) -> None:
        check_bounds(self)


@dataclass(frozen=True)
class HeartConfig:
    """Heart rate and the HR confirmation of episodes (bpm, fractions, seconds).

    min_bpm / max_bpm: the heart rates an RR interval may stand for. max_change: the
    largest change of an interval against the recent ones. reference_beats: how many.
    rise: the fractional rise that confirms an episode. window_s: where (s from onset) the
    rise is looked for; baseline_s: where the heart rate it is measured against is taken.
    min_baseline_beats: fewer accepted intervals in the baseline: the episode's HR is
    unknown (neither confirmed nor not). peak_beats: the peak heart rate is the highest
    over this many consecutive accepted intervals in the window; fewer than this many
    between the onset and the window's end (the clench hid the beats), the HR is unknown.
    """

    min_bpm: float = bounded(30.0, 20.0, 100.0, "bpm")
    max_bpm: float = bounded(180.0, 100.0, 250.0, "bpm")
    max_change: float = bounded(0.3, 0.05, 1.0)
    reference_beats: int = bounded(5, 1, 30)
    rise: float = bounded(0.2, 0.01, 2.0)
    window_s: tuple[float, float] = bounded((-5.0, 5.0), -30.0, 30.0, "s")
    baseline_s: tuple[float, float] = bounded((-15.0, -5.0), -60.0, 0.0, "s")
    min_baseline_beats: int = bounded(3, 1, 30)
    peak_beats: int = bounded(3, 1, 10)

    def __post_init__(self) -> None:
        check_bounds(self)
        if not self.min_bpm < self.max_bpm:
            raise ValueError("min_bpm must be below max_bpm")
        for name in ("window_s", "baseline_s"):
            low, high = getattr(self, name)
            if not low < high:
                raise ValueError(f"{name} must be [from, to] with from < to, got [{low}, {high}]")


@dataclass(frozen=True)
class MovementConfig:
    """Reading the accelerometer (seconds, g, degrees).

    epoch_s: the length of an epoch. moving_g: an epoch with this much activity or more
    is body movement. still_g: activity below this is the sensor's noise (no counts).
    upright_deg: the board within this angle of head-up is upright. episode_margin_s: an
    episode is during movement when a moving epoch lies within this of it.
    """

    epoch_s: float = bounded(1.0, 0.2, 10.0, "s")
    moving_g: float = bounded(0.05, 0.005, 2.0, "g")
    still_g: float = bounded(0.02, 0.0, 1.0, "g")
    upright_deg: float = bounded(45.0, 10.0, 80.0, "degrees")
    episode_margin_s: float = bounded(1.0, 0.0, 30.0, "s")

    def __post_init__(self) -> None:
        check_bounds(self)


@dataclass(frozen=True)
class SoundConfig:
    """Grinding sounds in the clips kept around episodes (`signal.sound`; dB, Hz, s).

    band_hz: where grinding's energy lies. active_db: a frame this far above the clip's
    quiet floor is a sound. high_share: the least share of a frame's power in `band_hz`.
    flatness: the least spectral flatness in `band_hz` (noise, not tone). min_run_s: the
    shortest run of grinding-like frames (shorter: a knock, a click, a fricative). min_s:
    an episode with this much grinding-like time has a grinding sound. margin_s: the time
    either side of the episode still counted as its own.
    """

    band_hz: tuple[float, float] = bounded((1000.0, 6000.0), 100.0, 20000.0, "Hz")
    active_db: float = bounded(10.0, 3.0, 40.0, "dB")
    high_share: float = bounded(0.6, 0.1, 0.99)
    flatness: float = bounded(0.3, 0.01, 0.99)
    min_run_s: float = bounded(0.2, 0.016, 2.0, "s")
    min_s: float = bounded(0.5, 0.05, 10.0, "s")
    margin_s: float = bounded(1.0, 0.0, 5.0, "s")

    def __post_init__(self) -> None:
        check_bounds(self)
        low, high = self.band_hz
        if not low < high:
            raise ValueError(f"band_hz must be [low, high] with low < high, got [{low}, {high}]")


@dataclass(frozen=True)
class SignalConfig:
    """The whole signal chain. `masseter_channels` picks the channels scored (None = all)."""

    filter: FilterConfig = field(default_factory=FilterConfig)
    ecg: EcgConfig = field(default_factory=EcgConfig)
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    heart: HeartConfig = field(default_factory=HeartConfig)
    movement: MovementConfig = field(default_factory=MovementConfig)
    sound: SoundConfig = field(default_factory=SoundConfig)
    masseter_channels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.detector.episode_gap_s < self.quality.block_s:
            raise ValueError("episode_gap_s must be at least the quality block length")
