"""Argument types and options several commands share; each type's error is one line."""

from __future__ import annotations

import argparse
import re

import numpy as np


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction 0-1, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"withhold must be at least 0 and below 1, got {text}")
    return value


def duration_seconds(text: str) -> float:
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


def time_range(text: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END in seconds, got {text!r}") from None
    if not b > a:
        raise argparse.ArgumentTypeError(f"range {text!r} must end after it starts")
    return a, b


def sample_rate(text: str) -> float:
    """--fs: a rate raw EMG can be band-passed at, in Hz."""
    from bruxwatch.stream import MAX_FS, MIN_RAW_FS

    value = positive(text)
    if not MIN_RAW_FS <= value <= MAX_FS:
        raise argparse.ArgumentTypeError(
            f"the sample rate must be {MIN_RAW_FS:g}-{MAX_FS:g} Hz for raw EMG, got {text}"
        )
    return value


def night_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 365:
        raise argparse.ArgumentTypeError(f"the number of nights must be 1-365, got {text!r}")
    return int(text)


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and np.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def add_jobs_option(p: argparse.ArgumentParser) -> None:
    """--jobs: how many processes score the nights (default: one per core)."""
    p.add_argument(
        "--jobs",
        type=job_count,
        metavar="N",
        help="score the nights in N processes at once (default: one per core; 1: one by one)",
    )


def add_rescore_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rescore",
        action="store_true",
        help="score every night afresh, not the scores kept from an earlier run",
    )


def job_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"expected a number of processes 1-256, got {text!r}")
    return int(text)


def add_channels_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--channels",
        type=channel_list,
        metavar="1,2",
        help="score only these channels (1-based, as in device specs; default: all, or those"
        " the night was recorded with)",
    )


def channel_list(text: str) -> tuple[int, ...]:
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


def add_mains_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mains",
        type=mains_choice,
        help="mains frequency: 50, 60, auto (found from the signal, the default) or off",
    )


def mains_choice(text: str) -> float | str:
    """50, 60, "auto" (found from the signal), or 0.0 for "off" (no notch); not given = the
    settings file's value."""
    if text.lower() in ("off", "none", "0"):
        return 0.0
    if text.lower() == "auto":
        return "auto"
    if text not in ("50", "60"):
        raise argparse.ArgumentTypeError(f"mains must be 50, 60, auto or off, got {text!r}")
    return float(text)


def add_session_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `record` and `live`: randomized withholding, sound clips and LSL
    publishing."""
    p.add_argument(
        "--withhold",
        type=probability,
        default=0.0,
        metavar="P",
        help="withhold the feedback of each clench with probability P (e.g. 0.2), at random,"
        " to measure whether it helps (see `bruxwatch report`)",
    )
    p.add_argument(
        "--audio",
        nargs="?",
        const="default",
        metavar="MIC",
        help="keep sound clips around each episode (5 s before its onset to 5 s after its"
        " end) to find grinding sounds: from the default microphone, a PortAudio device"
        " name or number, or `sim` (the simulator's bedroom). Off by default. The whole"
        " night is never kept: the microphone's last two minutes are held in memory only,"
        " and the clips go into the night's own file (private to you); nothing is sent"
        " anywhere",
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


def negative_values_joined(argv: list[str]) -> list[str]:
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
