"""Simulated masseter surface EMG with scripted clench episodes and their ground truth.

The signal, in µV, per channel (left/right masseter):
- a band-limited noise carrier with a masseter-like spectrum (2nd-order band-pass 30–300 Hz),
  amplitude-modulated by an activation envelope: a rest floor plus scripted activations with
  raised-cosine ramps (phasic, tonic and mixed episodes, swallows of 0.2-0.35 s, twitches,
  maximal clenches);
- mains hum at 50 or 60 Hz with 2nd and 3rd harmonics, an ECG-like QRS train whose rate
  rises with each micro-arousal (`emulated.body`), baseline wander with a DC electrode
  offset, and electrode pops (a step decaying exponentially).
With `accelerometer` a 3-axis accelerometer stream (g, 25 Hz, `ACCEL`) comes beside the EMG:
body position and movement as the script has them.

Everything is drawn from one seeded generator in fixed 1-s blocks, so the samples do not depend
on the chunk size asked for. Ground truth lists every activation; only episodes should score.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
from scipy import signal as sps

from bruxwatch.emulated.bedroom_sound import BedroomSound, SimulatedMicrophone, night_sounds
from bruxwatch.emulated.body import ACCEL_FS, PPG_FS, accelerometer, beat_times, pulse_wave
from bruxwatch.emulated.scenario import Activation, SimulatorConfig, lost_packets, script
from bruxwatch.stream import ACCEL, ECG_CHANNEL, PPG, Chunk, StreamInfo, accelerometer_info


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
        if config.ecg_lead:
            channels += (ECG_CHANNEL,)
        self.info = StreamInfo(
            fs=config.fs,
            channels=channels,
            units="uV",
            kind="raw",
            device=f"simulator ({config.scenario}, seed {config.seed})",
            steps=(float(np.float32(config.adc_step_uv)),) * len(channels)
            if config.adc_step_uv
            else None,
        )
        script_rng = np.random.default_rng([config.seed, 1])
        self.truth = script(config, script_rng)
        self.n_samples = int(round(self.truth.duration_s * config.fs))
        self._closed = False
        self._activations = sorted(self.truth.activations, key=lambda a: a.start_s)
        self._position_s = 0.0
        self.vibrations: list[tuple[float, int, int]] = []  # (time s, ms, strength)
        # answering buzzes needs the session to stay in step (at most one chunk read ahead)
        self.max_ahead_chunks = 1 if config.feedback_response is not None else None
        self._lost = lost_packets(config, self.n_samples) if config.packet_loss > 0 else None
        self._delivered_until = 0  # end of the last sample delivered, with packet loss
        self.aux_streams: dict[str, StreamInfo] = {}
        if config.accelerometer:
            self.aux_streams[ACCEL] = accelerometer_info(
                ACCEL_FS, f"simulator accelerometer (seed {config.seed})"
            )
        if config.ppg:
            self.aux_streams[PPG] = StreamInfo(
                fs=PPG_FS,
                channels=("ppg",),
                units="au",
                kind="aux",
                device=f"simulator pulse sensor (seed {config.seed})",
            )
        self._accel: np.ndarray | None = None
        self._ppg: np.ndarray | None = None
        self._beats: np.ndarray | None = None
        self._bedroom: BedroomSound | None = None

    @property
    def accel(self) -> np.ndarray:
        """The whole night's accelerometer, float32 (3, n) in g at ACCEL_FS (made once, from
        the script and its own seed, whether or not it is streamed)."""
        if self._accel is None:
            rng = np.random.default_rng([self.config.seed, 5])
            truth = self.truth
            self._accel = accelerometer(truth.duration_s, truth.positions, truth.movements, rng)
        return self._accel

    @property
    def ppg(self) -> np.ndarray:
        """The whole night's pulse (PPG), float32 (1, n) at PPG_FS, from the same heart as the
        ECG in the leads (made once, its own seed)."""
        if self._ppg is None:
            rng = np.random.default_rng([self.config.seed, 7])
            truth = self.truth
            self._ppg = pulse_wave(truth.duration_s, self.beats, truth.movements, rng)
        return self._ppg

    @property
    def beats(self) -> np.ndarray:
        """The heart's true beat times (s): the R peaks of the ECG in the leads."""
        if self._beats is None:
            rng = np.random.default_rng([self.config.seed, 2])
            self._beats = _heartbeats(self.truth.duration_s, rng, self.truth.arousals)
        return self._beats

    @property
    def bedroom(self) -> BedroomSound:
        """What a microphone by the bed hears all night (from the script; its own seed)."""
        if self._bedroom is None:
            cfg = self.config
            sounds = night_sounds(self.truth, cfg.grinding_share, cfg.sounds_per_hour, cfg.seed)
            self._bedroom = BedroomSound(sounds, seed=cfg.seed)
        return self._bedroom

    def microphone(self) -> SimulatedMicrophone:
        """A microphone in the simulated bedroom (`record --audio sim`)."""
        return SimulatedMicrophone(
            self.bedroom, f"simulated bedroom microphone (seed {self.config.seed})"
        )

    # ------------------------------------------------------------------------ Device API
    def chunks(self) -> Iterator[Chunk]:
        """Chunks of `chunk_s` seconds, paced to the wall clock when `realtime`."""
        size = max(1, round(self.config.chunk_s * self.fs))
        started = time.monotonic()
        buffer = np.zeros((self.info.n_channels, 0), dtype=np.float32)
        index = self._delivered_until = 0
        aux_done = dict.fromkeys(self.aux_streams, 0)
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
                for name in aux_done:
                    aux_done[name] = yield from self._aux_until(
                        name, aux_done[name], chunk.end_index
                    )

    def _aux_until(self, name: str, done: int, emg_end: int) -> Iterator[Chunk]:
        """Auxiliary stream `name`'s samples from `done` up to the time of EMG sample
        `emg_end`; returns where it got to."""
        night = self.accel if name == ACCEL else self.ppg
        until = min(int(emg_end * self.aux_streams[name].fs / self.fs), night.shape[1])
        if until > done:
            yield Chunk(done, night[:, done:until], stream=name)
        return max(done, until)

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

    has_motor = True  # the simulated wearer feels a buzz (and may answer it)

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
        contact_rng = np.random.default_rng([cfg.seed, 7])  # a noisy lead's own noise
        n_ch = cfg.channels
        chest = _EcgLead(cfg) if cfg.ecg_lead else None
        block_s = self.BLOCK_S
        if cfg.feedback_response is not None:  # generate just in time, so a buzz can act
            block_s = min(self.BLOCK_S, max(cfg.chunk_s, 1.0 / fs))
        block = int(round(block_s * fs))
        carrier_sos = sps.butter(
            2, [30.0, min(300.0, 0.4 * fs)], btype="bandpass", fs=fs, output="sos"
        )
        gain = np.sqrt(np.sum(sps.sosfilt(carrier_sos, _impulse(4 * int(fs))) ** 2))
        zi = np.zeros((carrier_sos.shape[0], n_ch, 2))
        beats = _heartbeats(self.truth.duration_s, rng, self.truth.arousals)
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
            if cfg.noisy_lead:
                lead, rms = cfg.noisy_lead
                x[int(lead) - 1] += contact_rng.normal(0.0, rms, t.size)
            for lead in cfg.dead_leads:
                x[lead - 1] = offsets[lead - 1]
            if cfg.lead_off:
                lead, since, until = (*cfg.lead_off, np.inf)[:3]
                off = (t >= since) & (t < until)
                x[int(lead) - 1, off] = offsets[int(lead) - 1]
            if chest is not None:
                x = np.vstack((x, chest.samples(t, beats)))
            if cfg.adc_step_uv:  # whole counts, as the Cyton's reader makes them
                step = np.float32(cfg.adc_step_uv)
                counts = np.rint(x / float(step)) + 0.0  # + 0.0: a count is never -0
                yield counts.astype(np.float32) * step
            else:
                yield x.astype(np.float32)


# ---------------------------------------------------------------------------- waveforms
def _ramped(t: np.ndarray, start: float, end: float, ramp: float = 0.08) -> np.ndarray:
    """1 inside [start, end], raised-cosine ramps of `ramp` s centred on the edges, 0 outside."""
    ramp = min(ramp, (end - start) / 2)
    up = np.clip((t - (start - ramp / 2)) / ramp, 0.0, 1.0)
    down = np.clip(((end + ramp / 2) - t) / ramp, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def _heartbeats(
    duration: float, rng: np.random.Generator, arousals: list[tuple[float, float]]
) -> np.ndarray:
    """Beat times (s): resting RR intervals around 1 s, quickened by the arousals."""
    rr = rng.normal(1.0, 0.05, size=int(duration / 0.7) + 2).clip(0.6, 1.6)
    return beat_times(rr, arousals)


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


class _EcgLead:
    """A channel wired as ECG across the chest: QRS of `ecg_lead_uv` with a T wave, a few µV
    of noise, baseline wander and a little mains, from its own random stream."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng([cfg.seed, 6])
        self.wander = self.rng.uniform(0.05, 0.3)

    def samples(self, t: np.ndarray, beats: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        qrs = _qrs_train(t, beats) + 0.25 * _t_waves(t, beats)
        x = cfg.ecg_lead_uv * qrs + self.rng.normal(0.0, 3.0, t.size)
        x += 80.0 * np.sin(2 * np.pi * self.wander * t)
        x += cfg.mains_uv * np.sqrt(2) * np.sin(2 * np.pi * cfg.mains_hz * t)
        return x[None, :]


def _t_waves(t: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """T waves (peak 1) 0.25 s after each beat, 40 ms wide."""
    out = np.zeros_like(t)
    lo, hi = np.searchsorted(beats, [t[0] - 0.5, t[-1] + 0.1])
    for beat in beats[lo:hi]:
        u = (t - beat - 0.25) / 0.04
        near = np.abs(u) < 5
        out[near] += np.exp(-0.5 * u[near] ** 2)
    return out


def _pop(t: np.ndarray, when: float, amplitude_uv: float) -> np.ndarray:
    """An electrode pop: a step that decays with a 0.3-s time constant."""
    dt = t - when
    return np.where(dt >= 0, amplitude_uv * np.exp(-np.clip(dt, 0, None) / 0.3), 0.0)


def _impulse(n: int) -> np.ndarray:
    x = np.zeros(n)
    x[0] = 1.0
    return x
