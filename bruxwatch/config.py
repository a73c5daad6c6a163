"""User settings: one dataclass tree loaded from TOML (tomllib), overridden by CLI flags.

The file is `--config FILE`, or `config.toml` in the user's config folder
(`~/.config/bruxwatch/` on Linux) when it exists. Every key is optional; anything left out
keeps its default (README, "How a night is scored"). Example:

    device = "arduino:/dev/ttyACM0"     # the default --device of record, live, calibrate

    [signal.filter]
    mains_hz = 60                       # 50, 60, "auto" (found from the signal), 0: no notch
    band_hz = [20, 450]

    [signal.threshold]
    mvc_fraction = 0.15

    [signal.detector]
    tonic_min_s = 2.0

    [feedback]
    onset_delay_s = 0.7
    pulse_ms = 250
    refractory_s = 15

    [alarm]                             # an electrode off, or the link lost, this long
    after_s = 120                       # (enabled = false: no alarm)

An unknown section or key, a wrong type or a value out of range is one clear line naming it.
Each night stores the signal settings it was recorded with, so re-scoring it later (report,
analyze, export) uses the same rules.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bruxwatch.firmware_host.feedback import FeedbackConfig
from bruxwatch.firmware_host.lead_off_alarm import AlarmConfig
from bruxwatch.signal.config import SignalConfig

FILE_NAME = "config.toml"


class ConfigError(ValueError):
    """The settings file cannot be used; one line says why."""


@dataclass(frozen=True)
class Settings:
    """Everything a user may set in the file."""

    signal: SignalConfig = field(default_factory=SignalConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    alarm: AlarmConfig = field(default_factory=AlarmConfig)
    device: str | None = None


def default_path() -> Path | None:
    """The user's config.toml, if platformdirs can say where it lives."""
    try:
        import platformdirs
    except ImportError:
        return None
    return Path(platformdirs.user_config_dir("bruxwatch")) / FILE_NAME


def load_settings(path: str | Path | None = None) -> Settings:
    """Settings from `path` (ConfigError if it is missing), or from the default file if it
    exists, or the defaults."""
    if path is None:
        found = default_path()
        if found is None or not found.is_file():
            return Settings()
        path = found
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such settings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return settings_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def settings_from_dict(data: dict[str, Any]) -> Settings:
    unknown = set(data) - {"signal", "feedback", "alarm", "device"}
    if unknown:
        raise ConfigError(f"unknown setting {sorted(unknown)[0]!r}")
    device = data.get("device")
    if device is not None and not isinstance(device, str):
        raise ConfigError('device must be a text like "arduino:/dev/ttyACM0"')
    return Settings(
        signal=build(SignalConfig, data.get("signal", {}), "signal"),
        feedback=build(FeedbackConfig, data.get("feedback", {}), "feedback"),
        alarm=build(AlarmConfig, data.get("alarm", {}), "alarm"),
        device=device,
    )


def signal_config_from_dict(data: dict[str, Any] | None) -> SignalConfig:
    """The SignalConfig stored with a night (dataclasses.asdict form), or the defaults."""
    return build(SignalConfig, data or {}, "signal")


def build(cls: type, data: Any, where: str):
    """An instance of dataclass `cls` from a (nested) dict, checking names and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table of settings")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown setting {sorted(unknown)[0]!r} in [{where}]")
    values = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{where}]: {exc}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if where.endswith("mains_hz") and value == 0:  # 0 = no notch, as `--mains off`
            return None
        inner = [a for a in args if a is not type(None)]
        for i, option in enumerate(inner):  # the first type the value fits
            try:
                return _coerce(option, value, where)
            except ConfigError:
                if i == len(inner) - 1:
                    raise
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list")
        item = args[0] if args else Any
        return tuple(_coerce(item, v, where) for v in value)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, args))}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be text, got {value!r}")
        return value
    return value


def with_mains(config: SignalConfig, mains: float | str | None) -> SignalConfig:
    """`config` with the `--mains` flag applied (None: not given; 0: no notch; "auto")."""
    if mains is None:
        return config
    value = mains if mains == "auto" else float(mains) or None
    return dataclasses.replace(config, filter=dataclasses.replace(config.filter, mains_hz=value))
