"""The `bruxwatch` command.

Every user error (missing file, bad option, impossible range) prints one line on stderr and
exits with status 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from bruxwatch import __version__
from bruxwatch.devices.emulators import TEXT_FORMS
from bruxwatch.firmware_host.console import counted, feedback_text, lost_text
from bruxwatch.memory import keep_freed_memory
from bruxwatch.signal import Analysis, CalibrationError, SignalConfig, analyze, calibrate
from bruxwatch.signal.scoring import Summary
from bruxwatch.store.importers import Recording, RecordingError, read_recording, write_csv
from bruxwatch.store.recording import DamagedRecording, StoreError

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


# ------------------------------------------------------------------------------ simulate
def cmd_simulate(args: argparse.Namespace) -> int:
    from bruxwatch.devices.simulator import Simulator, SimulatorConfig

    if args.nights is not None:
        return _simulate_nights(args)
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
    _check_writable(out)
    if args.truth:
        _check_writable(Path(args.truth))
    samples = sim.generate()
    with _writing(out):
        write_csv(out, samples, sim.info.channels)
    if args.truth:
        with _writing(Path(args.truth)):
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
    from bruxwatch.firmware_host.simulated_nights import record_simulated_nights
    from bruxwatch.store.recording import StoreError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CliError(f"{out}: is a file; with --nights, --out is a folder")
    if args.baseline_nights is None:  # two, but always at least one night with feedback
        args.baseline_nights = min(2, args.nights - 1)
    if not 0 <= args.baseline_nights <= args.nights:
        raise CliError(f"--baseline-nights must be 0-{args.nights}")
    hours = args.hours if args.hours is not None else (args.minutes or 480) / 60
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
            signal=_with_mains(_settings(args).signal, 50.0),
        )
    except StoreError as exc:
        raise CliError(str(exc)) from None
    print(f"{len(paths)} nights in {out}; try: bruxwatch report {out} --pdf report.pdf")
    return 0


# ------------------------------------------------------------------------------- analyze
def cmd_analyze(args: argparse.Namespace) -> int:
    if Path(args.input).suffix in (".sqlite", ".db"):
        return _analyze_night(args)
    recording = _read_recording(Path(args.input), args.fs)
    config = _with_channels(_signal_config(args), args.channels, len(recording.channels))
    calibration = _calibration_from_ranges(recording, args.rest, args.mvc, config)
    exclude = [args.rest, args.mvc] if calibration is not None else []
    with _progress("scoring", enabled=not args.quiet) as tick:
        if recording.gaps:  # lost packets: score the stream with its gaps
            from bruxwatch.devices.base import StreamInfo
            from bruxwatch.signal.analysis import analyze_chunks

            info = StreamInfo(
                fs=recording.fs,
                channels=recording.channels,
                units=recording.units,
                kind="raw",
                device=recording.source,
            )
            analysis = analyze_chunks(
                recording.chunks(),
                info,
                calibration=calibration,
                config=config,
                progress=tick,
                exclude_s=exclude,
            )
        else:
            analysis = analyze(
                recording.samples,
                recording.fs,
                calibration=calibration,
                config=config,
                channels=recording.channels,
                units=recording.units,
                progress=tick,
                exclude_s=exclude,
            )
    if args.json:
        json.dump(analysis.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        title = f"{args.input} ({recording.source}, {recording.fs:g} Hz)"
        if recording.gaps:
            lost = sum(n for _, n in recording.gaps) / recording.fs
            title += f"; {lost_text(len(recording.gaps), lost)}"
        print(format_summary(analysis, title=title))
    return 0


def _analyze_night(args: argparse.Namespace) -> int:
    """Re-score a night recorded by `bruxwatch record` from its raw samples."""
    from bruxwatch.signal.analysis import analyze_chunks
    from bruxwatch.store.recording import Recording as Night
    from bruxwatch.store.recording import StoreError

    try:
        night = Night(args.input)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    with night:
        from bruxwatch.store.scored import picked_channels, stored_signal_config

        try:
            config, calibration = picked_channels(
                _with_mains(stored_signal_config(night.session), args.mains),
                night.session.calibration,
                night.info.n_channels,
                args.channels,
            )
        except StoreError as exc:
            raise CliError(str(exc)) from None
        stretch = night.session.config.get("calibration_s")
        exclude: list[tuple[float, float]] = [tuple(stretch)] if stretch else []
        if args.rest or args.mvc:
            values, _ = night.samples()
            flat = Recording(
                samples=values,
                fs=night.info.fs,
                channels=night.info.channels,
                units=night.info.units,
            )
            calibration = _calibration_from_ranges(flat, args.rest, args.mvc, config)
            exclude = [args.rest, args.mvc]
        with _progress("scoring", enabled=not args.quiet) as tick:
            analysis = analyze_chunks(
                night.chunks(),
                night.info,
                calibration=calibration,
                config=config,
                progress=tick,
                total=night.end_index,
                exclude_s=exclude,
            )
        title = (
            f"{args.input} ({night.session.status}, {night.session.mode}, {night.session.device})"
        )
    if args.json:
        json.dump(analysis.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_summary(analysis, title=title))
    return 0


def _read_recording(path: Path, fs: float | None) -> Recording:
    from bruxwatch.devices.base import MAX_FS, MIN_RAW_FS

    try:
        with _progress(f"reading {path.name}", enabled=True) as tick:
            recording = read_recording(path, fs=fs, progress=tick)
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    if not MIN_RAW_FS <= recording.fs <= MAX_FS:
        raise CliError(
            f"{path}: its sample rate, {recording.fs:g} Hz, is outside {MIN_RAW_FS:g}-{MAX_FS:g}"
            " Hz (raw EMG)"
        )
    return recording


def _calibration_from_ranges(recording: Recording, rest, mvc, config: SignalConfig):
    if rest is None and mvc is None:
        return None
    if rest is None or mvc is None:
        raise CliError("calibration needs both --rest A:B and --mvc A:B")
    duration = recording.duration_s
    for name, (a, b) in (("--rest", rest), ("--mvc", mvc)):
        if not 0 <= a < b <= duration + 1e-9:
            raise CliError(f"{name} {a:g}:{b:g} is outside the recording (0 to {duration:.3f} s)")
    scored = list(config.masseter_channels or range(len(recording.channels)))
    envelope = _envelope_of(recording, config, max(rest[1], mvc[1]))[scored]
    fs = recording.fs
    try:
        return calibrate(
            envelope[:, int(rest[0] * fs) : int(rest[1] * fs)],
            envelope[:, int(mvc[0] * fs) : int(mvc[1] * fs)],
            config.threshold,
            units=recording.units,
            names=[recording.channels[c] for c in scored],
        )
    except CalibrationError as exc:
        raise CliError(f"calibration failed: {exc}") from None


def _envelope_of(recording: Recording, config: SignalConfig, hi: float) -> np.ndarray:
    """The pipeline's own envelope of the recording's first `hi` seconds."""
    from bruxwatch.devices.base import Chunk, StreamInfo
    from bruxwatch.signal import Pipeline

    info = StreamInfo(fs=recording.fs, channels=recording.channels, units=recording.units)
    end = int(np.ceil(hi * recording.fs))
    pipeline = Pipeline(info, config)
    return pipeline.process(Chunk(0, recording.samples[:, :end])).envelope


def format_summary(analysis: Analysis, title: str = "") -> str:
    """A readable table of the night's figures and its episodes."""
    s = analysis.summary
    rated = s.enough_signal
    lines = []
    if title:
        lines.append(title)
    rows = [
        ("recorded", f"{s.hours:.2f} h ({s.good_hours:.2f} h with good signal)"),
        (
            "scoring",
            "calibrated (% MVC)" if s.calibrated else "NOT calibrated: adaptive background",
        ),
        ("threshold", s.threshold),
        *([("calibration", s.calibration_note)] if s.calibration_note else []),
        *_channel_rows(s),
        ("episodes", f"{s.episodes}" + (f"  ({s.episodes_per_hour:.1f} per hour)" * rated)),
        *[
            (f"  {kind}", f"{s.by_kind[kind]}  ({s.per_hour_by_kind[kind]:.1f} per hour)")
            for kind in ("phasic", "tonic", "mixed")
        ]
        * rated,
        ("set aside (bad signal)", f"{s.artifact_episodes}"),
        (
            "bursts",
            f"{s.bursts}  ("
            + (f"{s.bursts_per_hour:.1f} per hour, " * rated)
            + f"{s.bursts_per_episode:.1f} per episode)",
        ),
        *([] if rated else [("per hour", s.not_enough_text())]),
        ("clench time", f"{s.clench_seconds:.1f} s (mean episode {s.mean_episode_s:.1f} s)"),
        ("episodes by hour", " ".join(str(n) for n in s.hourly_episodes)),
    ]
    width = max(len(k) for k, _ in rows)
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    if analysis.episodes:
        peak_units = "% MVC" if s.calibrated else "x bg"
        lines.append("")
        lines.append(
            f"  {'start':>10}  {'duration':>8}  {'kind':<6}  {'bursts':>6}  "
            f"{'peak ' + peak_units:>10}"
        )
        for e in analysis.episodes:
            peak = e.peak_pct_mvc if e.peak_pct_mvc is not None else e.peak_level
            note = "  artifact" if e.artifact else ""
            lines.append(
                f"  {_clock(e.start_s):>10}  {e.duration_s:7.1f}s  {e.kind:<6}  {e.bursts:>6}  "
                f"{peak:10.1f}{note}"
            )
    lines.append("")
    lines.append("bruxwatch measures jaw-muscle activity; it does not diagnose anything.")
    return "\n".join(lines)


def _channel_rows(s: Summary) -> list[tuple[str, str]]:
    """A row per scored channel with flagged time, and one naming the channels left out."""
    rows = [("signal quality", c.text()) for c in s.channels if c.flagged_hours > 0]
    if s.bad_channels:
        others = len(s.bad_channels) < len(s.channels)
        note = " (scored on the others)" if others else " (no good channel)"
        rows.append(("bad channels", ", ".join(s.bad_channels) + note))
    return rows


def _clock(seconds: float) -> str:
    h, rem = divmod(int(seconds), 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}"


# ---------------------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    """The first thing a new user runs: the live window on the simulated wearer at a desk, or,
    without a display, the headless recorder's view of the same for a minute."""
    if args.night:
        return _demo_night(args)
    device = f"sim:scenario=awake,seed={args.seed},episodes_per_hour=120"
    if args.screenshot or _can_open_window():
        live = argparse.Namespace(
            device=device,
            no_record=True,
            screenshot=args.screenshot,
            seconds=args.seconds,
            mode="feedback",
            feedback="bell",
            mains=50.0,
            lsl=None,
            withhold=0.0,
        )
        return cmd_live(live)
    if not _has_display():  # (where Qt could not use one, _can_open_window said so)
        print(
            "no display here: showing the headless recorder on the simulator instead "
            "(`bruxwatch demo --night` scores a simulated night)",
            flush=True,
        )
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="bruxwatch-demo-")) / "demo.sqlite"
    record = argparse.Namespace(
        device=device,
        mode="feedback",
        out=str(out),
        duration=args.seconds or 60.0,
        feedback="bell",
        no_calibrate=True,
        use_saved=False,
        mains=50.0,
        lsl=None,
        withhold=0.0,
    )
    return cmd_record(record)


def _can_open_window() -> bool:
    """A display is claimed and Qt can open a window on it; if Qt cannot (its system
    libraries missing, no X server), one line on stderr says why and which packages help."""
    if not _has_display():
        return False
    try:
        from bruxwatch.ui.window_check import window_problem
    except ImportError:
        return False
    problem = window_problem()
    if problem:
        print(f"{problem}; showing the headless view instead", file=sys.stderr, flush=True)
    return problem is None


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and (
        os.environ.get("QT_QPA_PLATFORM") != "offscreen"
    )


def cmd_live(args: argparse.Namespace) -> int:
    import datetime as dt

    from bruxwatch.devices.registry import open_device
    from bruxwatch.devices.serial_link import DeviceError
    from bruxwatch.firmware_host.feedback import FeedbackConfig
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.store.recording import RecordingWriter

    if args.screenshot:
        _check_screenshot_path(Path(args.screenshot))
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif not _has_display():
        raise CliError("no display here; use --screenshot FILE.png, or `bruxwatch record`")
    elif not _can_open_window():  # the same session, with the recorder's status line
        return cmd_record(_headless_of_live(args))
    try:
        from bruxwatch.ui.live import run_live
    except ImportError as exc:
        raise CliError(
            f"the live window needs the ui extra: pip install 'bruxwatch[ui]' ({exc})"
        ) from None
    try:
        device = open_device(args.device)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    store = None
    if args.screenshot and not args.out:  # a picture is not a night: nothing is recorded
        args.no_record = True
    if not args.no_record:
        out = Path(args.out) if args.out else _default_night_path(dt.datetime.now())
        if out.exists():
            raise CliError(f"{out}: already exists; choose another file name")
        if not out.parent.is_dir():
            raise CliError(f"{out.parent}: no such folder")
    feedback_config, stored = _feedback_settings(args)
    if not args.no_record:
        store = lambda info: RecordingWriter(  # noqa: E731
            out, info, mode=args.mode, config=stored
        )
    session = Session(
        device,
        config=_signal_config(args),
        store=store,
        feedback=FeedbackConfig(**feedback_config),
        actuators=_actuators(args.feedback, device),
    )
    _publish_lsl(session, getattr(args, "lsl", None))
    try:
        with _writing(Path(args.screenshot)) if args.screenshot else contextlib.nullcontext():
            result = run_live(session, screenshot=args.screenshot, seconds=args.seconds or 10.0)
    except (DeviceError, RuntimeError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.screenshot:
        print(f"saved {args.screenshot}")
    if result is not None:
        print(f"stopped: {result.reason}")
        if result.path:
            print(f"file: {result.path}")
    return 0


def _headless_of_live(args: argparse.Namespace) -> argparse.Namespace:
    """`record`'s arguments for what `live` was asked to do (without a window)."""
    import tempfile

    out = args.out
    if args.no_record:  # record always keeps a file: a temporary one, then
        out = str(Path(tempfile.mkdtemp(prefix="bruxwatch-live-")) / "session.sqlite")
    return argparse.Namespace(
        **{
            **vars(args),
            "out": out,
            "duration": args.seconds,
            "no_calibrate": True,
            "use_saved": False,
            "withhold": getattr(args, "withhold", 0.0),
        }
    )


def _settings(args: argparse.Namespace):
    """The settings file's values (loaded once, in main)."""
    from bruxwatch.config import Settings

    return getattr(args, "settings", None) or Settings()


def _signal_config(args: argparse.Namespace) -> SignalConfig:
    """The settings file's signal chain, with `--mains` applied when given."""
    return _with_mains(_settings(args).signal, getattr(args, "mains", None))


def _with_mains(config: SignalConfig, mains: float | str | None) -> SignalConfig:
    """`config` with the `--mains` flag applied (None: not given; 0: no notch; "auto")."""
    import dataclasses

    if mains is None:
        return config
    value = mains if mains == "auto" else float(mains) or None
    notch = dataclasses.replace(config.filter, mains_hz=value)
    return dataclasses.replace(config, filter=notch)


def _feedback_settings(args: argparse.Namespace) -> tuple[dict, dict]:
    """FeedbackConfig arguments (the settings file's, with --mode and --withhold applied) and
    what the recording stores: the signal settings it is scored with, and for `--withhold`
    the fraction and the random seed that decided each clench."""
    import dataclasses
    import secrets

    signal = _signal_config(args)
    withhold = getattr(args, "withhold", 0.0) or 0.0
    stored: dict = {"mains_hz": signal.filter.mains_hz, "signal": dataclasses.asdict(signal)}
    config = dataclasses.asdict(_settings(args).feedback)
    config["mode"] = args.mode
    if withhold:
        if args.mode == "baseline":
            raise CliError("--withhold is for feedback nights; baseline mode withholds all")
        seed = secrets.randbits(31)
        config.update(withhold=withhold, seed=seed)
        stored.update(withhold=withhold, withhold_seed=seed)
    return config, stored


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction 0-1, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"withhold must be at least 0 and below 1, got {text}")
    return value


def _publish_lsl(session, name: str | None) -> None:
    """`--lsl [NAME]`: publish the envelope and events on Lab Streaming Layer."""
    if not name:
        return
    from bruxwatch.firmware_host.lsl_outlet import LslError, attach

    try:
        attach(session, name)
    except LslError as exc:
        raise CliError(str(exc)) from None


def _demo_night(args: argparse.Namespace) -> int:
    from bruxwatch.devices.simulator import Simulator, SimulatorConfig
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
    recording = Recording(samples=samples, fs=sim.fs, channels=sim.info.channels)
    config = SignalConfig()
    truth = sim.truth
    assert truth.rest_s and truth.mvc_s
    calibration = _calibration_from_ranges(recording, truth.rest_s, truth.mvc_s, config)
    assert calibration is not None
    print(
        "Calibrated: rest "
        + ", ".join(f"{r:.1f}" for r in calibration.rest)
        + f" {calibration.units}, MVC "
        + ", ".join(f"{m:.0f}" for m in calibration.mvc)
        + f" {calibration.units}"
    )
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


# ------------------------------------------------------------------------------- devices
def cmd_devices(args: argparse.Namespace) -> int:
    from bruxwatch.devices.discovery import serial_ports

    if args.ble:
        return _ble_devices(args.seconds)
    ports = serial_ports()
    if not ports:
        print("no serial ports found. Without a board: `bruxwatch emulate cyton` in one terminal,")
        print("then `bruxwatch stream cyton:PATH` with the path it prints, or use device `sim`.")
        return 0
    width = max(len(p.device) for p in ports)
    for p in ports:
        ids = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else "-"
        suggestion = f"  ->  {p.spec}" if p.spec else ""
        print(f"{p.device:<{width}}  {ids:<9}  {p.guess}{suggestion}")
    return 0


def _ble_devices(seconds: float) -> int:
    from bruxwatch.devices.discovery import ble_boards
    from bruxwatch.devices.serial_link import DeviceError

    try:
        boards = ble_boards(seconds)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    if not boards:
        print(f"no Ganglion or bruxwatch BLE board seen in {seconds:g} s (is it switched on?)")
        return 0
    for b in boards:
        rssi = f"{b.rssi} dBm" if b.rssi is not None else "-"
        print(f"{b.address:<18}  {b.name:<20}  {rssi:>8}  ->  {b.spec}")
    return 0


def cmd_emulate(args: argparse.Namespace) -> int:
    import time

    from bruxwatch.devices.emulators import (
        ArduinoEmulator,
        CytonEmulator,
        Faults,
        MyoWareSketchEmulator,
    )

    try:
        faults = Faults.parse(args.faults or "")
    except ValueError as exc:
        raise CliError(str(exc)) from None
    common = dict(
        scenario=args.scenario,
        seed=args.seed,
        speed=args.speed,
        faults=faults,
        calibrate=args.calibrate,
    )
    if args.board == "cyton":
        emulator = CytonEmulator(**common)
        spec = "cyton:{path}"
    elif args.board == "myoware":
        emulator = MyoWareSketchEmulator(**common)
        spec = "arduino-text:{path}"
    else:
        emulator = ArduinoEmulator(text=args.text or False, **common)
        spec = "arduino-text:{path}?fs=1000" if args.text else "arduino:{path}"
    with emulator:
        print(f"{args.board} emulator on {emulator.path}", flush=True)
        print(f"try: bruxwatch stream {spec.format(path=emulator.path)} --seconds 10", flush=True)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    from bruxwatch.devices.registry import open_device
    from bruxwatch.devices.serial_link import DeviceError
    from bruxwatch.signal import Pipeline

    try:
        device = open_device(args.device)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    config = _signal_config(args)
    pipeline = None
    second, samples, gaps, episodes = 0, 0, 0, 0
    peak: np.ndarray | None = None
    if hasattr(device, "on_notice"):  # silence, reconnects: said as they happen
        device.on_notice = lambda text: print(text, flush=True)
    try:
        for chunk in device.chunks():
            if pipeline is None:
                try:
                    pipeline = Pipeline(device.info, config)
                except ValueError as exc:  # e.g. a rate too low for the band-pass
                    raise CliError(f"{device.info.device}: {exc}") from None
                print(
                    f"{device.info.device}: {device.info.n_channels} channels at "
                    f"{device.info.fs:g} Hz ({device.info.units})",
                    flush=True,
                )
            out = pipeline.process(chunk)
            gaps += chunk.missing_before
            samples += chunk.n
            episodes += sum(type(e).__name__ == "EpisodeEnd" for e in out.events)
            level = out.envelope.max(axis=1) if out.envelope.size else None
            if level is not None:
                peak = level if peak is None else np.maximum(peak, level)
            now = int(chunk.end_index / device.info.fs)
            if now > second:
                envelope = " ".join(f"{v:.1f}" for v in (peak if peak is not None else []))
                print(
                    f"t={now:4d}s  samples {samples:5d}  lost {gaps:4d}  "
                    f"envelope peak {envelope} {device.info.units}  episodes {episodes}",
                    flush=True,
                )
                second, samples, gaps, peak = now, 0, 0, None
                if now >= args.seconds:
                    break
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    finally:
        device.close()
    return 0


# -------------------------------------------------------------------------------- record
def cmd_record(args: argparse.Namespace) -> int:
    import datetime as dt

    from bruxwatch.devices.registry import open_device
    from bruxwatch.devices.serial_link import DeviceError
    from bruxwatch.firmware_host.console import ConsoleView, clock
    from bruxwatch.firmware_host.feedback import FeedbackConfig
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.signal.calibration import PROTOCOL, outcome_text
    from bruxwatch.store.recording import RecordingWriter, StoreError

    out = Path(args.out) if args.out else _default_night_path(dt.datetime.now())
    if out.exists():
        raise CliError(f"{out}: already exists; choose another file name")
    if not out.parent.is_dir():
        raise CliError(f"{out.parent}: no such folder")
    feedback_config, stored = _feedback_settings(args)
    try:
        device = open_device(args.device)
        feedback = FeedbackConfig(**feedback_config)
    except (DeviceError, ValueError) as exc:
        raise CliError(str(exc)) from None
    calibration = _saved_calibration(args.device) if args.use_saved else None
    if args.use_saved and calibration is None:
        raise CliError(f"no saved calibration for {args.device}; run `bruxwatch calibrate` first")
    guided = not args.no_calibrate and calibration is None
    config = _signal_config(args)
    session = Session(
        device,
        config=config,
        calibration=calibration,
        store=lambda info: RecordingWriter(
            out, info, mode=args.mode, calibration=calibration, config=stored
        ),
        feedback=feedback,
        actuators=_actuators(args.feedback, device),
        calibrate=PROTOCOL if guided else None,
    )
    _publish_lsl(session, getattr(args, "lsl", None))
    ConsoleView(session)
    # said once the device has sent its first samples, not before it may fail to open
    session.on_started = lambda info: print(
        f"recording {info.device} to {out} ({args.mode} mode"
        f"{', guided calibration first' if guided else ''}); Ctrl-C to stop",
        flush=True,
    )
    try:
        result = session.run(duration_s=args.duration)
    except (DeviceError, StoreError) as exc:
        raise CliError(str(exc)) from None
    st = result.status
    print()
    if session.calibration_error:
        print(outcome_text(None, session.calibration_error))
    print(f"stopped: {result.reason}")
    print(
        f"recorded {clock(st.seconds)}, {counted(st.episodes, 'episode')} "
        f"({st.artifacts} set aside), "
        f"{feedback_text(args.mode, st.feedback_fired, st.feedback_held)}, "
        f"{counted(st.lost, 'sample')} lost"
    )
    flagged = _flagged_channels(session.pipeline)
    if flagged:
        print("signal quality: " + "; ".join(flagged))
    if st.latencies_ms:
        lat = np.percentile(st.latencies_ms, [50, 95])
        print(
            f"trigger-to-command latency: median {lat[0]:.1f} ms, 95th percentile {lat[1]:.1f} ms"
        )
    print(f"file: {result.path or out}")
    return 0


def _flagged_channels(pipeline) -> list[str]:
    """Each scored channel with flagged signal: its name, flagged time and why."""
    if pipeline is None:
        return []
    quality, names = pipeline.quality, pipeline.info.channels
    out = []
    for c in pipeline.scored:
        seconds = quality.flagged_seconds(c)
        if seconds > 0:
            why = ", ".join(f"{k} {v:.0f} s" for k, v in quality.flag_seconds(c).items())
            out.append(f"{names[c]} flagged {seconds:.0f} s ({why})")
    return out


def cmd_calibrate(args: argparse.Namespace) -> int:
    from bruxwatch.devices.registry import open_device
    from bruxwatch.devices.serial_link import DeviceError
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.signal.calibration import PROTOCOL
    from bruxwatch.store.private import private_file

    path = _calibration_path(args.device)
    _check_can_write_into(path.parent)  # before the wearer's effort, not after it
    try:
        device = open_device(args.device)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    session = Session(device, calibrate=PROTOCOL, on_prompt=lambda text: print(text, flush=True))
    session.on_calibrated = lambda calibration: session.stop("calibration done")
    try:
        session.run(duration_s=PROTOCOL.end_s * session.calibration_attempts + 0.5)
    except DeviceError as exc:
        raise CliError(str(exc)) from None
    if session.calibration is None:
        raise CliError(f"calibration failed: {session.calibration_error or 'no data'}")
    with _writing(path), private_file(path) as out:
        out.write(json.dumps(session.calibration.to_dict(), indent=1))
    cal = session.calibration
    print(
        "rest "
        + ", ".join(f"{v:.2f}" for v in cal.rest)
        + f" {cal.units}; maximal clench "
        + ", ".join(f"{v:.1f}" for v in cal.mvc)
        + f" {cal.units}"
    )
    print(f"saved to {path}; `bruxwatch record --use-saved` uses it")
    return 0


def _user_dir(kind: str) -> Path:
    try:
        import platformdirs

        base = (
            platformdirs.user_data_dir("bruxwatch")
            if kind == "data"
            else (platformdirs.user_config_dir("bruxwatch"))
        )
        return Path(base)
    except ImportError:
        return Path.home() / ".local" / "share" / "bruxwatch"


def _default_night_path(now) -> Path:
    from bruxwatch.store.private import private_folder

    folder = private_folder(_user_dir("data") / "nights")
    return folder / f"night-{now:%Y-%m-%d_%H%M%S}.sqlite"


def _calibration_path(device: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in device)
    return _user_dir("config") / "calibrations" / f"{safe}.json"


def _saved_calibration(device: str):
    from bruxwatch.signal import Calibration

    path = _calibration_path(device)
    if not path.is_file():
        return None
    return Calibration.from_dict(json.loads(path.read_text()))


def _actuators(names: str | None, device) -> list:
    from bruxwatch.firmware_host.feedback import (
        BellActuator,
        MotorActuator,
        NotifyActuator,
        SoundActuator,
    )

    can_vibrate = hasattr(device, "vibrate") and not getattr(device, "text", False)
    wanted = (names or ("motor" if can_vibrate else "bell")).split(",")
    made = []
    for name in filter(None, (n.strip() for n in wanted)):
        if name == "motor":
            if not can_vibrate:
                raise CliError("this device has no vibration motor; use --feedback sound or bell")
            made.append(MotorActuator(device))
        elif name == "bell":
            made.append(BellActuator())
        elif name == "sound":
            made.append(SoundActuator())
        elif name == "notify":
            made.append(NotifyActuator())
        else:
            raise CliError(f"unknown feedback {name!r}; use motor, sound, bell, notify")
    return made


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            f"expected a duration like 90s, 30m, 8h, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"duration must be positive, got {text!r}")
    return value


# -------------------------------------------------------------------------------- review
def cmd_review(args: argparse.Namespace) -> int:

    from bruxwatch.store.nights import find_nights
    from bruxwatch.store.recording import Recording as Night
    from bruxwatch.store.recording import StoreError

    if args.screenshot:
        _check_screenshot_path(Path(args.screenshot))
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and (
        os.environ.get("QT_QPA_PLATFORM") != "offscreen"
    ):
        raise CliError("no display here; use --screenshot FILE.png to render the review to a file")
    elif _has_display():
        from bruxwatch.ui.window_check import window_problem

        problem = window_problem()
        if problem:
            raise CliError(f"{problem}; or use --screenshot FILE.png")
    try:
        import pyqtgraph as pg

        from bruxwatch.ui.review import ReviewWindow
        from bruxwatch.ui.snapshot import quiet_offscreen_platform, save_window
    except ImportError as exc:
        raise CliError(
            f"the review needs the ui extra: pip install 'bruxwatch[ui]' ({exc})"
        ) from None
    try:
        skipped: list[str] = []
        nights = find_nights(args.night, skipped)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
        first = nights[-1] if args.night_number is None else nights[_night_number(args, nights)]
        app = pg.mkQApp("bruxwatch review")
        if args.screenshot:
            quiet_offscreen_platform()
        while True:
            night = Night(first)
            try:
                window = ReviewWindow(night, nights=nights)
                break
            except DamagedRecording as exc:
                night.close()
                if args.night_number is not None or len(nights) == 1:
                    raise
                print(f"skipped {exc}", file=sys.stderr)  # the newest night that reads
                nights.remove(first)
                first = nights[-1]
    except StoreError as exc:
        raise CliError(str(exc)) from None
    count = len(window.night.episodes)
    if args.episode is not None and not 1 <= args.episode <= count:
        night.close()
        have = f"episodes 1-{count}" if count else "no episodes"
        raise CliError(f"--episode {args.episode}: {first.name} has {have}")
    if args.screenshot:
        if args.episode is not None:
            window.select(args.episode - 1)
        try:
            with _writing(Path(args.screenshot)):
                save_window(window, args.screenshot)
        finally:
            window.close()
            window.deleteLater()
            app.processEvents()
            night.close()
        print(f"saved {args.screenshot}")
        return 0
    window.show()
    app.exec()
    night.close()
    return 0


def _night_number(args: argparse.Namespace, nights: list) -> int:
    if not 1 <= args.night_number <= len(nights):
        raise CliError(f"--night {args.night_number}: there are {len(nights)} nights (1 = oldest)")
    return args.night_number - 1


# -------------------------------------------------------------------------------- report
def _scored_nights(
    paths: Sequence[str],
    quiet: bool = False,
    channels: tuple[int, ...] | None = None,
    signal: SignalConfig | None = None,
) -> list:
    """Score the nights named by `paths`: recordings, folders of them, or files made by other
    tools (EDF/BDF, OpenBCI, CSV), which are imported into a temporary night first, scored
    with `signal` (the settings file's; a stored night keeps its own)."""
    import tempfile

    from bruxwatch.store.convert import store_file_recording

    with tempfile.TemporaryDirectory(prefix="bruxwatch-import-") as tmp:
        stored: list[str | Path] = []
        for raw in paths:
            path = Path(raw)
            if path.is_dir() or path.suffix.lower() in (".sqlite", ".db") or not path.exists():
                stored.append(raw)
                continue
            recording = _read_recording(path, None)
            temporary = Path(tmp) / f"{path.stem}.sqlite"
            stored.append(store_file_recording(recording, path, temporary, signal=signal))
        return _score_stored(stored, quiet, channels)


def _score_stored(
    paths: Sequence[str | Path], quiet: bool, channels: tuple[int, ...] | None = None
) -> list:
    from bruxwatch.store.nights import find_nights
    from bruxwatch.store.recording import Recording as Night
    from bruxwatch.store.recording import StoreError
    from bruxwatch.store.scored import score_night

    try:
        skipped: list[str] = []
        found = find_nights(paths, skipped)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
        nights = []
        for path in found:
            try:
                with Night(path) as night, _progress(f"scoring {path.name}", not quiet) as tick:
                    nights.append(score_night(night, progress=tick, channels=channels))
            except DamagedRecording as exc:
                if len(found) == 1:
                    raise
                print(f"skipped {exc}", file=sys.stderr)  # the other nights are reported
            except StoreError as exc:
                raise StoreError(exc if str(path) in str(exc) else f"{path}: {exc}") from None
        if not nights:
            raise StoreError("every night named is damaged; `bruxwatch repair NIGHT` saves each")
    except StoreError as exc:
        raise CliError(str(exc)) from None
    return nights


def cmd_report(args: argparse.Namespace) -> int:
    from bruxwatch.store.exports import report_dict, write_report_csv

    if args.pdf:
        _check_writable(Path(args.pdf))
    if args.csv and Path(args.csv).exists() and not Path(args.csv).is_dir():
        raise CliError(f"{args.csv}: is a file; --csv takes a folder")
    from bruxwatch.store.exports import short_sessions, short_text

    nights, short = short_sessions(
        _scored_nights(
            args.nights, quiet=args.json, channels=args.channels, signal=_signal_config(args)
        )
    )
    if not nights:
        raise CliError(f"no night to report: {short_text(short)}")
    if args.pdf:
        try:
            from bruxwatch.ui.report import render_report
        except ImportError as exc:
            raise CliError(
                f"the PDF needs the report extra: pip install 'bruxwatch[report]' ({exc})"
            ) from None
        with _writing(Path(args.pdf)):
            render_report(nights, args.pdf, patient=args.patient, short=short)
        print(f"saved {args.pdf}", file=sys.stderr if args.json else sys.stdout)
    if args.csv:
        with _writing(Path(args.csv)):
            written = write_report_csv(Path(args.csv), nights)
        print("saved " + ", ".join(map(str, written)), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        json.dump(report_dict(nights, patient=args.patient, short=short), sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not (args.pdf or args.csv):
        print(format_nights(nights, short))
    elif short:
        print(short_text(short), file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from bruxwatch.store.convert import store_file_recording
    from bruxwatch.store.recording import StoreError

    source = Path(args.file)
    out = Path(args.out) if args.out else source.with_suffix(".sqlite")
    _check_writable(out)
    if out.exists():
        raise CliError(f"{out}: already exists; give another --out")
    recording = _read_recording(source, args.fs)
    signal = _with_channels(_signal_config(args), args.channels, len(recording.channels))
    try:
        store_file_recording(recording, source, out, mode=args.mode, signal=signal)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    lost = sum(n for _, n in recording.gaps) / recording.fs
    print(
        f"saved {out}: {recording.source}, {len(recording.channels)} channels at "
        f"{recording.fs:g} Hz, {recording.duration_s / 3600:.2f} h"
        + (f", {lost_text(len(recording.gaps), lost)}" if recording.gaps else "")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bruxwatch.store.exports import write_samples_csv
    from bruxwatch.store.recording import Recording as Night
    from bruxwatch.store.recording import StoreError
    from bruxwatch.store.scored import score_night

    if not (args.edf or args.csv or args.copy):
        raise CliError("nothing to do: give --edf FILE, --csv FILE and/or --copy FILE")
    for target in (args.edf, args.csv, args.copy):
        if target:
            _check_writable(Path(target))
    if args.copy and Path(args.copy).exists():
        raise CliError(f"{args.copy}: already exists; give another name")
    try:
        night = Night(args.night)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    with night:
        if args.copy:
            with _writing(Path(args.copy)):
                night.copy_to(args.copy)
            print(f"saved {args.copy} (the whole night in one file)")
        if args.edf:
            try:
                from bruxwatch.store.edf import export_edf
            except ImportError as exc:
                raise CliError(
                    f"EDF needs the report extra: pip install 'bruxwatch[report]' ({exc})"
                ) from None
            with _progress("scoring", not args.quiet) as tick:
                scored = score_night(night, progress=tick)
            try:
                with _writing(Path(args.edf)):
                    channels = export_edf(night, scored, args.edf, patient=args.patient)
            except ValueError as exc:
                raise CliError(f"{args.edf}: cannot write EDF+ ({exc})") from None
            ranges = "; ".join(
                f"{c.label} {c.physical_min:g}..{c.physical_max:g} {night.info.units}, "
                f"step {c.step:.3g}"
                for c in channels
            )
            print(f"saved {args.edf} (EDF+, {len(scored.analysis.episodes)} episodes; {ranges})")
        if args.csv:
            with _writing(Path(args.csv)):
                rows = write_samples_csv(night, Path(args.csv))
            print(f"saved {args.csv} ({rows} samples)")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    from bruxwatch.store.repair import salvage

    source = Path(args.night)
    if not source.is_file():
        raise CliError(f"{source}: no such recording")
    out = Path(args.out) if args.out else source.with_name(f"{source.stem}-repaired.sqlite")
    _check_writable(out)
    if out.resolve() == source.resolve():
        raise CliError(f"{out}: is the damaged night itself; the original is never changed")
    saved = salvage(source, out)
    print(saved.text())
    print(f"the original {source} is unchanged; `bruxwatch report {out}` reads the repaired night")
    return 0


def format_nights(nights: list, short: Sequence = ()) -> str:
    """The report for the terminal: the PDF's night table (rates per good hour), its
    comparison sentences with their caveats, and the short sessions it left out."""
    from bruxwatch.store.exports import comparison_text, evidence, short_text
    from bruxwatch.store.local_time import offset_text

    lines = [
        f"{'night':<28} {'mode':<9} {'good h':>6} {'ep/h':>6} {'phasic/h':>8} {'tonic/h':>7} "
        f"{'mixed/h':>7} {'bursts/h':>8} {'clench %':>8} {'fb given':>8} {'stopped':>7}"
    ]
    for n in nights:
        s, o = n.analysis.summary, n.outcome_summary
        stopped = "-" if o.stopped_fraction is None else f"{100 * o.stopped_fraction:.0f}%"
        kinds = s.per_hour_by_kind
        rates = [
            (s.episodes_per_hour, 6, 1),
            (kinds["phasic"], 8, 1),
            (kinds["tonic"], 7, 1),
            (kinds["mixed"], 7, 1),
            (s.bursts_per_hour, 8, 1),
            (s.clench_pct, 8, 2),
        ]
        cells = " ".join(
            f"{value:{width}.{digits}f}" if s.enough_signal else f"{'-':>{width}}"
            for value, width, digits in rates
        )
        lines.append(
            f"{n.label[:28]:<28} {n.mode:<9} {s.good_hours:6.2f} {cells} {o.given:8d} {stopped:>7}"
        )
    unrated = [n.label for n in nights if not n.analysis.summary.enough_signal]
    if unrated:
        need = nights[0].analysis.summary.min_good_hours
        lines.append(
            f"-: not enough good signal for a rate (under {need:g} h): " + ", ".join(unrated)
        )
    if short:
        lines.append(short_text(short))
    found = evidence(nights)
    lines.append("Baseline vs biofeedback nights:")
    lines.extend(f"  {sentence}" for sentence in comparison_text(nights, found))
    if found["randomized_nights"]:
        lines.append("Does feedback help? " + found["feedback_effect"]["sentence"])
    lines.append(
        "Clock times are local (UTC"
        + (offset_text(nights[0].started_at) if nights else "")
        + "); nights are dated by the evening they began."
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------------- shell
def _range(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END in seconds, got {text!r}") from None
    if not b > a:
        raise argparse.ArgumentTypeError(f"range {text!r} must end after it starts")
    return a, b


def _sample_rate(text: str) -> float:
    """--fs: a rate raw EMG can be band-passed at, in Hz."""
    from bruxwatch.devices.base import MAX_FS, MIN_RAW_FS

    value = _positive(text)
    if not MIN_RAW_FS <= value <= MAX_FS:
        raise argparse.ArgumentTypeError(
            f"the sample rate must be {MIN_RAW_FS:g}-{MAX_FS:g} Hz for raw EMG, got {text}"
        )
    return value


def _night_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 365:
        raise argparse.ArgumentTypeError(f"the number of nights must be 1-365, got {text!r}")
    return int(text)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _add_channels_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--channels",
        type=_channel_list,
        metavar="1,2",
        help="score only these channels (1-based, as in device specs; default: all, or those"
        " the night was recorded with)",
    )


def _channel_list(text: str) -> tuple[int, ...]:
    """ "1,3" -> (0, 2): 1-based channel numbers, each once."""
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"channels must be numbers like 1,2 (1-based), got {text!r}"
        ) from None
    if any(n < 1 for n in numbers) or len(set(numbers)) != len(numbers):
        raise argparse.ArgumentTypeError(
            f"channels must be distinct numbers from 1 up (1-based), got {text!r}"
        )
    return tuple(n - 1 for n in numbers)


def _with_channels(
    config: SignalConfig, channels: tuple[int, ...] | None, n_channels: int
) -> SignalConfig:
    """`config` scoring `channels` (0-based; None: unchanged), checked against the file."""
    import dataclasses

    if channels is None:
        return config
    missing = [c + 1 for c in channels if c >= n_channels]
    if missing:
        raise CliError(
            f"--channels: channel {', '.join(map(str, missing))} is not in the file "
            f"(it has {n_channels}: 1-{n_channels})"
        )
    return dataclasses.replace(config, masseter_channels=channels)


def _add_mains_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mains",
        type=_mains,
        help="mains frequency: 50, 60, auto (found from the signal, the default) or off",
    )


def _mains(text: str) -> float | str:
    """50, 60, "auto" (found from the signal), or 0.0 for "off" (no notch); not given = the
    settings file's value."""
    if text.lower() in ("off", "none", "0"):
        return 0.0
    if text.lower() == "auto":
        return "auto"
    if text not in ("50", "60"):
        raise argparse.ArgumentTypeError(f"mains must be 50, 60, auto or off, got {text!r}")
    return float(text)


def _check_can_write_into(folder: Path) -> None:
    """Make `folder` (0700) if it is missing and check a file can be created in it: one line
    naming it otherwise, before any work (or any of the wearer's effort) is spent."""
    import tempfile

    from bruxwatch.store.private import private_folder

    try:
        private_folder(folder)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CliError(f"{folder}: cannot write there ({exc.strerror or exc})") from None


def _check_screenshot_path(path: Path) -> None:
    """A screenshot's name, folder and permission, checked before any window is made."""
    from bruxwatch.ui.snapshot import image_format

    try:
        image_format(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    _check_writable(path)
    if not os.access(path.parent, os.W_OK):
        raise CliError(f"{path.parent}: cannot write there (permission denied)")


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A failure to write `path` (full disk, I/O error) as one line naming it; the writers
    go through store.private, so an existing file there is left as it was."""
    try:
        yield
    except OSError as exc:
        why = exc.strerror or (
            "it could not all be written: is the disk full?" if "written" in str(exc) else str(exc)
        )
        raise CliError(
            f"{path}: cannot write ({why}); an existing file is left as it was"
        ) from None


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise CliError(f"{path}: is a folder; give a file name")
    if not path.parent.exists():
        raise CliError(f"{path.parent}: no such folder")


class _progress:
    """A rich progress bar on stderr when stderr is a terminal; silent otherwise."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None

    def __enter__(self) -> Callable[[int, int], None]:
        if not self.enabled:
            return lambda done, total: None
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            return lambda done, total: None
        self._bar = Progress(transient=True, console=Console(stderr=True))
        self._bar.start()
        task = self._bar.add_task(self.label, total=1.0)
        return lambda done, total: self._bar.update(task, completed=done / max(total, 1))

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def _add_session_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `record` and `live`: randomized withholding and LSL publishing."""
    p.add_argument(
        "--withhold",
        type=_probability,
        default=0.0,
        metavar="P",
        help="withhold the feedback of each clench with probability P (e.g. 0.2), at random,"
        " to measure whether it helps (see `bruxwatch report`)",
    )
    p.add_argument(
        "--lsl",
        nargs="?",
        const="bruxwatch",
        metavar="NAME",
        help="publish the envelope and events on Lab Streaming Layer (streams NAME-envelope,"
        " NAME-events; default name bruxwatch). Visible to every computer on your local"
        " network: liblsl listens on all interfaces, and anyone there can read the streams"
        " (your clench level and episodes, not the raw EMG)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bruxwatch",
        description="Measure jaw clenching (bruxism) from masseter EMG: record, score, feed back.",
    )
    parser.add_argument("--version", action="version", version=f"bruxwatch {__version__}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (TOML; default: config.toml in your config folder, if there)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("simulate", help="write a simulated recording (CSV) and its ground truth")
    p.add_argument("--scenario", choices=("night", "awake", "calibration"), default="night")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--hours", type=_positive, help="length in hours")
    group.add_argument("--minutes", type=_positive, help="length in minutes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fs", type=_sample_rate, default=1000.0, help="sample rate, Hz (default 1000)")
    p.add_argument("--channels", type=int, default=2, help="masseter channels (default 2)")
    p.add_argument("--mains", type=float, choices=(50.0, 60.0), default=50.0)
    p.add_argument("--episodes-per-hour", type=_positive, default=None)
    p.add_argument("--calibrate", action="store_true", help="start with rest + 3 maximal clenches")
    p.add_argument("--out", required=True, help="CSV file to write (with --nights: a folder)")
    p.add_argument("--truth", help="JSON file for the ground truth")
    p.add_argument(
        "--nights",
        type=_night_count,
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
        type=_probability,
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
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("analyze", help="score a recording: episodes, bursts, per-hour indices")
    p.add_argument(
        "input",
        help="a night (.sqlite), EDF/BDF, OpenBCI GUI .txt, BrainFlow CSV or plain CSV",
    )
    p.add_argument(
        "--fs", type=_sample_rate, help="sample rate in Hz (unless the CSV has a time column)"
    )
    p.add_argument("--rest", type=_range, metavar="A:B", help="seconds of the file at rest")
    p.add_argument("--mvc", type=_range, metavar="A:B", help="seconds with maximal clenches")
    _add_mains_option(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_channels_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("devices", help="list serial ports (or BLE boards) and what they are")
    p.add_argument("--ble", action="store_true", help="scan for Ganglions and bruxwatch boards")
    p.add_argument("--seconds", type=_positive, default=5.0, help="BLE scan time (default 5)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("emulate", help="emulate a board on a pseudo-terminal (no hardware needed)")
    p.add_argument(
        "board",
        choices=("cyton", "arduino", "myoware"),
        help="myoware: SparkFun's MyoWare 2.0 Example_01 sketch (ENV, about 20 lines/s)",
    )
    p.add_argument("--scenario", choices=("awake", "night", "calibration"), default="awake")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--speed", type=_positive, default=1.0, help="stream speed, x real time")
    p.add_argument(
        "--faults",
        help="e.g. corrupt=0.01,drop=0.005,garbage=0.01,duplicate=0.001,junk=0.001,"
        "vanish=10:2,stall=20:3,reset=30 (vanish/stall AT:FOR s, reset AT s)",
    )
    p.add_argument(
        "--text",
        nargs="?",
        const="csv",
        choices=TEXT_FORMS,
        help="arduino: print text lines as a plain sketch does, no firmware (form: csv, "
        "tab, space, labels as in label:value, header: a line of labels first)",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="the wearer does the guided calibration (rest, 3 clenches) at stream start",
    )
    p.add_argument("--seconds", type=_positive, help="stop after this long (default: Ctrl-C)")
    p.set_defaults(func=cmd_emulate)

    p = sub.add_parser("stream", help="read a device and print per-second counts and levels")
    p.add_argument("device", help="sim, cyton:PORT, arduino:PORT, arduino-text:PORT?fs=HZ")
    p.add_argument("--seconds", type=_positive, default=10.0)
    _add_mains_option(p)
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser("record", help="record a night (or a session) with biofeedback")
    _add_session_options(p)
    p.add_argument(
        "--device", help="device spec (default: the settings file's, else the simulator)"
    )
    p.set_defaults(default_device="sim:scenario=night,calibrate=1")
    p.add_argument(
        "--mode",
        choices=("feedback", "baseline"),
        help="baseline: log what would have buzzed, buzz nothing (default: feedback)",
    )
    p.add_argument("--out", help="recording file (default: a dated file in your data folder)")
    p.add_argument("--duration", type=_duration, help="stop after 90s, 30m, 8h ... of stream")
    p.add_argument("--feedback", help="motor, sound, bell, notify (comma-separated)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--no-calibrate", action="store_true", help="skip the guided calibration")
    group.add_argument(
        "--use-saved",
        action="store_true",
        help="use the calibration saved by `bruxwatch calibrate`",
    )
    _add_mains_option(p)
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("calibrate", help="guided rest + maximal-clench calibration, saved")
    p.add_argument("--device", help="device spec (default: settings file, else the simulator)")
    p.set_defaults(default_device="sim:scenario=calibration")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("review", help="review a recorded night: timeline, episodes, per hour")
    p.add_argument(
        "night", nargs="+", help="recordings made by `bruxwatch record` (.sqlite) or folders"
    )
    p.add_argument(
        "--night",
        dest="night_number",
        type=int,
        help="open this night first (1 = oldest; default: the newest)",
    )
    p.add_argument("--screenshot", metavar="PNG", help="render offscreen to this file and exit")
    p.add_argument(
        "--episode", type=int, help="with --screenshot: zoom onto this episode (1 = first)"
    )
    p.set_defaults(func=cmd_review)

    p = sub.add_parser("report", help="for the dentist: PDF, CSV and JSON of one or more nights")
    p.add_argument("nights", nargs="+", help="recordings (.sqlite) or folders of them")
    p.add_argument("--pdf", metavar="FILE", help="write the one-page PDF report here")
    p.add_argument("--csv", metavar="DIR", help="write episodes.csv and nights.csv in this folder")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--patient", help="name or code printed on the report (optional)")
    _add_channels_option(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("import", help="store a recording made by another tool as a night")
    p.add_argument("file", help="EDF/BDF, OpenBCI GUI .txt, BrainFlow CSV or plain CSV")
    p.add_argument("--out", help="the night to write (default: FILE with .sqlite)")
    p.add_argument("--fs", type=_sample_rate, help="sample rate, Hz (plain CSV without time)")
    p.add_argument(
        "--mode",
        choices=("imported", "baseline", "feedback"),
        default="imported",
        help="what kind of night it was, for the baseline-vs-feedback comparison",
    )
    _add_mains_option(p)
    _add_channels_option(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="a night's raw EMG as EDF+ (with annotations) or CSV")
    p.add_argument("night", help="a recording (.sqlite)")
    p.add_argument("--edf", metavar="FILE", help="EDF+ file: raw EMG + episode/feedback notes")
    p.add_argument("--csv", metavar="FILE", help="CSV file: time_s and one column per channel")
    p.add_argument(
        "--copy",
        metavar="FILE",
        help="a copy of the night (.sqlite) in one file, with what a crash left in its -wal",
    )
    p.add_argument("--patient", help="patient name or code for the EDF+ header (optional)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("repair", help="save what can be read of a damaged night into a new file")
    p.add_argument("night", help="the damaged recording (.sqlite); it is only read")
    p.add_argument("--out", help="the repaired night (default: NIGHT-repaired.sqlite)")
    p.set_defaults(func=cmd_repair)

    p = sub.add_parser("live", help="the live window: scrolling EMG, clench level, threshold")
    p.add_argument("--device", help="device spec (default: settings file, else the simulator)")
    p.set_defaults(default_device="sim:scenario=awake")
    _add_session_options(p)
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not keep a recording (nor does --screenshot, unless --out is given)",
    )
    p.add_argument("--out", help="the recording's file (default: a dated name in the data folder)")
    p.add_argument("--mode", choices=("feedback", "baseline"), help="default: feedback")
    p.add_argument("--feedback", help="motor, sound, bell, notify (comma-separated)")
    _add_mains_option(p)
    p.add_argument("--screenshot", metavar="PNG", help="run offscreen, save the window, exit")
    p.add_argument("--seconds", type=_positive, help="with --screenshot: how long to run first")
    p.set_defaults(func=cmd_live)

    p = sub.add_parser("demo", help="the live window on the simulator (headless: the recorder)")
    p.add_argument(
        "--night",
        action="store_true",
        help="instead: simulate a night, calibrate, score it, compare to the truth",
    )
    p.add_argument("--hours", type=_positive, default=1.0, help="with --night: its length")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--screenshot", metavar="PNG", help="render the live window offscreen to PNG")
    p.add_argument(
        "--seconds", type=_positive, help="how long to run (default 10 s, headless 60 s)"
    )
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()
    parser = build_parser()
    argv = _negative_values_joined(sys.argv[1:] if argv is None else list(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one line (or --help / --version)
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from bruxwatch.config import ConfigError, load_settings

    try:
        args.settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"bruxwatch {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if hasattr(args, "default_device") and not getattr(args, "device", None):
        args.device = args.settings.device or args.default_device
    if getattr(args, "mode", "") is None:
        args.mode = args.settings.feedback.mode
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"bruxwatch {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, OSError, sqlite3.Error) as exc:  # storage failed (full disk, EIO ...)
        print(f"bruxwatch {args.command}: error: {_storage_text(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"bruxwatch {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _negative_values_joined(argv: list[str]) -> list[str]:
    """`--duration -5m` as `--duration=-5m`: argparse takes "-5m" for an option and says
    "expected one argument"; joined, the option's own check says what is wrong with it."""
    out: list[str] = []
    k = 0
    while k < len(argv):
        token = argv[k]
        if (
            token.startswith("--")
            and "=" not in token
            and k + 1 < len(argv)
            and re.match(r"-\.?\d", argv[k + 1])
        ):
            out.append(f"{token}={argv[k + 1]}")
            k += 2
            continue
        out.append(token)
        k += 1
    return out


def _storage_text(exc: BaseException) -> str:
    """One line for a failure to read or write a file, whatever raised it."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}; what was saved before stays readable"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
