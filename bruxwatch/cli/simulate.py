"""`bruxwatch simulate` and `bruxwatch demo`: simulated recordings, nights and the demo."""

from __future__ import annotations

import argparse
from pathlib import Path

from bruxwatch.cli.analyze import calibration_from_ranges, format_summary
from bruxwatch.cli.arguments import night_count, positive, probability, sample_rate
from bruxwatch.cli.common import (
    CliError,
    can_open_window,
    check_writable,
    command_line,
    has_display,
    settings_of,
    writing,
)
from bruxwatch.cli.record import add_live_command, add_record_command, cmd_live, cmd_record
from bruxwatch.config import with_mains
from bruxwatch.errors import StoreError
from bruxwatch.signal import SignalConfig, analyze
from bruxwatch.signal.calibration import outcome_text
from bruxwatch.store.importers import FileRecording, write_csv


def cmd_simulate(args: argparse.Namespace) -> int:
    from bruxwatch.emulated.simulator import Simulator, SimulatorConfig

    if args.nights is not None:
        return _simulate_nights(args)
    if args.plan:
        raise CliError("--plan is for --nights: the nights follow the plan")
    duration = (
        args.hours * 3600 if args.hours is not None else args.minutes * 60 if args.minutes else None
    )
    try:
        config = SimulatorConfig(
            scenario=args.scenario,
            duration_s=duration,
            fs=args.fs,
            channels=args.channels,
            seed=args.seed,
            calibrate=args.calibrate,
            mains_hz=args.mains,
            episodes_per_hour=args.episodes_per_hour,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    sim = Simulator(config)
    out = Path(args.out)
    check_writable(out)
    if args.truth:
        check_writable(Path(args.truth))
    samples = sim.generate()
    with writing(out):
        write_csv(out, samples, sim.info.channels)
    if args.truth:
        with writing(Path(args.truth)):
            sim.truth.save(Path(args.truth))
    truth = sim.truth
    print(
        f"wrote {out} ({sim.info.n_channels} channels, {samples.shape[1]} samples at "
        f"{sim.fs:g} Hz, {truth.duration_s / 3600:.2f} h, {len(truth.episodes)} episodes)"
    )
    if truth.rest_s and truth.mvc_s:
        print(
            f"calibration: --fs {sim.fs:g} --rest {truth.rest_s[0]:g}:{truth.rest_s[1]:g} "
            f"--mvc {truth.mvc_s[0]:g}:{truth.mvc_s[1]:g}"
        )
    return 0


def _simulate_nights(args: argparse.Namespace) -> int:
    from bruxwatch.emulated.nights import record_simulated_nights

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"{out}: is a file; with --nights, --out is a folder")
    if args.baseline_nights is None:  # two, but always at least one night with feedback
        args.baseline_nights = min(2, args.nights - 1)
    if not 0 <= args.baseline_nights <= args.nights:
        raise CliError(f"--baseline-nights must be 0-{args.nights}")
    hours = args.hours if args.hours is not None else (args.minutes or 480) / 60
    plan, first_evening = _plan_to_follow(args)
    try:
        paths = record_simulated_nights(
            out,
            nights=args.nights,
            hours=hours,
            baseline_nights=args.baseline_nights,
            seed=args.seed,
            episodes_per_hour=args.episodes_per_hour,
            progress=lambda path: print(f"recorded {path}", flush=True),
            withhold=args.withhold,
            feedback_response=args.response,
            # the settings file's rules, the notch at the simulator's 50-Hz mains
            signal=with_mains(settings_of(args).signal, 50.0),
            fs=args.fs,
            plan=plan,
            first_evening=first_evening,
        )
    except StoreError as exc:
        raise CliError(str(exc)) from None
    print(f"{len(paths)} nights in {out}; try: bruxwatch report {out} --pdf report.pdf")
    return 0


def _plan_to_follow(args: argparse.Namespace):
    """`--plan FILE`: the plan the simulated nights follow, from its first evening at 23:00
    local time (plan, first evening), or (None, None)."""
    if not args.plan:
        return None, None
    import datetime as dt

    from bruxwatch.store.plan import load_plan

    try:
        plan = load_plan(Path(args.plan))
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if plan is None:
        raise CliError(f"{args.plan}: no such plan file")
    evening = dt.datetime.combine(plan.first, dt.time(23, 0)).astimezone()
    return plan, evening


def cmd_demo(args: argparse.Namespace) -> int:
    """The first thing a new user runs: the live window on the simulated wearer at a desk, or,
    without a display, the headless recorder's view of the same for a minute."""
    if args.night:
        return _demo_night(args)
    device = f"sim:scenario=awake,seed={args.seed},episodes_per_hour=120"
    same = ["--device", device, "--mode", "feedback", "--feedback", "bell", "--mains", "50"]
    if args.screenshot or can_open_window():
        live = ["live", *same, "--no-record"]
        if args.screenshot:
            live += ["--screenshot", args.screenshot]
        if args.seconds:
            live += ["--seconds", repr(args.seconds)]
        return cmd_live(command_line(add_live_command, live, settings_of(args)))
    if not has_display():  # (where Qt could not use one, can_open_window said so)
        print(
            "no display here: showing the headless recorder on the simulator instead "
            "(`bruxwatch demo --night` scores a simulated night)",
            flush=True,
        )
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="bruxwatch-demo-")) / "demo.sqlite"
    seconds = args.seconds or 60.0
    record = ["record", *same, "--out", str(out), "--duration", repr(seconds), "--no-calibrate"]
    return cmd_record(command_line(add_record_command, record, settings_of(args)))


def _demo_night(args: argparse.Namespace) -> int:
    from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
    from bruxwatch.signal.evaluation import match_onsets

    sim = Simulator(
        SimulatorConfig(
            scenario="night",
            duration_s=args.hours * 3600,
            seed=args.seed,
            calibrate=True,
            episodes_per_hour=8.0,
        )
    )
    print(f"Simulating {args.hours:g} h of masseter EMG (2 channels, 1 kHz, seed {args.seed}) ...")
    samples = sim.generate()
    recording = FileRecording(samples=samples, fs=sim.fs, channels=sim.info.channels)
    config = SignalConfig()
    truth = sim.truth
    assert truth.rest_s and truth.mvc_s
    calibration = calibration_from_ranges(recording, truth.rest_s, truth.mvc_s, config)
    assert calibration is not None
    print(outcome_text(calibration, None))
    analysis = analyze(
        samples,
        sim.fs,
        calibration=calibration,
        channels=sim.info.channels,
        exclude_s=[(0.0, truth.mvc_s[1])],
    )
    print(format_summary(analysis, title="Simulated night"))
    found = [(e.start_s, e.kind) for e in analysis.episodes if not e.artifact]
    m = match_onsets(found, [(a.start_s, a.kind) for a in truth.episodes])
    ignored = sum(a.kind in ("swallow", "twitch") for a in truth.activations)
    print(
        f"\nAgainst the simulator's ground truth: {m.true_positives} of "
        f"{m.true_positives + m.false_negatives} episodes found, {m.false_positives} false, "
        f"F1 {m.f1:.2f}; {ignored} swallows and twitches correctly not counted as episodes."
    )
    return 0


def add_simulate_command(sub) -> None:
    """The `simulate` command's arguments."""
    p = sub.add_parser("simulate", help="write a simulated recording (CSV) and its ground truth")
    p.add_argument("--scenario", choices=("night", "awake", "calibration"), default="night")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--hours", type=positive, help="length in hours")
    group.add_argument("--minutes", type=positive, help="length in minutes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fs", type=sample_rate, default=1000.0, help="sample rate, Hz (default 1000)")
    p.add_argument("--channels", type=int, default=2, help="masseter channels (default 2)")
    p.add_argument("--mains", type=float, choices=(50.0, 60.0), default=50.0)
    p.add_argument("--episodes-per-hour", type=positive, default=None)
    p.add_argument("--calibrate", action="store_true", help="start with rest + 3 maximal clenches")
    p.add_argument("--out", required=True, help="CSV file to write (with --nights: a folder)")
    p.add_argument("--truth", help="JSON file for the ground truth")
    p.add_argument(
        "--nights",
        type=night_count,
        help="record this many nights (.sqlite) through the real session, calibrated at the"
        " start, into the --out folder (default 8 h each)",
    )
    p.add_argument(
        "--baseline-nights",
        type=int,
        help="with --nights: how many are baseline (default 2, and at least one feedback night)",
    )
    p.add_argument(
        "--withhold",
        type=probability,
        default=0.0,
        metavar="P",
        help="with --nights: feedback nights withhold each clench's feedback with probability P",
    )
    p.add_argument(
        "--response",
        type=float,
        default=None,
        metavar="F",
        help="with --nights: the simulated wearer's clench shrinks to F of what was left when"
        " buzzed (default: no response)",
    )
    p.add_argument(
        "--plan",
        metavar="FILE",
        help="with --nights: follow this trial plan (`bruxwatch plan set --plan FILE`) from "
        "its first evening, each night in its block's mode",
    )
    p.set_defaults(func=cmd_simulate)


def add_demo_command(sub) -> None:
    """The `demo` command's arguments."""
    p = sub.add_parser("demo", help="the live window on the simulator (headless: the recorder)")
    p.add_argument(
        "--night",
        action="store_true",
        help="instead: simulate a night, calibrate, score it, compare to the truth",
    )
    p.add_argument("--hours", type=positive, default=1.0, help="with --night: its length")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--screenshot", metavar="PNG", help="render the live window offscreen to PNG")
    p.add_argument("--seconds", type=positive, help="how long to run (default 10 s, headless 60 s)")
    p.set_defaults(func=cmd_demo)
