"""The simulated night's script: what the wearer does (clench episodes, swallows, twitches,
electrode pops, lost radio packets; heart, posture, movement and wakefulness, see
`emulated.body`) and what the bedroom adds, drawn from one seed, and the ground truth it
leaves, against which detection and its confirmation are scored (times in s, amplitudes ×
MVC).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from bruxwatch.emulated.body import next_position
from bruxwatch.signal.calibration import PROTOCOL

Scenario = Literal["night", "awake", "calibration"]
SCENARIOS: tuple[str, ...] = ("night", "awake", "calibration")
ActivationKind = Literal[
    "phasic", "tonic", "mixed", "swallow", "twitch", "mvc", "oromotor", "movement"
]
NOT_BRUXISM = ("swallow", "twitch", "oromotor", "movement")
"""Jaw activity that is not a sleep-bruxism episode: detection must not count it."""


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
    adc_step_uv: quantize like an ADC of this step (µV per count; a Cyton at gain 24:
        0.02235): every sample a whole number of counts, as a board's reader delivers them
        (None: floats, as from LSL).
    noisy_lead: (channel, µV): that channel's electrode makes poor contact all night: white
        noise of that RMS on top of everything (what `bruxwatch check` calls too noisy).
    lead_off: (channel, from s[, until s]): that channel's electrode comes off during the
        night (read as `dead_leads` from then on, or until `until`): the 2-a.m. case the
        lead-off alarm is for.

    The body beyond the jaw (`emulated.body`; per hour of recording):
    accelerometer: deliver a 3-axis accelerometer stream (g, 25 Hz) beside the EMG.
    movements_per_hour: body movements (None: 3 a night's hour, none awake).
    movement_emg_share: the share of body movements that bring jaw EMG (not bruxism).
    oromotor_per_hour: episode-like jaw activity with no arousal (not bruxism).
    arousals_per_hour: heart-rate rises with no jaw activity.
    arousal_share: the share of sleep-bruxism episodes a heart-rate rise comes before.
    wake_bouts: stretches awake (restless, no episodes), the first at the start.
    ecg_lead: one more channel, named "ecg", wired as ECG across the chest, with QRS
        complexes of `ecg_lead_uv` (µV).
    ppg: deliver a pulse sensor's stream (`PPG`, 50 Hz) beside the EMG: the same heart.

    What a microphone by the bed hears (`emulated.bedroom_sound`, for `record --audio sim`):
    grinding_share: the share of phasic and mixed episodes the wearer grinds audibly in
        (tonic episodes are silent clenching); sounds_per_hour: sounds that are not
        grinding (snoring, sleep talking, knocks, swallowing, in turn); each oromotor
        activity and each swallow makes a sound of its own (talking or swallowing).
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
    lead_off: tuple[float, ...] = ()
    noisy_lead: tuple[float, ...] = ()
    adc_step_uv: float | None = None
    chunk_s: float = 0.01
    realtime: bool = False
    feedback_response: float | None = None
    accelerometer: bool = False
    movements_per_hour: float | None = None
    movement_emg_share: float = 0.0
    oromotor_per_hour: float = 0.0
    arousals_per_hour: float = 0.0
    arousal_share: float = 0.92
    wake_bouts: int = 0
    ecg_lead: bool = False
    ecg_lead_uv: float = 1000.0
    ppg: bool = False
    grinding_share: float = 0.5
    sounds_per_hour: float = 6.0

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
        if self.lead_off and not (
            len(self.lead_off) in (2, 3)
            and self.lead_off[0] in range(1, self.channels + 1)
            and 0 <= self.lead_off[1] < (self.lead_off[2] if len(self.lead_off) == 3 else 1e12)
        ):
            raise ValueError(
                f"lead_off is channel/from_s[/until_s] with a channel 1-{self.channels}, "
                f"got {'/'.join(f'{v:g}' for v in self.lead_off)}"
            )
        if self.noisy_lead and not (
            len(self.noisy_lead) == 2
            and self.noisy_lead[0] in range(1, self.channels + 1)
            and self.noisy_lead[1] >= 0
        ):
            raise ValueError(f"noisy_lead is channel/uV with a channel 1-{self.channels}")
        for name in ("movement_emg_share", "arousal_share", "grinding_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be 0-1, got {getattr(self, name):g}")
        for name in (
            "movements_per_hour",
            "oromotor_per_hour",
            "arousals_per_hour",
            "sounds_per_hour",
        ):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 600.0:
                raise ValueError(f"{name} must be 0-600, got {value:g}")
        if not 0 <= self.wake_bouts <= 20:
            raise ValueError(f"wake_bouts must be 0-20, got {self.wake_bouts}")
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
    """What the simulator put in: the episodes to find and everything that must not count.

    arousals: (jaw onset or reference time s, fractional heart-rate rise), see
        `body.heart_rise`; movements: body movements (start s, end s); positions: (from s,
        position), the first at 0; wake: stretches awake (start s, end s).
    """

    fs: float
    duration_s: float
    activations: list[Activation] = field(default_factory=list)
    pops: list[tuple[float, int]] = field(default_factory=list)  # (time s, channel)
    rest_s: tuple[float, float] | None = None
    mvc_s: tuple[float, float] | None = None
    arousals: list[tuple[float, float]] = field(default_factory=list)
    movements: list[tuple[float, float]] = field(default_factory=list)
    positions: list[tuple[float, str]] = field(default_factory=lambda: [(0.0, "supine")])
    wake: list[tuple[float, float]] = field(default_factory=list)

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
            arousals=[tuple(a) for a in data.get("arousals", [])],
            movements=[tuple(m) for m in data.get("movements", [])],
            positions=[tuple(p) for p in data.get("positions", [(0.0, "supine")])],
            wake=[tuple(w) for w in data.get("wake", [])],
        )


# ------------------------------------------------------------------------------ scripting
def script(cfg: SimulatorConfig, rng: np.random.Generator) -> GroundTruth:
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
    _script_body(cfg, truth, np.random.default_rng([cfg.seed, 4]))
    return truth


_MOVEMENTS_PER_HOUR = {"night": 3.0, "awake": 0.0, "calibration": 0.0}


def _script_body(cfg: SimulatorConfig, truth: GroundTruth, rng: np.random.Generator) -> None:
    """Wake bouts, body movements and turns, arousals and the jaw activity that is not
    bruxism, placed in the quiet between the jaw's activations (see `emulated.body`)."""
    duration = truth.duration_s
    start = truth.mvc_s[1] + 2.0 if truth.mvc_s else 1.0
    if duration - start < 60.0:
        return
    n_ch = cfg.channels
    busy = [(a.start_s, a.end_s) for a in truth.activations]

    def free(lo: float, hi: float, margin: float) -> bool:
        return (
            lo > start
            and hi < duration - 2.0
            and all(hi + margin <= b0 or lo - margin >= b1 for b0, b1 in busy)
        )

    def times(per_hour: float) -> np.ndarray:
        return np.sort(rng.uniform(start, duration, rng.poisson(per_hour * duration / 3600.0)))

    for k in range(cfg.wake_bouts):
        length = rng.uniform(180.0, 900.0)
        lo = start + 5.0 if k == 0 else rng.uniform(start, duration - length)
        hi = min(lo + length, duration - 5.0)
        if k and any(lo < b and a < hi for a, b in truth.wake):
            continue
        truth.wake.append((float(lo), float(hi)))
        truth.activations = [
            a
            for a in truth.activations
            if a.kind in NOT_BRUXISM or not (lo - 3.0 < a.end_s and a.start_s < hi + 3.0)
        ]
    truth.wake.sort()
    busy = [(a.start_s, a.end_s) for a in truth.activations]
    for act in truth.episodes:  # the micro-arousal before each episode
        rise = (
            rng.uniform(0.25, 0.45) if rng.uniform() < cfg.arousal_share else rng.uniform(0, 0.08)
        )
        truth.arousals.append((act.start_s, float(rise)))
    moves: list[tuple[float, float, bool]] = []  # (start, end, brings jaw EMG)
    for lo, hi in truth.wake:  # restless while awake
        t = lo + rng.uniform(5.0, 30.0)
        while t < hi - 5.0:
            d = rng.uniform(1.0, 4.0)
            if free(t, t + d, 2.0):
                moves.append((t, t + d, False))
            t += d + rng.uniform(15.0, 60.0)
    rate = cfg.movements_per_hour
    for t in times(_MOVEMENTS_PER_HOUR[cfg.scenario] if rate is None else rate):
        d = rng.uniform(2.0, 8.0)
        jaw = rng.uniform() < cfg.movement_emg_share
        if free(t, t + d, 10.0):
            moves.append((float(t), float(t + d), jaw))
            busy.append((t, t + d))
    position = "supine"
    for m0, m1, jaw in sorted(moves):
        truth.movements.append((m0, m1))
        if rng.uniform() < 0.5:
            position = next_position(position, rng)
            truth.positions.append((m0 + 0.5 * (m1 - m0), position))
        if rng.uniform() < 0.5:
            truth.arousals.append((m0, float(rng.uniform(0.25, 0.45))))
        if jaw:
            t0 = m0 + rng.uniform(0.0, 1.0)
            amp = rng.uniform(0.2, 0.5)
            bursts = ((t0, min(m1 + 1.0, t0 + rng.uniform(1.5, 4.0))),)
            truth.activations.append(Activation("movement", bursts, _sides(amp, rng, n_ch)))
    for t in times(cfg.oromotor_per_hour):
        act = _oromotor(float(t), rng, n_ch)
        if free(act.start_s, act.end_s, 8.0) and not _awake(truth, act.start_s):
            truth.activations.append(act)
            busy.append((act.start_s, act.end_s))
    for t in times(cfg.arousals_per_hour):
        if free(t - 15.0, t + 15.0, 0.0):
            truth.arousals.append((float(t), float(rng.uniform(0.25, 0.45))))
            busy.append((t - 15.0, t + 15.0))
    truth.activations.sort(key=lambda a: a.start_s)
    truth.arousals.sort()


def _awake(truth: GroundTruth, t: float) -> bool:
    return any(lo <= t <= hi for lo, hi in truth.wake)


def _oromotor(t: float, rng: np.random.Generator, n_ch: int) -> Activation:
    """Sleep talking, lip or tongue movement: phasic or tonic jaw EMG like an episode's."""
    amp = rng.uniform(0.15, 0.4)
    bursts = []
    if rng.uniform() < 0.5:
        for _ in range(int(rng.integers(3, 6))):
            d = rng.uniform(0.3, 1.0)
            bursts.append((t, t + d))
            t += d + rng.uniform(0.4, 1.2)
    else:
        bursts.append((t, t + rng.uniform(2.5, 5.0)))
    return Activation("oromotor", tuple(bursts), _sides(amp, rng, n_ch))


def lost_packets(cfg: SimulatorConfig, n_samples: int) -> np.ndarray:
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
