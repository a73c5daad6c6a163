"""`bruxwatch service`: record every night on a bedside computer. `install` writes a systemd
user timer and service (or prints them, where there is no systemd) that start `bruxwatch
record` each evening at a set time and stop it at a set time (`record --until`); the
recorder's lines go to the journal. `status` shows the schedule and last night's result,
`uninstall` removes the units.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bruxwatch.cli.common import CliError, writing
from bruxwatch.cli.record import clock_time

ALARM = re.compile(r"alarm \d+:")
"""How a night's notice of a lead-off alarm given begins."""
UNIT = "bruxwatch"
"""The units' name: bruxwatch.service started by bruxwatch.timer."""


def unit_dir() -> Path:
    """Where systemd looks for a user's own units."""
    import os

    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def systemd_quote(word: str) -> str:
    """One ExecStart word as systemd reads it: `%` doubled (specifiers), and quoted with
    backslash escapes when it holds a space, a quote or a backslash."""
    word = word.replace("%", "%%")
    if any(ch in word for ch in " \t\"'\\;$"):
        escaped = word.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return word


def record_command(args: argparse.Namespace) -> list[str]:
    """The `bruxwatch record` the service runs each evening (this Python, this package)."""
    argv = [sys.executable, "-m", "bruxwatch"]
    if args.config:
        argv += ["--config", str(Path(args.config).resolve())]
    argv += ["record", "--device", args.device, "--until", f"{args.stop:%H:%M}"]
    if args.calibration == "saved":
        argv.append("--use-saved")
    elif args.calibration == "none":
        argv.append("--no-calibrate")
    if args.check:
        argv.append("--check")
    if args.feedback:
        argv += ["--feedback", args.feedback]
    if args.plan:
        argv += ["--plan", str(Path(args.plan).resolve())]
    return argv


def service_unit(args: argparse.Namespace) -> str:
    command = " ".join(systemd_quote(word) for word in record_command(args))
    return f"""[Unit]
Description=bruxwatch: record tonight's jaw EMG until {args.stop:%H:%M}
After=bluetooth.target

[Service]
Type=simple
ExecStart={command}
# record stops cleanly (the night closed, the summary said) on SIGINT or SIGTERM
KillSignal=SIGINT
TimeoutStopSec=60
# a night that failed to start is in the journal; the next evening starts afresh
Restart=no
StandardOutput=journal
StandardError=journal
"""


def timer_unit(args: argparse.Namespace) -> str:
    return f"""[Unit]
Description=bruxwatch: start recording every evening at {args.start:%H:%M}

[Timer]
OnCalendar=*-*-* {args.start:%H:%M}:00
AccuracySec=1min
Unit={UNIT}.service

[Install]
WantedBy=timers.target
"""


def cmd_service(args: argparse.Namespace) -> int:
    if args.action == "install":
        return _install(args)
    if args.action == "uninstall":
        return _uninstall(args)
    return _status(args)


def _install(args: argparse.Namespace) -> int:
    if args.start is None or args.stop is None:
        raise CliError("install needs --start HH:MM and --stop HH:MM (e.g. 22:30 and 07:00)")
    if args.start == args.stop:
        raise CliError("--start and --stop are the same time: the night would be empty")
    if not args.device:
        raise CliError("install needs --device (or a device in the settings file)")
    units = {f"{UNIT}.service": service_unit(args), f"{UNIT}.timer": timer_unit(args)}
    if args.print:
        for name, text in units.items():
            print(f"# {name}\n{text}")
        return 0
    folder = Path(args.unit_dir) if args.unit_dir else unit_dir()
    from bruxwatch.store.private import private_file, private_folder

    with writing(folder):
        private_folder(folder)
        for name, text in units.items():
            with private_file(folder / name) as out:
                out.write(text)
    print(f"wrote {folder / (UNIT + '.service')} and {folder / (UNIT + '.timer')}")
    from bruxwatch.store.user_files import saved_calibration

    if args.calibration == "saved" and saved_calibration(args.device) is None:
        print(
            f"warning: no calibration saved for {args.device} yet: run `bruxwatch calibrate "
            f"--device {args.device}` before the first evening"
        )
    print(
        f"every evening at {args.start:%H:%M}: bruxwatch record --device {args.device} "
        f"until {args.stop:%H:%M} ({_calibration_text(args.calibration)}); the recorder's "
        f"lines go to the journal (journalctl --user -u {UNIT})"
    )
    if args.unit_dir is None and shutil.which("systemctl"):
        enabled = _systemctl("daemon-reload") and _systemctl("enable", "--now", f"{UNIT}.timer")
        if enabled:
            print(f"enabled: systemctl --user status {UNIT}.timer shows the next start")
            print(
                "to record while you are logged out (a bedside computer): "
                "loginctl enable-linger $USER"
            )
            return 0
    print(
        "to start it: systemctl --user daemon-reload && systemctl --user enable --now "
        f"{UNIT}.timer (and loginctl enable-linger $USER to record while logged out)"
    )
    return 0


def _calibration_text(choice: str) -> str:
    return {
        "saved": "with the calibration saved by `bruxwatch calibrate`",
        "guided": "a guided calibration first",
        "none": "no calibration: levels against the night's background",
    }[choice]


def _systemctl(*words: str) -> bool:
    """`systemctl --user WORDS`: True when it worked (no user manager here: False)."""
    try:
        done = subprocess.run(
            ["systemctl", "--user", *words], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _uninstall(args: argparse.Namespace) -> int:
    folder = Path(args.unit_dir) if args.unit_dir else unit_dir()
    paths = [folder / f"{UNIT}.timer", folder / f"{UNIT}.service"]
    if not any(p.exists() for p in paths):
        raise CliError(f"no bruxwatch units in {folder}")
    if args.unit_dir is None and shutil.which("systemctl"):
        _systemctl("disable", "--now", f"{UNIT}.timer")
    for path in paths:
        path.unlink(missing_ok=True)
    if args.unit_dir is None and shutil.which("systemctl"):
        _systemctl("daemon-reload")
    print(f"removed {paths[0]} and {paths[1]}; the nights recorded stay where they are")
    return 0


def _status(args: argparse.Namespace) -> int:
    from bruxwatch.store.user_files import user_dir

    folder = Path(args.unit_dir) if args.unit_dir else unit_dir()
    timer = folder / f"{UNIT}.timer"
    if timer.is_file():
        schedule = _schedule(timer, folder / f"{UNIT}.service")
        print(f"service: installed ({timer}); {schedule}")
        if args.unit_dir is None and shutil.which("systemctl"):
            state = "enabled" if _systemctl("is-enabled", f"{UNIT}.timer") else "not enabled"
            print(f"timer: {state}")
    else:
        print("service: not installed (bruxwatch service install --start 22:30 --stop 07:00)")
    nights = Path(args.nights) if args.nights else user_dir("data") / "nights"
    for line in last_night_lines(nights):
        print(line)
    return 0


def _schedule(timer: Path, service: Path) -> str:
    """ "records every evening from 22:30 until 07:00", read back from the units."""
    start = _setting(timer, "OnCalendar=").split()[-1][:5] or "?"
    command = _setting(service, "ExecStart=")
    until = command.split("--until ")[1].split()[0] if "--until " in command else "?"
    return f"records every evening from {start} until {until}"


def _setting(unit: Path, key: str) -> str:
    """The value of the first `key` line in `unit` ("" when missing)."""
    if not unit.is_file():
        return ""
    lines = unit.read_text(encoding="utf-8").splitlines()
    return next((ln[len(key) :] for ln in lines if ln.startswith(key)), "")


def last_night_lines(folder: Path) -> list[str]:
    """The newest night in `folder`: when, how long, how it ended, episodes counted while
    recording, signal lost; and the room left for more (no re-scoring: this is fast)."""
    from bruxwatch.errors import StoreError
    from bruxwatch.store.disk_space import room_for
    from bruxwatch.store.local_time import stamp
    from bruxwatch.store.recording import Recording

    if not folder.is_dir():
        return [f"last night: none ({folder} does not exist yet)"]
    nights = sorted(folder.glob("*.sqlite"), key=lambda p: p.stat().st_mtime)
    if not nights:
        return [f"last night: none in {folder}"]
    path = nights[-1]
    try:
        with Recording(path) as night:
            info, session = night.info, night.session
            hours = night.end_index / info.fs / 3600
            lost = sum(n for _at, n in night.gaps()) / info.fs
            episodes = [e for e in night.episodes() if not e["artifact"]]
            phase = session.config.get("plan_phase")
            alarms = [text for _at, text in night.notices() if ALARM.match(text)]
    except StoreError as exc:
        return [f"last night: {path.name} cannot be read ({exc})"]
    lines = [
        f"last night: {path.name}, from {stamp(session.started_at)}, {hours:.1f} h, "
        f"{session.mode} mode{f' ({phase} block)' if phase else ''}, ended: {session.status}",
        f"  {len(episodes)} episodes counted while recording; {lost:.0f} s of signal lost "
        f"(`bruxwatch report {path}` scores it in full)",
    ]
    if alarms:
        lines.append(f"  {len(alarms)} lead-off alarm(s); the last: {alarms[-1]}")
    try:
        room = room_for(
            folder, info.fs, info.n_channels, max(hours, 1.0) * 3600, info.steps is not None
        )
        lines.append("  " + room.text(max(hours, 1.0)))
    except OSError:
        pass
    return lines


def add_service_command(sub) -> None:
    """The `service` command's arguments."""
    p = sub.add_parser(
        "service",
        help="record every night on a bedside computer (a systemd user timer)",
        description="install: a systemd user timer starts `bruxwatch record` every evening at "
        "--start and the recorder stops at --stop; its lines go to the journal. Nothing "
        "listens on the network. status: the schedule and last night's result.",
    )
    p.add_argument("action", choices=("install", "status", "uninstall"))
    p.add_argument("--start", type=clock_time, metavar="HH:MM", help="install: start each evening")
    p.add_argument("--stop", type=clock_time, metavar="HH:MM", help="install: stop each morning")
    p.add_argument("--device", help="install: the sensor (default: the settings file's)")
    p.set_defaults(default_device=None)  # the settings file's device, else --device
    p.add_argument(
        "--calibration",
        choices=("saved", "guided", "none"),
        default="saved",
        help="install: the calibration saved by `bruxwatch calibrate` (default), a guided one "
        "each evening, or none",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="install: the electrode check (17 s) before each night; its verdict in the journal",
    )
    p.add_argument("--feedback", help="install: motor, sound, bell, notify (comma-separated)")
    p.add_argument(
        "--plan", metavar="FILE", help="install: follow this plan (default: the saved one)"
    )
    p.add_argument("--print", action="store_true", help="install: print the units, write nothing")
    p.add_argument(
        "--unit-dir",
        metavar="FOLDER",
        help="write the units here and enable nothing (default: ~/.config/systemd/user)",
    )
    p.add_argument("--nights", metavar="FOLDER", help="status: the nights folder (default: yours)")
    p.set_defaults(func=cmd_service)
