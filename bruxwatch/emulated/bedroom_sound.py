"""What a microphone by the bed hears, simulated: a fan's steady noise all night, and the
night's sounds at the times the night's script gives them.

- grinding: strokes of friction as the jaw slides to and fro (0.3-0.9 s each, 0.15-0.5 s
  apart): noise shaped to 1-7 kHz, rasping (its loudness jitters at 30-90 Hz, stick-slip);
- snoring: one snore per breath (every 3-5 s, about 1 s long), a buzz at 50-120 Hz with its
  harmonics, most of its energy below 1 kHz;
- sleep talking: voiced syllables (a 100-250 Hz voice through two formants) with a short
  hissed consonant (80-150 ms of high-band noise) now and then;
- knocks: a click or a bump (20-60 ms, broadband, decaying);
- swallowing: a low gulp (0.3-0.6 s, 150-600 Hz).

`BedroomSound.clip(start_s, end_s)` renders any stretch of the night the same way every
time (each sound is drawn from its own seed), at `rate` Hz, in full-scale units (a fan at
about -50 dBFS, sounds 20-35 dB above it), so a simulated microphone can hand the clip
keeper exactly what it asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal as sps

from bruxwatch.signal.sound import Clip

RATE = 16_000.0
"""The simulated microphone's sample rate, Hz."""

KINDS = ("grinding", "snoring", "talking", "knock", "swallow")


@dataclass(frozen=True)
class Sound:
    """One sound of the night: its kind, when (s from the night's start) and for how long."""

    kind: str
    start_s: float
    duration_s: float
    seed: int

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass
class BedroomSound:
    """The night's sounds, rendered on request. `sounds` must be sorted by start."""

    sounds: list[Sound] = field(default_factory=list)
    rate: float = RATE
    fan_dbfs: float = -50.0
    seed: int = 0

    def clip(self, start_s: float, end_s: float) -> np.ndarray:
        """The microphone's samples from `start_s` to `end_s` (s from the night's start),
        float32 in full-scale units."""
        n = max(0, int(round((end_s - start_s) * self.rate)))
        first = int(round(start_s * self.rate))
        out = _fan(first, n, self.rate, self.fan_dbfs, self.seed)
        for sound in self.sounds:
            if sound.end_s <= start_s or sound.start_s >= end_s:
                continue
            rendered = render(sound, self.rate)
            offset = int(round(sound.start_s * self.rate)) - first
            lo, hi = max(0, offset), min(n, offset + rendered.size)
            if hi > lo:
                out[lo:hi] += rendered[lo - offset : hi - offset]
        return out.astype(np.float32)


def _fan(first: int, n: int, rate: float, dbfs: float, seed: int) -> np.ndarray:
    """Steady pink-ish noise; each second of the night drawn from its own seed, so any
    stretch renders the same whichever clip asks for it."""
    if n == 0:
        return np.zeros(0)
    per = int(rate)
    blocks = range(first // per, (first + n - 1) // per + 1)
    noise = np.concatenate(
        [np.random.default_rng((seed, 7, b)).standard_normal(per) for b in blocks]
    )
    b, a = sps.butter(1, 800.0, fs=rate)  # most of a fan's noise is low
    shaped = sps.lfilter(b, a, noise) + 0.15 * noise
    shaped *= 10 ** (dbfs / 20) / max(np.std(shaped), 1e-12)
    start = first - blocks[0] * per
    return shaped[start : start + n]


def render(sound: Sound, rate: float = RATE) -> np.ndarray:
    """One sound's samples (full-scale units), `duration_s` long."""
    rng = np.random.default_rng((sound.seed, KINDS.index(sound.kind)))
    n = max(1, int(round(sound.duration_s * rate)))
    t = np.arange(n) / rate
    level = 10 ** (rng.uniform(-30.0, -15.0) / 20)
    if sound.kind == "grinding":
        out = _grinding(n, t, rate, rng)
    elif sound.kind == "snoring":
        out = _snoring(n, t, rate, rng)
    elif sound.kind == "talking":
        out = _talking(n, t, rate, rng)
    elif sound.kind == "knock":
        out = _knocks(n, t, rate, rng)
    else:
        out = _swallow(n, t, rate, rng)
    return level * out / max(float(np.sqrt(np.mean(out**2))), 1e-12)


def _strokes(t: np.ndarray, rng, on: tuple[float, float], off: tuple[float, float]):
    """A 0-1 envelope of strokes (each `on` s long, `off` s apart, smooth edges)."""
    envelope = np.zeros_like(t)
    at = rng.uniform(0.0, 0.2)
    while at < t[-1]:
        length = rng.uniform(*on)
        inside = (t >= at) & (t < at + length)
        envelope[inside] = np.sin(np.pi * (t[inside] - at) / length) ** 0.5
        at += length + rng.uniform(*off)
    return envelope


def _grinding(n, t, rate, rng):
    noise = rng.standard_normal(n)
    high = min(7000.0, rate / 2 * 0.95)
    b, a = sps.butter(4, [1000.0, high], btype="band", fs=rate)
    friction = sps.lfilter(b, a, noise)
    rasp = 1.0 + 0.6 * np.sin(2 * np.pi * rng.uniform(30, 90) * t + rng.uniform(0, 6.3))
    return friction * rasp * _strokes(t, rng, (0.3, 0.9), (0.15, 0.5))


def _harmonics(t, f0, rng, top_hz):
    out = np.zeros_like(t)
    k = 1
    while k * f0 < top_hz:
        out += np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) / k
        k += 1
    return out


def _snoring(n, t, rate, rng):
    buzz = _harmonics(t, rng.uniform(50, 120), rng, 1500.0)
    b, a = sps.butter(2, 900.0, fs=rate)
    buzz = sps.lfilter(b, a, buzz + 0.2 * rng.standard_normal(n))
    period = rng.uniform(3.0, 5.0)
    breath = np.clip(np.sin(2 * np.pi * t / period), 0, None) ** 2
    return buzz * breath


def _talking(n, t, rate, rng):
    voice = _harmonics(t, rng.uniform(100, 250), rng, 4000.0)
    formants = np.zeros(n)
    for centre in (rng.uniform(300, 800), rng.uniform(900, 2200)):
        b, a = sps.iirpeak(centre, 4.0, fs=rate)
        formants += sps.lfilter(b, a, voice)
    speech = formants * _strokes(t, rng, (0.15, 0.35), (0.05, 0.2))
    b, a = sps.butter(4, [3000.0, min(7000.0, rate / 2 * 0.95)], btype="band", fs=rate)
    hiss = sps.lfilter(b, a, rng.standard_normal(n))
    hissing = _strokes(t, rng, (0.08, 0.15), (0.6, 1.5))
    return speech + 0.8 * hiss * hissing * np.std(speech) / max(np.std(hiss), 1e-12)


def _knocks(n, t, rate, rng):
    out = np.zeros(n)
    at = rng.uniform(0.0, 0.3)
    while at < t[-1]:
        i = int(at * rate)
        length = int(rng.uniform(0.02, 0.06) * rate)
        j = min(n, i + length)
        out[i:j] += rng.standard_normal(j - i) * np.exp(-np.arange(j - i) / (0.008 * rate))
        at += rng.uniform(0.4, 1.5)
    return out


def _swallow(n, t, rate, rng):
    b, a = sps.butter(2, [150.0, 600.0], btype="band", fs=rate)
    gulp = sps.lfilter(b, a, rng.standard_normal(n))
    return gulp * np.sin(np.pi * t / t[-1]) ** 2 if t[-1] > 0 else gulp


DISTRACTORS = ("snoring", "talking", "knock", "swallow")
DURATION_S = {"snoring": (20.0, 90.0), "talking": (2.0, 8.0), "knock": (0.5, 3.0)}


def night_sounds(truth, grinding_share: float, sounds_per_hour: float, seed: int) -> list[Sound]:
    """The night's sounds from its script (`scenario.GroundTruth`): grinding through
    `grinding_share` of the phasic and mixed episodes, sleep talking or swallowing with
    each oromotor activity and swallowing with each swallow, and `sounds_per_hour` other
    sounds at random times, by kind in turn. Drawn from their own random stream."""
    rng = np.random.default_rng([seed, 6])
    sounds: list[Sound] = []
    for k, act in enumerate(truth.activations):
        if act.kind in ("phasic", "mixed") and rng.random() < grinding_share:
            sounds.append(Sound("grinding", act.start_s, act.end_s - act.start_s, k))
        elif act.kind == "oromotor":
            kind = "talking" if rng.random() < 0.5 else "swallow"
            sounds.append(Sound(kind, act.start_s, max(act.end_s - act.start_s, 1.0), k))
        elif act.kind == "swallow":
            sounds.append(Sound("swallow", act.start_s, max(act.end_s - act.start_s, 0.4), k))
    count = rng.poisson(sounds_per_hour * truth.duration_s / 3600.0)
    for j, start in enumerate(np.sort(rng.uniform(0.0, truth.duration_s, count))):
        kind = DISTRACTORS[j % len(DISTRACTORS)]
        low, high = DURATION_S.get(kind, (0.4, 0.8))
        sounds.append(Sound(kind, float(start), float(rng.uniform(low, high)), 10_000 + j))
    return sorted(sounds, key=lambda s: s.start_s)


class SimulatedMicrophone:
    """A microphone in the simulated bedroom: any stretch of the night on request, on the
    EMG's clock (the clip keeper's `SoundSource`)."""

    def __init__(self, bedroom: BedroomSound, description: str) -> None:
        self.bedroom = bedroom
        self.rate = bedroom.rate
        self.description = description

    def at(self, emg_s: float) -> None:
        pass  # the simulated room runs on the EMG's clock already

    def clip(self, start_s: float, end_s: float) -> Clip | None:
        if end_s <= start_s:
            return None
        return Clip(start_s, self.rate, self.bedroom.clip(start_s, end_s))

    def close(self) -> None:
        pass
