"""Simulated masseter surface EMG with scripted clench episodes and their ground truth.

The signal, in µV, per channel (left/right masseter):
- a band-limited noise carrier with a masseter-like spectrum (2nd-order band-pass 30–300 Hz),
  amplitude-modulated by an activation envelope: a rest floor plus scripted activations with
  raised-cosine ramps (phasic, tonic and mixed episodes, swallows of 0.2-0.35 s, twitches,
  maximal clenches);
- mains hum at 50 or 60 Hz with 2nd and 3rd harmonics, an ECG-like QRS train, baseline wander
  with a DC electrode offset, and electrode pops (a step decaying exponentially).

Everything is drawn from one seeded generator in fixed 1-s blocks, so the samples do not depend
on the chunk size asked for. Ground truth lists every activation; only episodes should score.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import signal as sps

from bruxwatch.signal.calibration import PROTOCOL
from bruxwatch.stream import Chunk, StreamInfo

Scenario = Literal["night", "awake", "calibration"]
SCENARIOS: tuple[str, ...] = ("night", "awake", "calibration")
ActivationKind = Literal["phasic", "tonic", "mixed", "swallow", "twitch", "mvc"]


@dataclass(frozen=True)
class SimulatorConfig:
    """What to simulate.

    duration_s: length in seconds (None: 8 h for `night`, 10 min for `awake`; `calibration`
        is always just the calibration sequence). Rates are per hour of recording.
    calibrate: put the calibration sequence (rest, then three maximal clenches) first.
    rest_uv / mvc_uv: RMS amplitude of the EMG at rest and at maximal voluntary clench (µV).
    chunk_s: length of the chunks `chunks()` yields; realtime: pace them to the wall clock.
    feedback_response: how the simulated wearer answers a buzz (`vibrate`): the clench burst
        under way when it arrives lasts only this fraction of what was left of it (0.5: half
        as long). None: the wearer ignores feedback. Used to test the evidence estimates.

    What real bedrooms add (the defaults are a clean night):
    mains_uv: RMS of the mains fundamental (µV); harmonics_uv: RMS of the 2nd, 3rd, ...
        harmonics (µV); None: 0.3 and 0.2 × mains_uv for the 2nd and 3rd.
    ecg_uv: peak of the QRS complexes the heart puts into the masseter leads (µV).
    rest_drift: the rest floor rises linearly over the recording to this multiple of
        rest_uv (electrodes drying: 3 means it triples by the end).
    clench_pct: range (% MVC) the amplitude of each episode is drawn from.
    packet_loss: fraction of radio packets of `packet_samples` samples lost, each alone
        (what a Cyton dongle or a BLE link does); the chunks then skip them
        (`missing_before`), and `lost_samples()` tells which.
    dead_leads: channels (1-based, as in device specs) whose electrode is off all night:
        they read a constant (the amplifier's offset), which the quality gate calls flat.
    """

    scenario: Scenario = "night"
    duration_s: float | None = None
    fs: float = 1000.0
    channels: int = 2
    seed: int = 0
    calibrate: bool = False
    episodes_per_hour: float | None = None
    swallows_per_hour: float | None = None
    twitches_per_hour: float | None = None
    pops_per_hour: float | None = None
    mains_hz: float = 50.0
    mains_uv: float = 4.0
    rest_uv: float = 2.5
    mvc_uv: float = 250.0
    ecg_uv: float = 12.0
    harmonics_uv: tuple[float, ...] | None = None
    rest_drift: float = 1.0
    clench_pct: tuple[float, float] = (20.0, 60.0)
    packet_loss: float = 0.0
    packet_samples: int = 1
    dead_leads: tuple[int, ...] = ()
    chunk_s: float = 0.01
    realtime: bool = False
    feedback_response: float | None = None

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose {', '.join(SCENARIOS)}")
        if not self.fs >= 100:
            raise ValueError(f"simulated sample rate must be at least 100 Hz, got {self.fs:g}")
        if not 1 <= self.channels <= 16:
            raise ValueError(f"simulated channels must be 1-16, got {self.channels}")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError("simulated duration must be positive")
        if not 0 <= self.packet_loss < 0.5:
            raise ValueError(f"packet loss must be 0-0.5, got {self.packet_loss:g}")
        if self.packet_samples < 1:
            raise ValueError(f"packet_samples must be at least 1, got {self.packet_samples}")
        if not self.rest_drift > 0:
            raise ValueError(f"rest_drift must be positive, got {self.rest_drift:g}")
        if any(not 1 <= c <= self.channels for c in self.dead_leads):
            raise ValueError(
                f"dead_leads must be channels 1-{self.channels}, got {self.dead_leads}"
            )
        low, high = self.clench_pct
        if not 0 < low <= high <= 150:
            raise ValueError(f"clench_pct must be 0 < low <= high <= 150, got {self.clench_pct}")


_DEFAULT_RATES = {  # per hour: episodes, swallows, twitches, pops
    "night": (5.0, 6.0, 30.0, 2.0),
    "awake": (30.0, 40.0, 60.0, 4.0),
    "calibration": (0.0, 0.0, 0.0, 0.0),
}


@dataclass(frozen=True)
class Activation:
    """One scripted muscle activation: bursts (start_s, end_s) at `amplitude` × MVC per channel."""

    kind: ActivationKind
    bursts: tuple[tuple[float, float], ...]
    amplitude: tuple[float, ...]

    @property
    def start_s(self) -> float:
        return self.bursts[0][0]

    @property
    def end_s(self) -> float:
        return self.bursts[-1][1]


@dataclass
class GroundTruth:
    """What the simulator put in: the episodes to find and everything that must not count."""

    fs: float
    duration_s: float
    activations: list[Activation] = field(default_factory=list)
    pops: list[tuple[float, int]] = field(default_factory=list)  # (time s, channel)
    rest_s: tuple[float, float] | None = None
    mvc_s: tuple[float, float] | None = None

    @property
    def episodes(self) -> list[Activation]:
        return [a for a in self.activations if a.kind in ("phasic", "tonic", "mixed")]

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, data: dict) -> GroundTruth:
        acts = [
            Activation(
                kind=a["kind"],
                bursts=tuple(tuple(b) for b in a["bursts"]),
                amplitude=tuple(a["amplitude"]),
            )
            for a in data["activations"]
        ]
        return cls(
            fs=data["fs"],
            duration_s=data["duration_s"],
            activations=acts,
            pops=[tuple(p) for p in data["pops"]],
            rest_s=tuple(data["rest_s"]) if data.get("rest_s") else None,
            mvc_s=tuple(data["mvc_s"]) if data.get("mvc_s") else None,
        )


class Simulator:
    """A Device that streams simulated masseter EMG (µV) and knows its ground truth."""

    BLOCK_S = 1.0

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config = config or SimulatorConfig()
        self.fs = config.fs
        names = ("left_masseter", "right_masseter")
        channels = tuple(
            names[i] if config.channels <= 2 else f"ch{i + 1}" for i in range(config.channels)
        )
        self.info = StreamInfo(
            fs=config.fs,
            channels=channels,
            units="uV",
            kind="raw",
            device=f"simulator ({config.scenario}, seed {config.seed})",
        )
        script_rng = np.random.default_rng([config.seed, 1])
        self.truth = _script(config, script_rng)
        self.n_samples = int(round(self.truth.duration_s * config.fs))
        self._closed = False
        self._activations = sorted(self.truth.activations, key=lambda a: a.start_s)
        self._position_s = 0.0
        self.vibrations: list[tuple[float, int, int]] = []  # (time s, ms, strength)
        # answering buzzes needs the session to stay in step (at most one chunk read ahead)
        self.max_ahead_chunks = 1 if config.feedback_response is not None else None
        self._lost = _lost_packets(config, self.n_samples) if config.packet_loss > 0 else None
        self._delivered_until = 0  # end of the last sample delivered, with packet loss

    # ------------------------------------------------------------------------ Device API
    def chunks(self) -> Iterator[Chunk]:
        """Chunks of `chunk_s` seconds, paced to the wall clock when `realtime`."""
        size = max(1, round(self.config.chunk_s * self.fs))
        started = time.monotonic()
        buffer = np.zeros((self.info.n_channels, 0), dtype=np.float32)
        index = self._delivered_until = 0
        for block in self._blocks():
            buffer = np.concatenate((buffer, block), axis=1) if buffer.shape[1] else block
            while buffer.shape[1] >= size or (
                buffer.shape[1] and index + buffer.shape[1] >= self.n_samples
            ):
                take = min(size, buffer.shape[1])
                chunk = Chunk(first_index=index, samples=buffer[:, :take])
                buffer = buffer[:, take:]
                index += take
                if self.config.realtime:
                    delay = started + index / self.fs - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if self._closed:
                    return
                self._position_s = chunk.end_index / self.fs
                if self._lost is None:
                    yield chunk
                else:
                    yield from self._without_lost(chunk)

    def lost_samples(self) -> np.ndarray:
        """Sorted indices of the samples `chunks()` leaves out (lost packets); empty without
        `packet_loss`. Drawn once from the seed, so they do not depend on the chunk size."""
        return np.zeros(0, dtype=np.int64) if self._lost is None else self._lost

    def _without_lost(self, chunk: Chunk) -> Iterator[Chunk]:
        """The chunk split around the lost samples inside it, each piece saying how many
        samples were lost just before it (also those at the end of the chunk before)."""
        lost = self._lost
        assert lost is not None
        lo, hi = np.searchsorted(lost, [chunk.first_index, chunk.end_index])
        keep = np.ones(chunk.n, dtype=np.int8)
        keep[lost[lo:hi] - chunk.first_index] = 0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], keep, [0]))))
        for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
            first = chunk.first_index + start
            missing = first - self._delivered_until
            self._delivered_until = chunk.first_index + end
            yield Chunk(first, chunk.samples[:, start:end], missing)

    def vibrate(self, ms: int, strength: int = 255) -> None:
        """A buzz reaches the simulated wearer now (at the end of the last chunk delivered).
        With `feedback_response` the burst under way is shortened from the next chunk on."""
        now = self._position_s
        self.vibrations.append((now, int(ms), int(strength)))
        factor = self.config.feedback_response
        if factor is None:
            return
        for k, act in enumerate(self._activations):
            if act.start_s > now:
                break
            for j, (b0, b1) in enumerate(act.bursts):
                if b0 <= now < b1:
                    bursts = list(act.bursts)
                    bursts[j] = (b0, now + factor * (b1 - now))
                    changed = Activation(act.kind, tuple(bursts), act.amplitude)
                    self._activations[k] = changed
                    self.truth.activations[self.truth.activations.index(act)] = changed
                    return

    def close(self) -> None:
        self._closed = True

    def generate(self) -> np.ndarray:
        """The whole recording at once: float32 (channels, n) in µV."""
        out = np.empty((self.info.n_channels, self.n_samples), dtype=np.float32)
        pos = 0
        for block in self._blocks():
            out[:, pos : pos + block.shape[1]] = block
            pos += block.shape[1]
        return out

    # ------------------------------------------------------------------------- synthesis
    def _blocks(self) -> Iterator[np.ndarray]:
        cfg, fs = self.config, self.fs
        rng = np.random.default_rng([cfg.seed, 2])
        n_ch = self.info.n_channels
        block_s = self.BLOCK_S
        if cfg.feedback_response is not None:  # generate just in time, so a buzz can act
            block_s = min(self.BLOCK_S, max(cfg.chunk_s, 1.0 / fs))
        block = int(round(block_s * fs))
        carrier_sos = sps.butter(
            2, [30.0, min(300.0, 0.4 * fs)], btype="bandpass", fs=fs, output="sos"
        )
        gain = np.sqrt(np.sum(sps.sosfilt(carrier_sos, _impulse(4 * int(fs))) ** 2))
        zi = np.zeros((carrier_sos.shape[0], n_ch, 2))
        beats = _heartbeats(self.truth.duration_s, rng)
        wander_f = rng.uniform(0.05, 0.3, size=(n_ch, 2))
        wander_phase = rng.uniform(0, 2 * np.pi, size=(n_ch, 2))
        offsets = rng.uniform(-300, 300, size=(n_ch, 1))
        mains_phase = rng.uniform(0, 2 * np.pi)
        side = rng.uniform(0.7, 1.0, size=n_ch)
        activations = self._activations  # shared with vibrate(), which may shorten bursts
        starts = np.array([a.start_s for a in activations])
        for first in range(0, self.n_samples, block):
            n = min(block, self.n_samples - first)
            t = (first + np.arange(n)) / fs
            noise = rng.standard_normal((n_ch, n))
            carrier, zi = sps.sosfilt(carrier_sos, noise, axis=-1, zi=zi)
            carrier /= gain
            if cfg.rest_drift == 1.0:
                envelope = np.full((n_ch, n), cfg.rest_uv)
            else:
                rise = (cfg.rest_drift - 1.0) / self.truth.duration_s
                envelope = np.tile(cfg.rest_uv * (1.0 + rise * t), (n_ch, 1))
            hi = np.searchsorted(starts, t[-1] + 1e-9)
            for act in activations[max(0, hi - 8) : hi]:  # activations are short and sparse
                if act.end_s + 0.2 < t[0]:
                    continue
                amp = np.asarray(act.amplitude)[:n_ch] * side[: len(act.amplitude)] * cfg.mvc_uv
                for b0, b1 in act.bursts:
                    envelope += amp[:, None] * _ramped(t, b0, b1)[None, :]
            x = carrier * envelope
            x += offsets + 50.0 * np.sin(2 * np.pi * wander_f[:, :1] * t + wander_phase[:, :1])
            x += 25.0 * np.sin(2 * np.pi * wander_f[:, 1:] * t + wander_phase[:, 1:])
            mains = 2 * np.pi * cfg.mains_hz * t + mains_phase
            if cfg.harmonics_uv is None:
                hum = np.sin(mains) + 0.3 * np.sin(2 * mains + 1.0) + 0.2 * np.sin(3 * mains + 2.0)
                x += cfg.mains_uv * np.sqrt(2) * hum
            else:
                hum = cfg.mains_uv * np.sin(mains)
                for k, rms in enumerate(cfg.harmonics_uv, start=2):
                    if rms and k * cfg.mains_hz < fs / 2:
                        hum += rms * np.sin(k * mains + (k - 1.0))
                x += np.sqrt(2) * hum
            x += cfg.ecg_uv * _qrs_train(t, beats)
            for when, channel in self.truth.pops:
                if channel < n_ch and when <= t[-1] and when + 2.0 >= t[0]:
                    x[channel] += _pop(t, when, amplitude_uv=400.0)
            for lead in cfg.dead_leads:
                x[lead - 1] = offsets[lead - 1]
            yield x.astype(np.float32)


# ------------------------------------------------------------------------------ scripting
def _script(cfg: SimulatorConfig, rng: np.random.Generator) -> GroundTruth:
    """Place every activation of the recording, with the spacing rules that keep truth clear."""
    defaults = _DEFAULT_RATES[cfg.scenario]
    rates = [
        d if v is None else v
        for v, d in zip(
            (
                cfg.episodes_per_hour,
                cfg.swallows_per_hour,
                cfg.twitches_per_hour,
                cfg.pops_per_hour,
            ),
            defaults,
            strict=True,
        )
    ]
    n_ch = cfg.channels
    truth = GroundTruth(fs=cfg.fs, duration_s=0.0)
    t = 1.0
    if cfg.calibrate or cfg.scenario == "calibration":
        truth.rest_s = PROTOCOL.rest_s
        for start, end in PROTOCOL.clenches_s:
            amp = tuple(rng.uniform(0.95, 1.05, n_ch))
            truth.activations.append(Activation("mvc", ((start, end),), amp))
        truth.mvc_s = PROTOCOL.mvc_s
        t = PROTOCOL.end_s
    if cfg.scenario == "calibration":
        truth.duration_s = t
        return truth
    duration = cfg.duration_s or (8 * 3600.0 if cfg.scenario == "night" else 600.0)
    duration = max(duration, t + 1.0)
    truth.duration_s = duration
    episode_rate, swallow_rate, twitch_rate, pop_rate = (r / 3600.0 for r in rates)
    total = episode_rate + swallow_rate + twitch_rate
    separation = 8.0  # s of quiet between activations: keeps each one a separate truth item
    t += 5.0
    while total > 0:
        t += separation + rng.exponential(1.0 / total)
        r = rng.uniform(0, total)
        if r < episode_rate:
            act = _episode(t, rng, n_ch, cfg.clench_pct)
        elif r < episode_rate + swallow_rate:
            act = _single("swallow", t, rng.uniform(0.2, 0.35), rng.uniform(0.15, 0.35), rng, n_ch)
        else:
            act = _single("twitch", t, rng.uniform(0.04, 0.15), rng.uniform(0.2, 0.6), rng, n_ch)
        if act.end_s + separation > duration:
            break
        truth.activations.append(act)
        t = act.end_s
    if pop_rate > 0 and duration > 20.0:
        n_pops = rng.poisson(pop_rate * duration)
        for when in np.sort(rng.uniform(5.0, duration - 5.0, n_pops)):
            if all(
                abs(when - a.start_s) > 6 and abs(when - a.end_s) > 6 for a in truth.activations
            ):
                truth.pops.append((float(when), int(rng.integers(n_ch))))
    return truth


def _lost_packets(cfg: SimulatorConfig, n_samples: int) -> np.ndarray:
    """Indices of the samples of single lost packets: packets lost independently with
    probability `packet_loss`, never two in a row (a lost packet or three is what a radio
    link does between dropouts), never the first."""
    rng = np.random.default_rng([cfg.seed, 3])
    size = cfg.packet_samples
    n_packets = -(-n_samples // size)
    expected = int(n_packets * cfg.packet_loss * 1.2) + 100
    steps = rng.geometric(cfg.packet_loss, size=expected) + 1  # >= 2: never back to back
    packets = np.cumsum(steps)
    packets = packets[packets < n_packets]
    samples = (packets[:, None] * size + np.arange(size)[None, :]).ravel()
    return samples[samples < n_samples].astype(np.int64)


def _episode(t: float, rng: np.random.Generator, n_ch: int, pct: tuple[float, float]) -> Activation:
    kind = rng.choice(["phasic", "tonic", "mixed"], p=[0.45, 0.35, 0.2])
    amp = rng.uniform(pct[0] / 100.0, pct[1] / 100.0)
    bursts: list[tuple[float, float]] = []

    def phasic(count: int) -> None:
        nonlocal t
        for _ in range(count):
            d = rng.uniform(0.4, 1.6)
            bursts.append((t, t + d))
            t += d + rng.uniform(0.5, 1.5)

    def tonic(low: float, high: float) -> None:
        nonlocal t
        d = rng.uniform(low, high)
        bursts.append((t, t + d))
        t += d + rng.uniform(0.5, 1.5)

    if kind == "phasic":
        phasic(int(rng.integers(3, 8)))
    elif kind == "tonic":
        tonic(3.0, 15.0)
    else:
        if rng.uniform() < 0.5:
            phasic(int(rng.integers(3, 6)))
            tonic(3.0, 8.0)
        else:
            tonic(3.0, 8.0)
            phasic(int(rng.integers(3, 6)))
    return Activation(str(kind), tuple(bursts), _sides(amp, rng, n_ch))


def _single(kind: ActivationKind, t: float, d: float, amp: float, rng, n_ch: int) -> Activation:
    return Activation(kind, ((t, t + d),), _sides(amp, rng, n_ch))


def _sides(amp: float, rng: np.random.Generator, n_ch: int) -> tuple[float, ...]:
    """Per-channel amplitude; about one activation in five is one-sided."""
    amps = amp * rng.uniform(0.8, 1.0, n_ch)
    if n_ch > 1 and rng.uniform() < 0.2:
        amps[int(rng.integers(n_ch))] *= 0.05
    return tuple(float(a) for a in amps)


# ---------------------------------------------------------------------------- waveforms
def _ramped(t: np.ndarray, start: float, end: float, ramp: float = 0.08) -> np.ndarray:
    """1 inside [start, end], raised-cosine ramps of `ramp` s centred on the edges, 0 outside."""
    ramp = min(ramp, (end - start) / 2)
    up = np.clip((t - (start - ramp / 2)) / ramp, 0.0, 1.0)
    down = np.clip(((end + ramp / 2) - t) / ramp, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def _heartbeats(duration: float, rng: np.random.Generator) -> np.ndarray:
    rr = rng.normal(1.0, 0.05, size=int(duration / 0.7) + 2).clip(0.6, 1.6)
    return np.cumsum(rr)


def _qrs_train(t: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Sum of Mexican-hat QRS complexes (peak 1) at the beat times."""
    out = np.zeros_like(t)
    lo, hi = np.searchsorted(beats, [t[0] - 0.1, t[-1] + 0.1])
    width = 0.012
    for beat in beats[lo:hi]:
        u = (t - beat) / width
        near = np.abs(u) < 6
        out[near] += (1 - u[near] ** 2) * np.exp(-0.5 * u[near] ** 2)
    return out


def _pop(t: np.ndarray, when: float, amplitude_uv: float) -> np.ndarray:
    """An electrode pop: a step that decays with a 0.3-s time constant."""
    dt = t - when
    return np.where(dt >= 0, amplitude_uv * np.exp(-np.clip(dt, 0, None) / 0.3), 0.0)


def _impulse(n: int) -> np.ndarray:
    x = np.zeros(n)
    x[0] = 1.0
    return x


def simulator_from_options(options: dict[str, str]) -> Simulator:
    """Build a Simulator from device-spec options (``sim:scenario=night,seed=3,hours=1``;
    a tuple option's numbers joined by '/': ``harmonics_uv=0/40,clench_pct=12/30``)."""
    fields = {f.name: str(f.type) for f in SimulatorConfig.__dataclass_fields__.values()}
    kwargs: dict[str, object] = {}
    for key, value in options.items():
        kwargs.update(_simulator_option(key, value, fields))
    return Simulator(SimulatorConfig(**kwargs))  # type: ignore[arg-type]


def _simulator_option(key: str, value: str, fields: dict[str, str]) -> dict[str, object]:
    """One spec option as a SimulatorConfig keyword; ValueError naming it for a wrong value."""
    target = key
    if key in ("hours", "minutes"):
        expected, convert = "a number", lambda v: float(v) * (3600 if key == "hours" else 60)
        target = "duration_s"
    elif key not in fields:
        raise ValueError(f"unknown simulator option {key!r}")
    elif "tuple[int" in fields[key]:  # dead_leads=2 or 2/3
        expected, convert = (
            "whole numbers joined by '/'",
            lambda v: tuple(map(_whole, v.split("/"))),
        )
    elif "tuple" in fields[key]:  # numbers joined by '/': harmonics_uv=40/20, clench_pct=12/30
        expected, convert = "numbers joined by '/'", lambda v: tuple(map(float, v.split("/")))
    elif "bool" in fields[key]:
        expected, convert = "1 or 0", lambda v: v.lower() in ("1", "true", "yes", "on")
    elif "int" in fields[key] and "float" not in fields[key]:
        expected, convert = "a whole number", _whole
    elif "float" in fields[key]:
        expected, convert = "a number", float
    else:
        expected, convert = "text", str
    try:
        return {target: convert(value)}
    except ValueError:
        raise ValueError(f"simulator option {key} must be {expected}, got {value!r}") from None


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(text)
    return int(text)
