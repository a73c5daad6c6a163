"""How much heart rate, movement and sound confirmation remove of what EMG alone takes for
bruxism.

Each night is simulated with what a sleep lab would call distractors beside the real
episodes (`bruxwatch.emulated.body`): oromotor activity with no arousal (sleep talking, lip
and tongue movements: episode-like jaw EMG), body movements that bring jaw EMG of their own,
heart-rate rises with no jaw activity, turns between positions and a wake bout at the start.
The night streams through the simulator's chunks as a device delivers them (EMG and
accelerometer) and is scored by bruxwatch's own code: `analyze_chunks` for the EMG (adaptive
threshold), the R peaks of its ECG removal for the heart rate, `EpochAccumulator` for the
accelerometer, the clip keeper's windows (5 s before to 5 s after each episode) on the
simulated bedroom's microphone for the sound (`emulated.bedroom_sound`: grinding in half of
the phasic and mixed episodes; sleep talking or swallowing with each oromotor activity;
snoring, knocks, swallowing, talking at random), `confirm` for the flags.

Rows: where the beats come from - the ECG that bleeds into the masseter leads (60 or 150 uV
R waves), a channel wired as ECG across the chest, or a pulse sensor (PPG, `signal.pulse`).
Columns, per configuration:
  EMG only            every scored episode
  EMG + HR            episodes not refuted by the heart (HR-confirmed, or unknown)
  EMG + movement      episodes not during body movement
  EMG + HR + movement both (what the report calls "confirmed")
  EMG + sound         episodes with a grinding sound only
  all, or grinding    confirmed, or with a grinding sound (sound as evidence for)
Printed: precision, recall and F1 of the episode onsets (matched within 0.5 s), and the
share of the distractor-caused false episodes of EMG alone that each removes. Target:
confirmation removes at least 80 % of them while keeping recall >= 0.95. A share
`--arousal-share` of the true episodes has an arousal before it (the rest none), 0.92 by
default, the share of sleep-lab episodes a heart-rate rise precedes.

    python benchmarks/confirmation.py [--hours 2] [--seeds 3] [--arousal-share 0.92]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from bruxwatch.emulated.body import PPG_FS
from bruxwatch.emulated.scenario import NOT_BRUXISM, SimulatorConfig
from bruxwatch.emulated.simulator import Simulator
from bruxwatch.firmware_host.sound_clips import ClipKeeper
from bruxwatch.signal.analysis import analyze_chunks
from bruxwatch.signal.config import HeartConfig, SignalConfig
from bruxwatch.signal.confirmation import EpisodeContext, confirm
from bruxwatch.signal.evaluation import match_onsets
from bruxwatch.signal.events import EpisodeEnd
from bruxwatch.signal.movement import EpochAccumulator
from bruxwatch.signal.pulse import PulseDetector
from bruxwatch.stream import ACCEL, EMG, PPG

ROWS: dict[str, dict] = {
    "masseter ECG 60 uV": {"ecg_uv": 60.0},
    "masseter ECG 150 uV": {"ecg_uv": 150.0},
    "chest ECG lead": {"ecg_uv": 60.0, "ecg_lead": True},
    "pulse sensor (PPG)": {"ecg_uv": 60.0, "ppg": True},
}
DISTRACTORS = {
    "episodes_per_hour": 8.0,
    "oromotor_per_hour": 8.0,
    "movements_per_hour": 6.0,
    "movement_emg_share": 0.5,
    "arousals_per_hour": 8.0,
    "wake_bouts": 1,
    "accelerometer": True,
}
CONFIGURATIONS = {
    "EMG only": lambda c: True,
    "EMG + HR": lambda c: c.hr_confirmed is not False,
    "EMG + movement": lambda c: c.moving is not True,
    "EMG + HR + movement": lambda c: c.confirmed,
    "EMG + sound": lambda c: c.grinding is True,
    "all, or grinding": lambda c: c.confirmed or c.grinding is True,
}


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    distractor_fp: int = 0

    def add(self, other: Tally) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.distractor_fp += other.distractor_fp

    def cell(self, emg_only: Tally) -> str:
        precision = self.tp / max(self.tp + self.fp, 1)
        recall = self.tp / max(self.tp + self.fn, 1)
        f1 = 2 * self.tp / max(2 * self.tp + self.fp + self.fn, 1)
        removed = 1 - self.distractor_fp / emg_only.distractor_fp if emg_only.distractor_fp else 0
        return f"P {precision:.2f} R {recall:.2f} F1 {f1:.2f} rm {removed:4.0%}"


def night(
    row: dict, hours: float, seed: int, arousal_share: float, signal: SignalConfig
) -> dict[str, Tally]:
    """One simulated night scored in every configuration."""
    config = SimulatorConfig(
        duration_s=hours * 3600.0,
        seed=seed,
        arousal_share=arousal_share,
        chunk_s=1.0,
        **DISTRACTORS,
        **row,
    )
    sim = Simulator(config)
    accel = EpochAccumulator(sim.aux_streams[ACCEL].fs, signal.movement)
    pulse = PulseDetector(PPG_FS, signal.heart)
    emg = []
    for chunk in sim.chunks():
        if chunk.stream == EMG:
            emg.append(chunk)
        elif chunk.stream == PPG:
            pulse.add(chunk.first_index, chunk.samples[0])
        else:
            accel.add(chunk.first_index, chunk.samples)
    analysis = analyze_chunks(emg, sim.info, config=signal)
    heart = pulse.heart() if config.ppg else analysis.heart
    clips = []
    ClipKeeper(sim.microphone(), clips.append).finish([EpisodeEnd(e) for e in analysis.episodes])
    result = confirm(analysis.episodes, analysis.summary, signal, heart, accel.finish(), clips)
    truth = sim.truth
    distractors = [a for a in truth.activations if a.kind in ("oromotor", "movement")]
    assert set(NOT_BRUXISM) >= {a.kind for a in distractors}
    tallies = {"grinding": _grinding_tally(result, sim)}
    for name, keep in CONFIGURATIONS.items():
        kept = [e for e, c in zip(result.episodes, result.contexts, strict=True) if keep(c)]
        tallies[name] = _tally(kept, truth.episodes, distractors, result.contexts)
    return tallies


def _grinding_tally(result, sim) -> Tally:
    """The grinding flag itself against the simulated sounds: of the scored episodes, those
    during a grinding sound (tp if flagged, fn if not) and the rest (fp if flagged)."""
    grinds = [s for s in sim.bedroom.sounds if s.kind == "grinding"]
    tally = Tally()
    for episode, context in zip(result.episodes, result.contexts, strict=True):
        heard = any(s.start_s - 1.0 <= episode.start_s <= s.end_s for s in grinds)
        if heard:
            tally.tp += context.grinding is True
            tally.fn += context.grinding is not True
        else:
            tally.fp += context.grinding is True
            tally.distractor_fp += context.grinding is not True  # here: true negatives
    return tally


def _tally(kept, episodes, distractors, contexts: list[EpisodeContext]) -> Tally:
    m = match_onsets([(e.start_s, e.kind) for e in kept], [(a.start_s, a.kind) for a in episodes])
    true_onsets = [a.start_s for a in episodes]
    false = [e for e in kept if not any(abs(e.start_s - t) <= 0.5 for t in true_onsets)]
    caused = sum(
        any(a.start_s - 1.0 <= e.start_s <= a.end_s + 1.0 for a in distractors) for e in false
    )
    return Tally(m.true_positives, m.false_positives, m.false_negatives, caused)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--seeds", type=int, default=3, help="nights per row")
    parser.add_argument("--arousal-share", type=float, default=0.92)
    parser.add_argument("--rise", type=float, default=HeartConfig().rise, help="HR rise")
    parser.add_argument("--rows", default=",".join(ROWS), help="rows to run")
    args = parser.parse_args()
    signal = SignalConfig(heart=HeartConfig(rise=args.rise))
    started = time.perf_counter()
    print(
        f"{args.seeds} simulated nights of {args.hours:g} h per row, distractors per hour: "
        f"{DISTRACTORS['oromotor_per_hour']:g} oromotor, "
        f"{DISTRACTORS['movements_per_hour'] * DISTRACTORS['movement_emg_share']:g} "
        f"movements with jaw EMG, {DISTRACTORS['arousals_per_hour']:g} arousals alone; "
        f"{DISTRACTORS['episodes_per_hour']:g} episodes/h, arousal share {args.arousal_share:g}, "
        f"HR rise {args.rise:.0%}"
    )
    header = "".join(f"{name:>32}" for name in CONFIGURATIONS)
    print(f"{'beats from':<22}{header}")
    for label in args.rows.split(","):
        row = ROWS[label]
        total = {name: Tally() for name in (*CONFIGURATIONS, "grinding")}
        for seed in range(1, args.seeds + 1):
            for name, tally in night(row, args.hours, seed, args.arousal_share, signal).items():
                total[name].add(tally)
        emg_only = total["EMG only"]
        cells = "".join(f"{total[name].cell(emg_only):>32}" for name in CONFIGURATIONS)
        print(f"{label:<22}{cells}   ({emg_only.distractor_fp} distractor FPs)")
        heard = total["grinding"]
        print(
            f"{'':<22}grinding flag: sensitivity {heard.tp / max(heard.tp + heard.fn, 1):.2f} "
            f"({heard.tp} of {heard.tp + heard.fn} episodes during grinding), specificity "
            f"{heard.distractor_fp / max(heard.distractor_fp + heard.fp, 1):.2f} "
            f"({heard.fp} of {heard.distractor_fp + heard.fp} others flagged)"
        )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
