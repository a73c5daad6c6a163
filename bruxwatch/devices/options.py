"""The options of a device spec (`cyton:/dev/ttyUSB0?channels=1,2&gain=24`), popped one by
one by the factory that knows them; a wrong one is a ValueError naming it, which the
registry (`bruxwatch/sources.py`) turns into one `DeviceError` line."""

from __future__ import annotations


def pop_number(options: dict[str, str], key: str, default: str | None) -> float | None:
    """Pop option `key` as a number (None when absent and no default); ValueError naming
    the option otherwise."""
    text = options.pop(key, default)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{key} must be a number, e.g. {key}={default or 250}; got {text!r}"
        ) from None


def pop_whole_number(options: dict[str, str], key: str, default: str | None) -> int | None:
    """Pop option `key` as a whole number (None when absent and no default)."""
    text = options.pop(key, default)
    if text is None:
        return None
    if not text.strip().isdigit():
        raise ValueError(f"{key} must be a whole number, e.g. {key}={default or 2}; got {text!r}")
    return int(text)


SWITCH_WORDS = {"1": True, "on": True, "yes": True, "true": True}
SWITCH_WORDS |= {"0": False, "off": False, "no": False, "false": False}


def pop_switch(options: dict[str, str], key: str, default: bool) -> bool:
    """Pop option `key` as on or off (1/0, on/off, yes/no, true/false)."""
    text = options.pop(key, None)
    if text is None:
        return default
    if text.strip().lower() not in SWITCH_WORDS:
        raise ValueError(f"{key} must be 1 or 0, e.g. {key}=1; got {text!r}")
    return SWITCH_WORDS[text.strip().lower()]


def pop_channels(options: dict[str, str], key: str, default: str | None) -> tuple[int, ...] | None:
    """Pop a comma-separated list of channel numbers (1-based), e.g. channels=1,2."""
    text = options.pop(key, default)
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(
            f"{key} must be channel numbers separated by commas, e.g. {key}=1,2; got {text!r}"
        )
    return tuple(int(p) for p in parts)


def no_more(scheme: str, options: dict[str, str]) -> None:
    """ValueError naming any option no factory took."""
    if options:
        raise ValueError(f"{scheme} has no option {', '.join(sorted(options))}")
