"""Episode-scoring accuracy under what real bedrooms put into a recording, beside a plain scorer.

Each cell is one simulated night (`--minutes`, default 30) with the calibration sequence
first, scored by bruxwatch (`analyze_chunks`, the code every command uses) and, in the same
run, by a plain baseline: Butterworth band-pass 20-450 Hz (upper edge clipped to 0.45 fs) +
one notch at the true mains fundamental + 125-ms moving RMS + a fixed threshold (calibrated:
rest + 10 % of (MVC - rest) from the same calibration sequence; uncalibrated: 4 x the 10th
percentile of the whole night's envelope), with the same burst and episode rules. Both see
the same samples, packet losses included (the baseline joins the pieces as if whole).
A calibration refused because one channel did not clench (the dead lead) is redone on the
channels it accepts and only those are scored, as a wearer told which channel failed would
(`--channels`); adaptive scoring gets every channel and leaves the dead one out itself.
On dead-lead nights, a one-sided clench on the dead side (under 10 % MVC on every live
channel) is not in the truth: no lead that works can see it.

Conditions (rows), each on top of a clean night (2.5-uV rest floor, 4-uV mains, 12-uV ECG,
clenches at 20-60 % MVC):
  clean, mains 50 Hz (150 uV + 3rd harmonic 40 uV), mains 60 Hz (300 uV, harmonics 60/40/20),
  ECG 150 uV, floor x4 (rest floor rising to 4x over the night), light clenches (12-30 % MVC),
  packet loss 1 %, a dead lead (the right channel flat all night), and "bedroom": 50-Hz
  mains 150 uV + 3rd 40 uV, ECG 120 uV, floor x3, clenches 12-30 % MVC, 0.2 % packet loss
  together.

Printed per cell: F1 of episode onsets (matched within 0.5 s), kind accuracy (phasic / tonic /
mixed agreement of the matched episodes) and the median onset error (ms), for bruxwatch and
for the baseline. Target: F1 >= 0.95 and kind accuracy >= 0.9 in every cell.

Rows marked E20 etc. feed the same night as an envelope input (what a MyoWare 2.0's ENV
output read by an Arduino gives, `envelope_input`) at that rate instead of raw EMG; the plain
scorer there is the counts against the same fixed threshold, without smoothing.

    python benchmarks/accuracy.py [--minutes 30] [--rates 1000,500,250,200] [--seeds 1]
        [--envelope-rates 10,20,50,100]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Iterable

import numpy as np
from scipy import signal as sps

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Pipeline, calibrate
from bruxwatch.signal.analysis import analyze_chunks
from bruxwatch.signal.calibration import Calibration, CalibrationError
from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.detector import EpisodeDetector
from bruxwatch.signal.envelope import window_samples
from bruxwatch.signal.evaluation import match_onsets
from bruxwatch.signal.events import EpisodeEnd
from bruxwatch.stream import Chunk, StreamInfo

CONDITIONS: dict[str, dict] = {
    "clean": {},
    "mains 50 Hz": {"mains_hz": 50.0, "mains_uv": 150.0, "harmonics_uv": (0.0, 40.0)},
    "mains 60 Hz": {"mains_hz": 60.0, "mains_uv": 300.0, "harmonics_uv": (60.0, 40.0, 20.0)},
    "ECG 150 uV": {"ecg_uv": 150.0},
    "floor x4": {"rest_drift": 4.0},
    "light clenches": {"clench_pct": (12.0, 30.0)},
    "packet loss 1%": {"packet_loss": 0.01},
    "dead lead": {"dead_leads": (2,)},
    "bedroom": {
        "mains_hz": 50.0,
        "mains_uv": 150.0,
        "harmonics_uv": (0.0, 40.0),
        "ecg_uv": 120.0,
        "rest_drift": 3.0,
        "clench_pct": (12.0, 30.0),
        "packet_loss": 0.002,
    },
}


@dataclasses.dataclass
class Score:
    f1: float
    kind: float
    onset_ms: float
    episodes: int
    failed: bool = False


FAILED_CALIBRATION = Score(f1=0.0, kind=0.0, onset_ms=float("nan"), episodes=0, failed=True)
"""A cell whose calibration was refused (MVC not clearly above rest): nothing is scored."""


def night(condition: dict, fs: float, minutes: float, seed: int) -> Simulator:
    return Simulator(
        SimulatorConfig(
            scenario="night",
            duration_s=minutes * 60,
            fs=fs,
            seed=seed,
            calibrate=True,
            episodes_per_hour=40,
            chunk_s=10.0,
            **condition,
        )
    )


def score(found: Iterable[tuple[float, str]], sim: Simulator) -> Score:
    found = list(found)
    truth = [(a.start_s, a.kind) for a in sim.truth.episodes if _visible(a, sim)]
    m = match_onsets(found, truth, tolerance_s=0.5)
    errors = []
    for onset, _ in truth:
        near = [abs(f - onset) for f, _ in found if abs(f - onset) <= 0.5]
        if near:
            errors.append(min(near))
    onset_ms = 1000 * float(np.median(errors)) if errors else float("nan")
    return Score(m.f1, m.kind_agreement, onset_ms, len(truth))


def _visible(episode, sim: Simulator) -> bool:
    """Can a working lead see the episode? With a dead lead, a one-sided clench on its side
    (under 10 % MVC, the calibrated threshold's share, on every live channel) cannot."""
    dead = {c - 1 for c in sim.config.dead_leads}
    if not dead:
        return True
    live = [a for c, a in enumerate(episode.amplitude) if c not in dead]
    return max(live, default=0.0) >= 0.10


def calibration_from(envelope: np.ndarray, sim: Simulator, first_index: int = 0) -> Calibration:
    (r0, r1), (m0, m1) = sim.truth.rest_s, sim.truth.mvc_s
    fs = sim.fs

    def cut(a: float, b: float) -> np.ndarray:
        return envelope[:, int(a * fs) - first_index : int(b * fs) - first_index]

    return calibrate(cut(r0, r1), cut(m0, m1))


def bruxwatch_scores(sim: Simulator, calibrated: bool) -> Score:
    config = SignalConfig()
    chunks = list(sim.chunks())
    cal = None
    if calibrated:
        pipeline = Pipeline(sim.info, config)
        end = int(sim.truth.mvc_s[1] * sim.fs)
        parts = []
        for chunk in chunks:
            if chunk.first_index >= end:
                break
            parts.append(pipeline.process(chunk))
        envelope = _joined_envelope(parts, end)
        try:
            cal = calibration_from(envelope, sim)
        except CalibrationError:
            # The refusal names the channel that did not clench (a dead lead); the wearer
            # then scores the others (--channels). None left: the cell counts as nothing found.
            live = _calibratable(envelope, lambda e: calibration_from(e, sim))
            if not live:
                return FAILED_CALIBRATION
            config = dataclasses.replace(config, masseter_channels=live)
            cal = calibration_from(envelope[list(live)], sim)
    result = analyze_chunks(
        iter(chunks),
        sim.info,
        calibration=cal,
        config=config,
        exclude_s=[(0.0, sim.truth.mvc_s[1])],
    )
    return score(((e.start_s, e.kind) for e in result.episodes if not e.artifact), sim)


def _calibratable(envelope: np.ndarray, calibration) -> tuple[int, ...]:
    """The channels (0-based) whose own calibration (`calibration(envelope)`) is accepted."""
    live = []
    for channel in range(envelope.shape[0]):
        try:
            calibration(envelope[channel : channel + 1])
        except CalibrationError:
            continue
        live.append(channel)
    return tuple(live)


def _joined_envelope(parts, end: int) -> np.ndarray:
    """The envelope over samples [0, end) from processed chunks (a lost sample that no
    bridge stood in for stays 0: only percentiles are taken of it)."""
    n_channels = parts[0].envelope.shape[0]
    out = np.zeros((n_channels, end), dtype=np.float32)
    for p in parts:
        lo, hi = p.first_index, min(end, p.first_index + p.envelope.shape[1])
        if hi > lo:
            out[:, lo:hi] = p.envelope[:, : hi - lo]
    return out


def baseline_scores(sim: Simulator, calibrated: bool) -> Score:
    """Band-pass + fundamental notch + moving RMS + fixed threshold, with the same rules."""
    chunks = list(sim.chunks())
    x = np.concatenate([c.samples for c in chunks], axis=1).astype(np.float64)
    index = np.concatenate([np.arange(c.first_index, c.end_index) for c in chunks])
    fs = sim.fs
    high = min(450.0, 0.45 * fs)
    sos = sps.butter(4, [20.0, high], btype="bandpass", fs=fs, output="sos")
    b, a = sps.iirnotch(sim.config.mains_hz, 30.0, fs=fs)
    sos = np.vstack((sos, sps.tf2sos(b, a)))
    y = sps.sosfilt(sos, x - x[:, :1], axis=-1)
    w = window_samples(0.125, fs)
    csum = np.cumsum(np.pad(y * y, ((0, 0), (w, 0))), axis=-1)
    envelope = np.sqrt(np.maximum(csum[:, w:] - csum[:, :-w], 0.0) / w)
    full = np.zeros((x.shape[0], sim.n_samples))
    full[:, index] = envelope
    full[:, np.setdiff1d(np.arange(sim.n_samples), index)] = np.nan
    full = _forward_filled(full)
    if calibrated:
        try:
            cal = calibration_from(full, sim)
        except CalibrationError:  # as for bruxwatch: the channels it accepts, if any
            live = _calibratable(full, lambda e: calibration_from(e, sim))
            if not live:
                return FAILED_CALIBRATION
            full = full[list(live)]
            cal = calibration_from(full, sim)
        thresholds = cal.thresholds(SignalConfig().threshold)
    else:
        thresholds = 4.0 * np.percentile(full, 10, axis=-1)
    return _fixed_threshold_scores(full, fs, thresholds, calibrated, sim)


def _fixed_threshold_scores(
    levels: np.ndarray, fs: float, thresholds: np.ndarray, calibrated: bool, sim: Simulator
) -> Score:
    """The plain scorer's detection: `levels` (channels, n) from the night's start against
    fixed per-channel thresholds, with bruxwatch's burst and episode rules."""
    above = (levels >= thresholds[:, None]).any(axis=0)
    detector = EpisodeDetector(fs, SignalConfig().detector, pct_mvc=calibrated)
    events = detector.process(above, levels.max(axis=0), 0) + detector.finish(levels.shape[1])
    skip = sim.truth.mvc_s[1]
    found = [
        (e.episode.start_s, e.episode.kind)
        for e in events
        if isinstance(e, EpisodeEnd) and e.episode.start_s >= skip
    ]
    return score(found, sim)


def envelope_input(sim: Simulator, rate: float) -> tuple[Chunk, StreamInfo]:
    """What a MyoWare 2.0's ENV output read by an Arduino gives for the simulated night: the
    EMG band-limited 20-450 Hz, rectified and smoothed over 100 ms (as the sensor does in
    hardware: hum in the band reaches it), read `rate` times a second as 10-bit counts on a
    floor of 10 (2.4 counts per uV, about 600 at a maximal clench), +-1 count of noise."""
    x = sim.generate().astype(np.float64)
    fs = sim.fs
    sos = sps.butter(4, [20.0, min(450.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    rectified = np.abs(sps.sosfilt(sos, x, axis=-1))
    width = int(0.1 * fs)
    csum = np.cumsum(np.pad(rectified, ((0, 0), (1, 0))), axis=-1)
    ends = np.arange(int(width), x.shape[1], fs / rate).astype(int)
    env = (csum[:, ends] - csum[:, ends - width]) / width
    noise = np.random.default_rng(sim.config.seed).integers(-1, 2, env.shape)
    counts = np.clip(np.rint(10 + 2.4 * env) + noise, 0, 1023)
    info = StreamInfo(fs=rate, channels=sim.info.channels, units="counts", kind="envelope")
    # sample k was read at ends[k] / fs: index 0 of the stream is time width / fs
    return Chunk(0, counts), info


def envelope_scores(sim: Simulator, rate: float, calibrated: bool) -> Score:
    """bruxwatch on the envelope input (the same command path: analyze_chunks)."""
    chunk, info = envelope_input(sim, rate)
    offset = 0.1  # s: the stream's sample 0 is the sensor's reading 0.1 s into the night
    cal, config = None, SignalConfig()
    if calibrated:
        envelope = Pipeline(info).process(chunk).envelope
        shifted = np.pad(envelope, ((0, 0), (int(round(offset * rate)), 0)), mode="edge")
        live = _live_channels(shifted, sim, rate)
        if not live:
            return FAILED_CALIBRATION
        config = dataclasses.replace(config, masseter_channels=live)
        cal = _calibration_at(shifted[list(live)], sim, rate)
    result = analyze_chunks(
        iter([chunk]),
        info,
        calibration=cal,
        config=config,
        exclude_s=[(0.0, sim.truth.mvc_s[1] - offset)],
    )
    found = ((e.start_s + offset, e.kind) for e in result.episodes if not e.artifact)
    return score(found, sim)


def envelope_baseline_scores(sim: Simulator, rate: float, calibrated: bool) -> Score:
    """The plain scorer on the envelope input: its counts against a fixed threshold."""
    chunk, info = envelope_input(sim, rate)
    offset = 0.1
    counts = np.pad(chunk.samples, ((0, 0), (int(round(offset * rate)), 0)), mode="edge")
    if calibrated:
        live = _live_channels(counts, sim, rate)
        if not live:
            return FAILED_CALIBRATION
        counts = counts[list(live)]
        thresholds = _calibration_at(counts, sim, rate).thresholds(SignalConfig().threshold)
    else:
        thresholds = 4.0 * np.percentile(counts, 10, axis=-1)
    return _fixed_threshold_scores(counts, rate, thresholds, calibrated, sim)


def _live_channels(envelope: np.ndarray, sim: Simulator, rate: float) -> tuple[int, ...]:
    """All channels when the calibration takes them; else those it takes one by one."""
    try:
        _calibration_at(envelope, sim, rate)
        return tuple(range(envelope.shape[0]))
    except CalibrationError:
        return _calibratable(envelope, lambda e: _calibration_at(e, sim, rate))


def _calibration_at(envelope: np.ndarray, sim: Simulator, rate: float) -> Calibration:
    (r0, r1), (m0, m1) = sim.truth.rest_s, sim.truth.mvc_s
    rest = envelope[:, int(r0 * rate) : int(r1 * rate)]
    return calibrate(rest, envelope[:, int(m0 * rate) : int(m1 * rate)])


def _forward_filled(x: np.ndarray) -> np.ndarray:
    n = x.shape[1]
    for row in x:
        ok = ~np.isnan(row)
        last = np.maximum.accumulate(np.where(ok, np.arange(n), 0))
        row[:] = row[last]
    return x


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rates", default="1000,500,250,200", help="sample rates, Hz")
    parser.add_argument("--seeds", type=int, default=1, help="nights per cell")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="rows to run")
    parser.add_argument(
        "--envelope-rates",
        default="10,20,50,100",
        help="rates (Hz) of the envelope input (MyoWare ENV) rows; empty: none",
    )
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    rows = [c.strip() for c in args.conditions.split(",")]
    unknown = [r for r in rows if r not in CONDITIONS]
    if unknown:
        print(f"unknown condition {unknown[0]!r}; choose from {', '.join(CONDITIONS)}")
        return 2
    started = time.perf_counter()
    print(
        f"{args.minutes:g}-min nights, 40 episodes/h, {args.seeds} seed(s) per cell; "
        "F1 / kind accuracy / median onset error (ms); target F1 >= 0.95, kind >= 0.90"
    )
    header = f"{'condition':16s} {'fs':>5s} {'mode':10s} {'bruxwatch':>22s}  {'baseline':>22s}"
    print(header)
    print("-" * len(header))
    worst: dict[str, tuple[float, float]] = {}  # lowest F1 and kind accuracy per group
    envelope_rates = [float(r) for r in args.envelope_rates.split(",") if r.strip()]
    cells = [(fs, None) for fs in rates] + [(1000.0, rate) for rate in envelope_rates]
    for row in rows:
        for fs, envelope_rate in cells:
            for calibrated in (True, False):
                ours, plain = [], []
                for seed in range(1, args.seeds + 1):
                    sim = night(CONDITIONS[row], fs, args.minutes, seed)
                    if envelope_rate is None:
                        ours.append(bruxwatch_scores(sim, calibrated))
                        plain.append(baseline_scores(sim, calibrated))
                    else:
                        ours.append(envelope_scores(sim, envelope_rate, calibrated))
                        plain.append(envelope_baseline_scores(sim, envelope_rate, calibrated))
                a, b = _mean(ours), _mean(plain)
                group = "raw EMG" if envelope_rate is None else "envelope input"
                f1, kind = worst.get(group, (1.0, 1.0))
                worst[group] = (min(f1, a.f1), min(kind, a.kind))
                mark = "" if a.f1 >= 0.95 and a.kind >= 0.9 else "  <- below target"
                mode = "calibrated" if calibrated else "adaptive"
                rate = f"{fs:5.0f}" if envelope_rate is None else f"E{envelope_rate:4.0f}"
                print(f"{row:16s} {rate} {mode:10s} {_cell(a)}  {_cell(b)}{mark}", flush=True)
    for group, (f1, kind) in worst.items():
        print(f"worst {group} cell: F1 {f1:.2f}, kind accuracy {kind:.2f}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


def _mean(scores: list[Score]) -> Score:
    errors = [s.onset_ms for s in scores if np.isfinite(s.onset_ms)]
    return Score(
        f1=float(np.mean([s.f1 for s in scores])),
        kind=float(np.mean([s.kind for s in scores])),
        onset_ms=float(np.median(errors)) if errors else float("nan"),
        episodes=sum(s.episodes for s in scores),
        failed=any(s.failed for s in scores),
    )


def _cell(s: Score) -> str:
    if s.failed:
        return f"{'calibration refused':>22s}"
    return f"{s.f1:4.2f} / {s.kind:4.2f} / {s.onset_ms:4.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
