"""Grinding sounds in a short audio clip around an episode (pure DSP: arrays in, numbers out).

Tooth grinding is friction: a broadband, noise-like rasp whose energy lies mostly above
1 kHz, in strokes of a few tenths of a second to a second as the jaw slides to and fro.
The bedroom's other sounds differ from it in one of three ways, and each is a test on
32-ms frames (16-ms hop, Hann window):

- **loudness**: the frame is at least `active_db` above the clip's quiet floor (its 10th
  percentile frame level), so a steady fan or the room's hiss is never a sound;
- **where the energy lies**: at least `high_share` of the frame's power (100 Hz up to
  8 kHz or Nyquist) is in `band_hz` (1-6 kHz); snoring, voiced speech, swallowing and
  breathing keep most of theirs below 1 kHz;
- **noise, not tone**: the spectral flatness in `band_hz` (geometric over arithmetic mean
  of the power, 1 for white noise, near 0 for a tone; a single frame of noise reads about
  0.5) is at least `flatness`, so whistling, a phone's tone or harmonics are not grinding.

Frames that pass all three are grinding-like; runs of them shorter than `min_run_s` are
dropped (a knock, a click, a fricative of sleep talking lasts one to a few frames).
`GrindingScore.seconds` is the grinding-like time inside the episode (plus `margin_s`
either side), `score` that time over the episode's length (0-1), and `grinding` says
whether it reaches `min_s`. The research criteria for sleep bruxism ask for at least two
grinding sounds a night, which the report counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bruxwatch.signal.config import SoundConfig

FRAME_S = 0.032
HOP_S = 0.016


@dataclass(frozen=True)
class Clip:
    """A stretch of sound kept around an episode: its first sample's time (s on the EMG's
    clock, from the recording's start), its rate (Hz) and its samples (mono, full scale)."""

    start_s: float
    rate: float
    samples: np.ndarray

    @property
    def end_s(self) -> float:
        return self.start_s + self.samples.size / self.rate


@dataclass(frozen=True)
class GrindingScore:
    """The grinding-sound result of one clip for one episode.

    seconds: grinding-like time within the episode (s); score: that over the episode's
    length (0-1); grinding: seconds >= the configured minimum; loudest_db: the loudest
    frame above the clip's floor (dB), to tell a quiet clip from a silent microphone."""

    seconds: float
    score: float
    grinding: bool
    loudest_db: float


def frame_features(samples: np.ndarray, rate: float, config: SoundConfig) -> dict[str, np.ndarray]:
    """Per frame: level above the clip's floor (dB), share of power in the grinding band,
    spectral flatness in that band, and the frame's centre time (s from the clip's start)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    size, hop = int(round(FRAME_S * rate)), int(round(HOP_S * rate))
    if x.size < size:
        empty = np.zeros(0)
        return {"level_db": empty, "high_share": empty, "flatness": empty, "t": empty}
    frames = np.lib.stride_tricks.sliding_window_view(x, size)[::hop]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(size)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    audible = (freqs >= 100.0) & (freqs <= min(8000.0, rate / 2))
    low, high = config.band_hz
    band = (freqs >= low) & (freqs <= min(high, rate / 2))
    tiny = 1e-20
    total = power[:, audible].sum(axis=1) + tiny
    in_band = power[:, band]
    level = 10 * np.log10(total)
    flatness = np.exp(np.log(in_band + tiny).mean(axis=1)) / (in_band.mean(axis=1) + tiny)
    return {
        "level_db": level - np.percentile(level, 10),
        "high_share": in_band.sum(axis=1) / total,
        "flatness": flatness,
        "t": (np.arange(frames.shape[0]) * hop + size / 2) / rate,
    }


def grinding_frames(features: dict[str, np.ndarray], config: SoundConfig) -> np.ndarray:
    """Which frames are grinding-like: loud, mostly in the band, noise-like, and in a run of
    at least `min_run_s` (a gap of one frame does not break a run)."""
    like = (
        (features["level_db"] >= config.active_db)
        & (features["high_share"] >= config.high_share)
        & (features["flatness"] >= config.flatness)
    )
    if like.size == 0:
        return like
    bridged = like.copy()
    bridged[1:-1] |= like[:-2] & like[2:]  # one odd frame inside a stroke
    edges = np.diff(np.r_[0, bridged.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = np.zeros_like(bridged)
    shortest = max(1, int(round(config.min_run_s / HOP_S)))
    for start, end in zip(starts, ends, strict=True):
        if end - start >= shortest:
            keep[start:end] = True
    return keep & like


def score_clip(
    samples: np.ndarray,
    rate: float,
    episode_s: tuple[float, float],
    config: SoundConfig | None = None,
) -> GrindingScore:
    """Score a clip (mono, any scale, `rate` Hz) for grinding during the episode, which lies
    from `episode_s[0]` to `episode_s[1]` seconds after the clip's first sample."""
    config = config or SoundConfig()
    features = frame_features(samples, rate, config)
    if features["t"].size == 0:
        return GrindingScore(0.0, 0.0, False, 0.0)
    grinding = grinding_frames(features, config)
    start, end = episode_s
    inside = (features["t"] >= start - config.margin_s) & (features["t"] <= end + config.margin_s)
    seconds = float(np.count_nonzero(grinding & inside)) * HOP_S
    length = max(end - start, HOP_S)
    return GrindingScore(
        seconds=round(seconds, 3),
        score=round(min(1.0, seconds / length), 3),
        grinding=seconds >= config.min_s,
        loudest_db=round(float(features["level_db"].max()), 1),
    )


def episode_grinding(
    clips: list[Clip], start_s: float, end_s: float, config: SoundConfig | None = None
) -> GrindingScore | None:
    """The grinding score of the episode from `start_s` to `end_s` (s) in the clip that
    holds its onset (the one that holds the most of it, if several), or None without one."""
    holding = [c for c in clips if c.start_s <= start_s < c.end_s]
    if not holding:
        return None
    clip = max(holding, key=lambda c: min(c.end_s, end_s) - start_s)
    span = (start_s - clip.start_s, end_s - clip.start_s)
    return score_clip(clip.samples, clip.rate, span, config)
