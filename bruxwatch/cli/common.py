"""What every command shares: the one-line error, checks made before any work, the
settings, the user's folders, progress bars.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from bruxwatch.config import with_mains
from bruxwatch.signal import SignalConfig
from bruxwatch.store.importers import FileRecording, RecordingError, read_recording

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def read_input(path: Path, fs: float | None) -> FileRecording:
    from bruxwatch.stream import MAX_FS, MIN_RAW_FS

    try:
        with progress_bar(f"reading {path.name}", enabled=True) as tick:
            recording = read_recording(path, fs=fs, progress=tick)
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    if not MIN_RAW_FS <= recording.fs <= MAX_FS:
        raise CliError(
            f"{path}: its sample rate, {recording.fs:g} Hz, is outside {MIN_RAW_FS:g}-{MAX_FS:g}"
            " Hz (raw EMG)"
        )
    return recording


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and (
        os.environ.get("QT_QPA_PLATFORM") != "offscreen"
    )


def can_open_window() -> bool:
    """A display is claimed and Qt can open a window on it; if Qt cannot (its system
    libraries missing, no X server), one line on stderr says why and which packages help."""
    if not has_display():
        return False
    try:
        from bruxwatch.ui.window_check import window_problem
    except ImportError:
        return False
    problem = window_problem()
    if problem:
        print(f"{problem}; showing the headless view instead", file=sys.stderr, flush=True)
    return problem is None


def complete_arguments(args: argparse.Namespace, settings) -> argparse.Namespace:
    """What the settings file fills in where the command line is silent: the device and
    the feedback mode."""
    args.settings = settings
    if hasattr(args, "default_device") and not getattr(args, "device", None):
        args.device = settings.device or args.default_device
    if getattr(args, "mode", "") is None:
        args.mode_given = False  # a trial plan may choose it (`record`)
        args.mode = settings.feedback.mode
    return args


def command_line(add_command: Callable, argv: list[str], settings) -> argparse.Namespace:
    """The arguments `bruxwatch ARGV` gives a command (its name first in `argv`), parsed by
    that command's own parser and completed from `settings`, as `main` does: how `demo`
    runs `live` and `record`, exactly as a user could type them."""
    parser = Parser(prog="bruxwatch")
    add_command(parser.add_subparsers(dest="command", parser_class=Parser))
    return complete_arguments(parser.parse_args(argv), settings)


def settings_of(args: argparse.Namespace):
    """The settings file's values (loaded once, in main)."""
    from bruxwatch.config import Settings

    return getattr(args, "settings", None) or Settings()


def signal_config(args: argparse.Namespace) -> SignalConfig:
    """The settings file's signal chain, with `--mains` applied when given."""
    return with_mains(settings_of(args).signal, getattr(args, "mains", None))


def feedback_settings(args: argparse.Namespace) -> tuple[dict, dict]:
    """FeedbackConfig arguments (the settings file's, with --mode and --withhold applied) and
    what the recording stores: the signal settings it is scored with, and for `--withhold`
    the fraction and the random seed that decided each clench."""
    import dataclasses
    import secrets

    signal = signal_config(args)
    withhold = getattr(args, "withhold", 0.0) or 0.0
    stored: dict = {"mains_hz": signal.filter.mains_hz, "signal": dataclasses.asdict(signal)}
    config = dataclasses.asdict(settings_of(args).feedback)
    config["mode"] = args.mode
    if withhold:
        if args.mode == "baseline":
            raise CliError("--withhold is for feedback nights; baseline mode withholds all")
        seed = secrets.randbits(31)
        config.update(withhold=withhold, seed=seed)
        stored.update(withhold=withhold, withhold_seed=seed)
    return config, stored


def with_channels(
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


def check_can_write_into(folder: Path) -> None:
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


def check_screenshot_path(path: Path) -> None:
    """A screenshot's name, folder and permission, checked before any window is made."""
    from bruxwatch.ui.snapshot import image_format

    try:
        image_format(path)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    check_writable(path)
    if not os.access(path.parent, os.W_OK):
        raise CliError(f"{path.parent}: cannot write there (permission denied)")


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
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


def check_writable(path: Path) -> None:
    if path.is_dir():
        raise CliError(f"{path}: is a folder; give a file name")
    if not path.parent.exists():
        raise CliError(f"{path.parent}: no such folder")


class progress_bar:
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


def storage_text(exc: BaseException) -> str:
    """One line for a failure to read or write a file, whatever raised it."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}; what was saved before stays readable"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
