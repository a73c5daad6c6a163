"""The simulated wearer beyond the jaw: heart, body position, body movement and wakefulness,
and the jaw activity that is not bruxism, with the ground truth each leaves.

What the sleep lab sees around a night's jaw activity, as the simulator scripts it:
- a sleep-bruxism episode follows a micro-arousal: the heart rate starts rising 3 s before
  the jaw fires, peaks 2 s after onset `rise` above its level (0.25-0.45) and settles over
  the next 10 s (`heart_rise`). A share `arousal_share` of the episodes has one; the rest
  a rise of at most 8 %;
- micro-arousals without jaw activity raise the heart rate the same way;
- other oromotor activity (sleep talking, lip and tongue movements) fires the masseter in
  episode-like bursts with no arousal: EMG alone counts it, the heart does not;
- body movements (2-8 s) shake the accelerometer, half of them turn the sleeper to another
  position, half come with an arousal, and a share (`movement_emg_share`) bring jaw EMG of
  their own;
- wake bouts (3-15 min, the first at the start: the time to fall asleep) hold restless
  movement every 15-60 s and no sleep-bruxism episodes.
All of it is drawn from its own random stream, apart from the EMG script's, so a night
without these extras is the night it always was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bruxwatch.signal.movement import UP_AXIS

ACCEL_FS = 25.0
PPG_FS = 50.0
"""The simulated pulse sensor's rate (Hz)."""
PULSE_TRANSIT_S = 0.25
"""From the R wave to the pulse's arrival at a finger (s)."""
"""The simulated accelerometer's rate (Hz), the Cyton's."""
ACCEL_NOISE_G = 0.005
"""The accelerometer's noise per axis (g RMS) when still."""
RISE_BEFORE_S, PEAK_AFTER_S, SETTLE_S = 3.0, 2.0, 10.0
"""A micro-arousal's heart-rate rise: it starts this long before the onset, peaks this
long after it and is gone this long after the peak (s)."""
POSITION_WEIGHTS = {"supine": 0.45, "left": 0.25, "right": 0.2, "prone": 0.1}
"""How likely each lying position is after a turn."""


@dataclass(frozen=True)
class BodyRates:
    """What the body adds, per hour of recording (see SimulatorConfig)."""

    movements_per_hour: float
    movement_emg_share: float
    oromotor_per_hour: float
    arousals_per_hour: float
    arousal_share: float
    wake_bouts: int


def heart_rise(t: np.ndarray, onset_s: float, rise: float) -> np.ndarray:
    """The fractional heart-rate rise of a micro-arousal whose jaw onset is at onset_s (s)."""
    start, peak = onset_s - RISE_BEFORE_S, onset_s + PEAK_AFTER_S
    end = peak + SETTLE_S
    up = np.clip((t - start) / (peak - start), 0.0, 1.0)
    down = np.clip((t - peak) / (end - peak), 0.0, 1.0)
    shape = np.where(t < peak, 0.5 - 0.5 * np.cos(np.pi * up), 0.5 + 0.5 * np.cos(np.pi * down))
    return rise * np.where((t < start) | (t > end), 0.0, shape)


def beat_times(rr_s: np.ndarray, arousals: list[tuple[float, float]]) -> np.ndarray:
    """Beat times (s) from resting RR intervals `rr_s`, each shortened by the heart-rate
    rise of the arousals (onset s, rise) at the time it starts."""
    if not arousals:
        return np.cumsum(rr_s)
    duration = float(np.sum(rr_s))
    grid = np.arange(0.0, duration + 1.0, 0.05)
    factor = np.ones_like(grid)
    for onset, rise in arousals:
        lo, hi = np.searchsorted(grid, [onset - RISE_BEFORE_S, onset + PEAK_AFTER_S + SETTLE_S])
        factor[lo:hi] += heart_rise(grid[lo:hi], onset, rise)
    out = np.empty_like(rr_s)
    t = 0.0
    for k, rr in enumerate(rr_s.tolist()):
        t += rr / factor[min(int(t * 20.0), factor.size - 1)]
        out[k] = t
    return out


def accelerometer(
    duration_s: float,
    positions: list[tuple[float, str]],
    movements: list[tuple[float, float]],
    rng: np.random.Generator,
) -> np.ndarray:
    """The whole night's accelerometer at ACCEL_FS: float32 (3, n) in g. Each stretch in a
    position reads that position's up axis tilted a little; a movement shakes all three
    axes and, when the position changes at it, turns the reading across it."""
    n = int(duration_s * ACCEL_FS)
    t = np.arange(n) / ACCEL_FS
    up = np.zeros((3, n))
    ends = [start for start, _ in positions[1:]] + [duration_s + 1.0]
    tilts = [_tilted(UP_AXIS[p], rng) for _, p in positions]
    for (start, _), end, tilt in zip(positions, ends, tilts, strict=True):
        lo, hi = np.searchsorted(t, [start, end])
        up[:, lo:hi] = tilt[:, None]
    shaking = np.zeros((3, n))
    for m0, m1 in movements:  # a turn goes from the old reading to the new one
        lo, hi = np.searchsorted(t, [m0, m1])
        if hi <= lo:
            continue
        before, after = up[:, max(lo - 1, 0)].copy(), up[:, min(hi, n - 1)].copy()
        s = (t[lo:hi] - m0) / max(m1 - m0, 1e-9)
        up[:, lo:hi] = _turn(before, after, 0.5 - 0.5 * np.cos(np.pi * s))
        window = np.sin(np.pi * s) ** 2
        for axis in range(3):
            for _ in range(3):
                f, a, phase = rng.uniform(0.5, 3.0), rng.uniform(0.05, 0.25), rng.uniform(0, 6.3)
                shaking[axis, lo:hi] += a * window * np.sin(2 * np.pi * f * (t[lo:hi] - m0) + phase)
    up += shaking
    up += rng.normal(0.0, ACCEL_NOISE_G, size=up.shape)
    return up.astype(np.float32)


def _tilted(axis: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    """A position's up axis tilted by up to ~10 degrees (nobody lies exactly square)."""
    v = np.asarray(axis) + rng.normal(0.0, 0.1, 3)
    return v / np.linalg.norm(v)


def _turn(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Unit vectors from a to b (3,) along a great circle, s in [0, 1] (n,); from one side
    to the other (a and b opposite) the way over the back or the front."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    cos = float(np.clip(a @ b, -1.0, 1.0))
    if cos > 0.9999:
        return np.repeat(a[:, None], s.size, axis=1)
    if cos < -0.9:  # roll across: through the axis least like either
        across = np.eye(3)[int(np.argmin(np.abs(a)))]
        mid = across - (across @ a) * a
        mid /= np.linalg.norm(mid)
        first = s < 0.5
        out = np.empty((3, s.size))
        out[:, first] = _slerp(a, mid, 2 * s[first])
        out[:, ~first] = _slerp(mid, b, 2 * s[~first] - 1)
        return out
    return _slerp(a, b, s)


def _slerp(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    angle = math.acos(float(np.clip(a @ b, -1.0, 1.0)))
    if angle < 1e-6:
        return np.repeat(a[:, None], s.size, axis=1)
    return (
        np.sin((1 - s) * angle)[None, :] * a[:, None] + np.sin(s * angle)[None, :] * b[:, None]
    ) / math.sin(angle)


def next_position(current: str, rng: np.random.Generator) -> str:
    """The lying position after a turn: another than `current`, by POSITION_WEIGHTS."""
    names = [p for p in POSITION_WEIGHTS if p != current]
    weights = np.array([POSITION_WEIGHTS[p] for p in names])
    return str(rng.choice(names, p=weights / weights.sum()))


def pulse_wave(
    duration_s: float,
    beats: np.ndarray,
    movements: list[tuple[float, float]],
    rng: np.random.Generator,
) -> np.ndarray:
    """The night's PPG at PPG_FS, float32 (1, n) in arbitrary units: a pulse per beat
    (a systolic rise and fall, then a smaller dicrotic wave), PULSE_TRANSIT_S after each R
    wave, its amplitude varying a little from beat to beat, over a breathing wander, with
    sensor noise; a body movement swamps it (large, slow artifacts)."""
    n = int(duration_s * PPG_FS)
    t = np.arange(n) / PPG_FS
    out = 0.3 * np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 6.3))  # breathing
    amplitudes = rng.uniform(0.8, 1.2, beats.size)
    for beat, amplitude in zip(beats.tolist(), amplitudes.tolist(), strict=True):
        arrival = beat + PULSE_TRANSIT_S
        lo, hi = np.searchsorted(t, [arrival - 0.1, arrival + 0.8])
        u = t[lo:hi] - arrival
        systolic = np.exp(-0.5 * ((u - 0.1) / 0.07) ** 2)
        dicrotic = 0.35 * np.exp(-0.5 * ((u - 0.38) / 0.08) ** 2)
        out[lo:hi] += amplitude * (systolic + dicrotic)
    out += 0.03 * rng.standard_normal(n)
    for m0, m1 in movements:
        lo, hi = np.searchsorted(t, [m0, m1])
        if hi > lo:
            f = rng.uniform(0.5, 2.0)
            out[lo:hi] += 3.0 * np.sin(2 * np.pi * f * (t[lo:hi] - m0)) * rng.uniform(0.5, 1.5)
    return out[None, :].astype(np.float32)
