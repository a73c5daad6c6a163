"""The `sim:` device spec: the simulator's options from the command line."""

from __future__ import annotations

from bruxwatch.devices.base import DeviceSpec
from bruxwatch.emulated.scenario import SimulatorConfig
from bruxwatch.emulated.simulator import Simulator


def simulator_from_options(options: dict[str, str]) -> Simulator:
    """Build a Simulator from device-spec options (``sim:scenario=night,seed=3,hours=1``;
    ``seed=random`` for a fresh night each time;
    a tuple option's numbers joined by '/': ``harmonics_uv=0/40,clench_pct=12/30``)."""
    fields = {f.name: str(f.type) for f in SimulatorConfig.__dataclass_fields__.values()}
    kwargs: dict[str, object] = {}
    for key, value in options.items():
        kwargs.update(_simulator_option(key, value, fields))
    return Simulator(SimulatorConfig(**kwargs))  # type: ignore[arg-type]


def _simulator_option(key: str, value: str, fields: dict[str, str]) -> dict[str, object]:
    """One spec option as a SimulatorConfig keyword; ValueError naming it for a wrong value."""
    target = key
    if key == "seed" and value == "random":  # a different night each time (its seed is in
        import secrets  # the device's description, so the night can be made again)

        return {"seed": secrets.randbelow(2**31)}
    if key in ("hours", "minutes"):
        expected, convert = "a number", lambda v: float(v) * (3600 if key == "hours" else 60)
        target = "duration_s"
    elif key not in fields:
        raise ValueError(f"unknown simulator option {key!r}")
    elif "tuple[int" in fields[key]:  # dead_leads=2 or 2/3
        expected, convert = (
            "whole numbers joined by '/'",
            lambda v: tuple(map(_whole, v.split("/"))),
        )
    elif "tuple" in fields[key]:  # numbers joined by '/': harmonics_uv=40/20, clench_pct=12/30
        expected, convert = "numbers joined by '/'", lambda v: tuple(map(float, v.split("/")))
    elif "bool" in fields[key]:
        expected, convert = "1 or 0", lambda v: v.lower() in ("1", "true", "yes", "on")
    elif "int" in fields[key] and "float" not in fields[key]:
        expected, convert = "a whole number", _whole
    elif "float" in fields[key]:
        expected, convert = "a number", float
    else:
        expected, convert = "text", str
    try:
        return {target: convert(value)}
    except ValueError:
        raise ValueError(f"simulator option {key} must be {expected}, got {value!r}") from None


def _whole(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(text)
    return int(text)


def open_spec(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> Simulator:
    """`sim:scenario=night,seed=3`: the simulator, paced to the clock when the command is
    live (option realtime=0 or 1)."""
    if spec.target:
        raise ValueError("the simulator takes key=value options, e.g. sim:scenario=awake,seed=3")
    options.setdefault("realtime", "1" if realtime else "0")
    return simulator_from_options(options)
