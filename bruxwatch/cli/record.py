"""`bruxwatch record`, `calibrate` and `live`: a session with the wearer, headless or in the
live window.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
from pathlib import Path

import numpy as np

from bruxwatch.cli.arguments import (
    add_mains_option,
    add_session_options,
    duration_seconds,
    positive,
)
from bruxwatch.cli.common import (
    CliError,
    can_open_window,
    check_can_write_into,
    check_screenshot_path,
    feedback_settings,
    has_display,
    settings_of,
    signal_config,
    writing,
)
from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.console import counted, feedback_text
from bruxwatch.store.user_files import (
    calibration_path,
    default_night_path,
    save_calibration,
    saved_calibration,
)

LIVE_READ_WINDOW_S = 0.2
"""Longest serial read (s) while the live window shows the stream: it gets data 5 times a
second at rest (a headless recorder reads less often; see Session)."""


def cmd_live(args: argparse.Namespace) -> int:

    from bruxwatch.devices.base import DeviceError
    from bruxwatch.firmware_host.feedback import FeedbackConfig
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.sources import open_device
    from bruxwatch.store.night_writer import RecordingWriter

    if args.screenshot:
        check_screenshot_path(Path(args.screenshot))
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif not has_display():
        raise CliError("no display here; use --screenshot FILE.png, or `bruxwatch record`")
    elif not can_open_window():  # the same session, with the recorder's status line
        return _live_without_a_window(args)
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
        out = _new_night_path(args.out)
    feedback_config, stored = feedback_settings(args)
    if not args.no_record:
        store = lambda info: RecordingWriter(  # noqa: E731
            out, info, mode=args.mode, config=stored
        )
    session = Session(
        device,
        config=signal_config(args),
        store=store,
        feedback=FeedbackConfig(**feedback_config),
        actuators=actuators_for(args.feedback, device),
        idle_window_s=LIVE_READ_WINDOW_S,
    )
    publish_lsl(session, getattr(args, "lsl", None))
    sound = keep_sound(session, args.audio, device)
    alarm = lead_off_alarm(args, session)
    try:
        with writing(Path(args.screenshot)) if args.screenshot else contextlib.nullcontext():
            result = run_live(
                session,
                screenshot=args.screenshot,
                seconds=args.seconds or 10.0,
                alert=alarm.current if alarm else None,
            )
    except (DeviceError, RuntimeError, ValueError) as exc:
        raise CliError(str(exc)) from None
    finally:
        if sound is not None:
            sound.source.close()
    if args.screenshot:
        print(f"saved {args.screenshot}")
    if result is not None:
        print(f"stopped: {result.reason}")
        if result.path:
            print(f"file: {result.path}")
    return 0


def _live_without_a_window(args: argparse.Namespace) -> int:
    """What `live` was asked to do, in the headless recorder: no calibration first, and a
    temporary file when nothing is to be kept (the recorder always writes one)."""
    import tempfile

    out = args.out
    if args.no_record:
        out = str(Path(tempfile.mkdtemp(prefix="bruxwatch-live-")) / "session.sqlite")
    return record(args, out=out, duration_s=args.seconds, guided=False, use_saved=False)


def actuators_for(names: str | None, device) -> list:
    """`--feedback`'s actuators for `device`, a wrong name as the one-line error."""
    from bruxwatch.firmware_host.actuators import make_actuators

    try:
        return make_actuators(names, device)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def publish_lsl(session, name: str | None) -> None:
    """`--lsl [NAME]`: publish the envelope and events on Lab Streaming Layer."""
    if not name:
        return
    from bruxwatch.firmware_host.lsl_outlet import LslError, attach

    try:
        attach(session, name)
    except LslError as exc:
        raise CliError(str(exc)) from None


def keep_sound(session, mic: str | None, device) -> object | None:
    """`--audio [MIC]`: clips from the microphone around the session's episodes (the
    simulator's bedroom for `sim`); the clip keeper (its source to close when the session
    is over)."""
    if not mic:
        return None
    from bruxwatch.devices.base import DeviceError
    from bruxwatch.firmware_host.sound_clips import attach

    if mic == "sim":
        if not hasattr(device, "microphone"):
            raise CliError("--audio sim hears the simulator's bedroom: use it with a sim: device")
        source = device.microphone()
    else:
        from bruxwatch.devices.microphone import Microphone

        try:
            source = Microphone(None if mic == "default" else mic)
        except DeviceError as exc:
            raise CliError(str(exc)) from None
    keeper = attach(session, source)
    print(
        f"sound: {source.description}; keeping only {keeper.before_s:g} s before to "
        f"{keeper.after_s:g} s after each episode, in the night's file",
        flush=True,
    )
    return keeper


def now() -> dt.datetime:
    """The local time now (one place, so tests can set the clock)."""
    return dt.datetime.now().astimezone()


DEFAULT_NIGHT_S = 8 * 3600.0
"""The length a night's disk space is estimated for when nothing says when it ends."""


def clock_time(text: str) -> dt.time:
    """--until: a local clock time HH:MM."""
    try:
        return dt.time.fromisoformat(text if len(text) > 2 else f"{text}:00")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a clock time like 07:00, got {text!r}"
        ) from None


def seconds_until(when: dt.time, start: dt.datetime) -> float:
    """Seconds from `start` (local) to the next `when` on the clock (tomorrow if it has
    passed today)."""
    target = dt.datetime.combine(start.date(), when, tzinfo=start.tzinfo)
    if target <= start:
        target = dt.datetime.combine(start.date() + dt.timedelta(days=1), when, start.tzinfo)
    return (target - start).total_seconds()


def say_room(path: Path, info, seconds: float) -> None:
    """Before the night: how much room it needs and how many such nights fit."""
    from bruxwatch.store.disk_space import room_for

    with contextlib.suppress(OSError):  # a folder that cannot be asked fails later, plainly
        room = room_for(path.parent, info.fs, info.n_channels, seconds, info.steps is not None)
        print(room.text(seconds / 3600))


def follow_plan(args: argparse.Namespace) -> str | None:
    """Without `--mode`, the trial plan's block for tonight sets the mode; the block's name
    (stored with the night), or None when no plan holds tonight."""
    from bruxwatch.store.local_time import evening_of
    from bruxwatch.store.plan import load_plan

    explicit = getattr(args, "plan", None)
    if getattr(args, "mode_given", True) and not explicit:
        return None
    try:
        plan = load_plan(Path(explicit) if explicit else None)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if explicit and plan is None:
        raise CliError(f"{explicit}: no such plan file")
    phase = plan.phase_on(evening_of(now())) if plan else None
    if phase is None:
        return None
    if getattr(args, "mode_given", True) and args.mode != phase.mode:
        raise CliError(
            f"--mode {args.mode} disagrees with the plan ({phase.name} tonight); "
            "leave --mode out to follow the plan"
        )
    args.mode = phase.mode
    return phase.name


def _new_night_path(given: str | None) -> Path:
    """Where a night is recorded: `--out`, or a dated name in the data folder; never over
    an existing file."""
    out = Path(given) if given else default_night_path(now().replace(tzinfo=None))
    if out.exists():
        raise CliError(f"{out}: already exists; choose another file name")
    if not out.parent.is_dir():
        raise CliError(f"{out.parent}: no such folder")
    return out


def cmd_record(args: argparse.Namespace) -> int:
    return record(
        args,
        out=args.out,
        duration_s=args.duration,
        guided=not args.no_calibrate,
        use_saved=args.use_saved,
    )


def record(
    args: argparse.Namespace,
    *,
    out: str | None,
    duration_s: float | None,
    guided: bool,
    use_saved: bool,
) -> int:
    """A session in the terminal, recorded to `out` (None: a dated file): the device, mode,
    feedback, mains and LSL of `args` (record's or live's), `guided` calibration first
    unless `use_saved` gives the saved one; `duration_s` of stream, or until Ctrl-C."""
    from bruxwatch.devices.base import DeviceError
    from bruxwatch.firmware_host.console import ConsoleView, clock
    from bruxwatch.firmware_host.feedback import FeedbackConfig
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.signal.calibration import PROTOCOL, outcome_text
    from bruxwatch.sources import open_device
    from bruxwatch.store.night_writer import RecordingWriter

    path = _new_night_path(out)
    phase = follow_plan(args)
    if getattr(args, "check", False):
        from bruxwatch.cli.check import electrode_check

        electrode_check(args)  # said; the night goes on either way (the wearer decides)
    feedback_config, stored = feedback_settings(args)
    if phase:
        stored["plan_phase"] = phase
    try:
        device = open_device(args.device)
        feedback = FeedbackConfig(**feedback_config)
    except (DeviceError, ValueError) as exc:
        raise CliError(str(exc)) from None
    calibration = saved_calibration(args.device) if use_saved else None
    if use_saved and calibration is None:
        raise CliError(f"no saved calibration for {args.device}; run `bruxwatch calibrate` first")
    guided = guided and calibration is None
    config = signal_config(args)
    session = Session(
        device,
        config=config,
        calibration=calibration,
        store=lambda info: RecordingWriter(
            path, info, mode=args.mode, calibration=calibration, config=stored, started_at=now()
        ),
        feedback=feedback,
        actuators=actuators_for(args.feedback, device),
        calibrate=PROTOCOL if guided else None,
    )
    publish_lsl(session, getattr(args, "lsl", None))
    sound = keep_sound(session, getattr(args, "audio", None), device)
    alarm = lead_off_alarm(args, session)
    ConsoleView(session)
    until = getattr(args, "until", None)
    if until is not None:  # and no more stream than that: a replay or simulator at full speed
        duration_s = seconds_until(until, now())  # stops at the same point of its night
    planned_s = duration_s or DEFAULT_NIGHT_S

    def started(info) -> None:
        # said once the device has sent its first samples, not before it may fail to open
        print(
            f"recording {info.device} to {path} ({args.mode} mode"
            f"{f', the plan: {phase}' if phase else ''}"
            f"{', guided calibration first' if guided else ''}"
            f"{f', until {until:%H:%M}' if until else ''}); Ctrl-C to stop",
            flush=True,
        )
        say_room(path, info, planned_s)

    session.on_started = started
    wake = stop_at(session, until) if until else None
    try:
        result = session.run(duration_s=duration_s)
    except (DeviceError, StoreError) as exc:
        raise CliError(str(exc)) from None
    finally:
        if wake is not None:
            wake.cancel()
        if sound is not None:
            sound.source.close()
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
    if sound is not None:
        print(f"sound: {counted(sound.kept, 'clip')} kept")
    flagged = _flagged_channels(session.pipeline)
    if flagged:
        print("signal quality: " + "; ".join(flagged))
    valid = valid_signal_text(session.pipeline, st.seconds)
    if valid:
        print(valid)
    if alarm is not None and alarm.alarms:
        print(f"lead-off alarms: {alarm.alarms} (their times are in the night's notices)")
    if st.latencies_ms:
        lat = np.percentile(st.latencies_ms, [50, 95])
        print(
            f"trigger-to-command latency: median {lat[0]:.1f} ms, 95th percentile {lat[1]:.1f} ms"
        )
    print(f"file: {result.path or path}")
    if st.seconds >= 3600 * config.quality.min_night_hours:
        prepare_morning(Path(result.path or path))
    return 0


def prepare_morning(path: Path) -> None:
    """After a night: its score and its review's overview made now and kept (the cache), so
    the morning's report and review open at once; a failure here costs only that."""
    import time

    from bruxwatch.store.recording import Recording
    from bruxwatch.store.score_cache import scored
    from bruxwatch.ui.overview import kept_overview

    start = time.perf_counter()
    try:
        with Recording(path) as night:
            scored(night)
            kept_overview(night)
    except Exception as exc:  # noqa: BLE001 - the night is saved; only the preparing failed
        print(f"(the report and review will score the night when opened: {exc})")
        return
    print(f"prepared the report and the review ({time.perf_counter() - start:.1f} s)")


def lead_off_alarm(args: argparse.Namespace, session):
    """The lead-off alarm on `session` ([alarm] settings; off with --no-alarm), through the
    session's actuators; each thing it does is printed and kept in the night."""
    from bruxwatch.firmware_host.console import clock
    from bruxwatch.firmware_host.lead_off_alarm import attach

    config = settings_of(args).alarm
    if getattr(args, "no_alarm", False) or not config.enabled:
        return None
    alarm = attach(session, config, session.actuators)

    def said(record) -> None:
        print(f"\n[{clock(record.at_s)}] {record.text}", flush=True)
        writer = session.writer
        if writer is not None and not writer.closed:
            writer.add_notice(record.at_s, record.text)

    alarm.on_record = said
    return alarm


def valid_signal_text(pipeline, seconds: float) -> str:
    """The morning's line: each scored channel's valid time (not flagged) of the recorded."""
    if pipeline is None or seconds <= 0:
        return ""
    names = pipeline.info.channels

    def span(s: float) -> str:
        return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.0f} min"

    valid = [
        f"{names[c]} {span(max(0.0, seconds - pipeline.quality.flagged_seconds(c)))}"
        for c in pipeline.scored
    ]
    return f"valid signal: {', '.join(valid)} of {span(seconds)} recorded"


def stop_at(session, until: dt.time):
    """A timer that stops `session` at the clock time `until` (wall clock, whatever the
    stream did in between); cancel it when the session is over."""
    import threading

    timer = threading.Timer(
        seconds_until(until, now()), session.stop, args=(f"reached {until:%H:%M}",)
    )
    timer.daemon = True
    timer.start()
    return timer


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
    from bruxwatch.devices.base import DeviceError
    from bruxwatch.firmware_host.session import Session
    from bruxwatch.signal.calibration import PROTOCOL
    from bruxwatch.sources import open_device

    path = calibration_path(args.device)
    check_can_write_into(path.parent)  # before the wearer's effort, not after it
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
    with writing(path):
        save_calibration(args.device, session.calibration)
    # the levels were said with the outcome ("Calibration recorded: rest ..., clench ...")
    print(f"saved to {path}; `bruxwatch record --use-saved` uses it")
    return 0


def add_record_command(sub) -> None:
    """The `record` command's arguments."""
    p = sub.add_parser("record", help="record a night (or a session) with biofeedback")
    add_session_options(p)
    p.add_argument(
        "--device", help="device spec (default: the settings file's, else the simulator)"
    )
    p.set_defaults(default_device="sim:scenario=night,calibrate=1")
    p.add_argument(
        "--mode",
        choices=("feedback", "baseline"),
        help="baseline: log what would have buzzed, buzz nothing (default: the trial plan's "
        "block tonight, see `bruxwatch plan`; else feedback)",
    )
    p.add_argument("--plan", metavar="FILE", help="follow this plan (default: the saved one)")
    p.add_argument("--out", help="recording file (default: a dated file in your data folder)")
    ends = p.add_mutually_exclusive_group()
    ends.add_argument(
        "--duration", type=duration_seconds, help="stop after 90s, 30m, 8h ... of stream"
    )
    ends.add_argument(
        "--until", type=clock_time, metavar="HH:MM", help="stop at this local time (e.g. 07:00)"
    )
    p.add_argument("--feedback", help="motor, sound, bell, notify (comma-separated)")
    p.add_argument(
        "--check",
        action="store_true",
        help="check the electrodes first (17 s: rest, one clench; see `bruxwatch check`)",
    )
    p.add_argument(
        "--no-alarm",
        action="store_true",
        help="no lead-off alarm (default: after 2 min of an electrode off or the link lost, "
        "three strong pulses through the feedback, repeated less and less often)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("--no-calibrate", action="store_true", help="skip the guided calibration")
    group.add_argument(
        "--use-saved",
        action="store_true",
        help="use the calibration saved by `bruxwatch calibrate`",
    )
    add_mains_option(p)
    p.set_defaults(func=cmd_record)


def add_calibrate_command(sub) -> None:
    """The `calibrate` command's arguments."""
    p = sub.add_parser("calibrate", help="guided rest + maximal-clench calibration, saved")
    p.add_argument("--device", help="device spec (default: settings file, else the simulator)")
    p.set_defaults(default_device="sim:scenario=calibration")
    p.set_defaults(func=cmd_calibrate)


def add_live_command(sub) -> None:
    """The `live` command's arguments."""
    p = sub.add_parser("live", help="the live window: scrolling EMG, clench level, threshold")
    p.add_argument("--device", help="device spec (default: settings file, else the simulator)")
    p.set_defaults(default_device="sim:scenario=awake")
    add_session_options(p)
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not keep a recording (nor does --screenshot, unless --out is given)",
    )
    p.add_argument("--out", help="the recording's file (default: a dated name in the data folder)")
    p.add_argument("--mode", choices=("feedback", "baseline"), help="default: feedback")
    p.add_argument("--feedback", help="motor, sound, bell, notify (comma-separated)")
    add_mains_option(p)
    p.add_argument("--screenshot", metavar="PNG", help="run offscreen, save the window, exit")
    p.add_argument("--seconds", type=positive, help="with --screenshot: how long to run first")
    p.set_defaults(func=cmd_live)
