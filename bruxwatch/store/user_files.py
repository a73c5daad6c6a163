"""Where a wearer's own files live when no path is given: nights in the data folder
(`~/.local/share/bruxwatch/nights/` on Linux), saved calibrations in the config folder
(`~/.config/bruxwatch/calibrations/`), one per device spec. Folders are made 0700, files
0600 (`store/private.py`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bruxwatch.signal import Calibration
from bruxwatch.store.private import private_file, private_folder


def user_dir(kind: str) -> Path:
    """The user's `data` or `config` folder for bruxwatch (platformdirs; without it,
    `~/.local/share/bruxwatch`)."""
    try:
        import platformdirs
    except ImportError:
        return Path.home() / ".local" / "share" / "bruxwatch"
    if kind == "data":
        return Path(platformdirs.user_data_dir("bruxwatch"))
    return Path(platformdirs.user_config_dir("bruxwatch"))


def default_night_path(now: dt.datetime) -> Path:
    """A dated file for a night begun at `now`, in the nights folder (made if missing)."""
    folder = private_folder(user_dir("data") / "nights")
    return folder / f"night-{now:%Y-%m-%d_%H%M%S}.sqlite"


def calibration_path(device: str) -> Path:
    """Where the calibration for device spec `device` is saved."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in device)
    return user_dir("config") / "calibrations" / f"{safe}.json"


def saved_calibration(device: str) -> Calibration | None:
    """The calibration saved for `device`, or None when there is none."""
    path = calibration_path(device)
    if not path.is_file():
        return None
    return Calibration.from_dict(json.loads(path.read_text()))


def save_calibration(device: str, calibration: Calibration) -> Path:
    """Save `calibration` for `device` (0600, whole or not at all); its path."""
    path = calibration_path(device)
    with private_file(path) as out:
        out.write(json.dumps(calibration.to_dict(), indent=1))
    return path
