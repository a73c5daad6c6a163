"""`bruxwatch check`: the electrode check before a night (rest, one test clench, a verdict
per electrode and what to do); `record --check` runs it first."""

from __future__ import annotations

import argparse

from bruxwatch.cli.arguments import add_mains_option
from bruxwatch.cli.common import CliError, signal_config


def electrode_check(args: argparse.Namespace) -> list:
    """Run the check on `args.device` (opened for it and closed after); the verdicts,
    printed one line per electrode with the overall result."""
    from bruxwatch.devices.base import DeviceError
    from bruxwatch.firmware_host.electrode_check import run_check
    from bruxwatch.sources import open_device

    try:
        device = open_device(args.device)
        verdicts = run_check(device, signal_config(args), on_prompt=lambda t: print(t, flush=True))
    except (DeviceError, ValueError) as exc:
        raise CliError(str(exc)) from None
    for verdict in verdicts:
        print(f"  {verdict.text()}")
    bad = [v.channel for v in verdicts if v.verdict == "bad"]
    if bad:
        print(f"not ready: see to {', '.join(bad)}, then check again (bruxwatch check)")
    else:
        print("electrodes ready")
    return verdicts


def cmd_check(args: argparse.Namespace) -> int:
    verdicts = electrode_check(args)
    return 1 if any(v.verdict == "bad" for v in verdicts) else 0


def add_check_command(sub) -> None:
    """The `check` command's arguments."""
    p = sub.add_parser(
        "check",
        help="check the electrodes before a night: rest noise, mains hum, a test clench",
        description="About 17 s: relax, then one firm clench. Each electrode gets a verdict "
        "(good, fair, bad) and what to do. Exit status 1 when one is bad.",
    )
    p.add_argument(
        "--device", help="device spec (default: the settings file's, else the simulator)"
    )
    p.set_defaults(default_device="sim:scenario=calibration")
    add_mains_option(p)
    p.set_defaults(func=cmd_check)
