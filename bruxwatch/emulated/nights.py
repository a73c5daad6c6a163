"""A week of nights without hardware: the simulator recorded through the real Session.

Each night starts with the guided calibration (rest, three maximal clenches), runs the
feedback policy in `baseline` or `feedback` mode and is stored like any recording, so
`bruxwatch report` and `review` can be tried (and tested) on a bare laptop. By default the
simulated wearer does not respond to the feedback: expect no difference between the two kinds
of night. With `feedback_response` (e.g. 0.5) a buzz shortens the clench under way to that
fraction of what was left of it, and `withhold` micro-randomizes the feedback nights, so the
evidence estimates can be seen to find an effect that is really there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.firmware_host.actuators import MotorActuator
from bruxwatch.firmware_host.feedback import FeedbackConfig
from bruxwatch.firmware_host.session import Session
from bruxwatch.signal.calibration import PROTOCOL
from bruxwatch.signal.config import SignalConfig
from bruxwatch.store.local_time import evening_of
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.plan import Plan
from bruxwatch.store.private import private_folder

CHUNK_S = 1.0
"""Simulated chunk length, s: long chunks make a night take seconds, not minutes."""


def record_simulated_nights(
    folder: Path,
    nights: int,
    hours: float,
    baseline_nights: int = 2,
    seed: int = 0,
    first_evening: dt.datetime | None = None,
    episodes_per_hour: float | None = None,
    progress: Callable[[Path], None] | None = None,
    withhold: float = 0.0,
    feedback_response: float | None = None,
    scenario: str = "night",
    fs: float = 1000.0,
    chunk_s: float = CHUNK_S,
    signal: SignalConfig | None = None,
    plan: Plan | None = None,
) -> list[Path]:
    """Record `nights` simulated nights of `hours` each into `folder` (the first
    `baseline_nights` in baseline mode, the rest with feedback). Night k starts at
    `first_evening` + k days (default: 23:00 local time, `nights` days before today).
    signal: the signal settings stored with each night and scored with (None: the
    defaults with 50-Hz mains). plan: a trial plan the nights follow, as `record` does:
    each evening's block sets the mode and is stored with the night (instead of
    `baseline_nights`; evenings outside the plan record feedback nights)."""
    private_folder(folder)
    if first_evening is None:
        today = dt.datetime.now().astimezone().replace(hour=23, minute=0, second=0, microsecond=0)
        first_evening = today - dt.timedelta(days=nights)
    paths = []
    for k in range(nights):
        mode = "baseline" if k < baseline_nights else "feedback"
        start = first_evening + dt.timedelta(days=k, minutes=7 * (k % 5))
        phase = plan.phase_on(evening_of(start)) if plan else None
        if plan is not None:
            mode = phase.mode if phase else "feedback"
        path = folder / f"night-{start.astimezone():%Y-%m-%d}.sqlite"
        sim = Simulator(
            SimulatorConfig(
                scenario=scenario,
                duration_s=hours * 3600 + PROTOCOL.end_s,
                seed=seed + k,
                fs=fs,
                calibrate=True,
                episodes_per_hour=episodes_per_hour,
                chunk_s=chunk_s,
                feedback_response=feedback_response,
            )
        )
        randomized = withhold if mode == "feedback" else 0.0
        stored: dict = {"mains_hz": 50.0}
        if signal is not None:
            stored.update(mains_hz=signal.filter.mains_hz, signal=dataclasses.asdict(signal))
        if randomized:
            stored.update(withhold=randomized, withhold_seed=seed + 1000 + k)
        if phase is not None:
            stored["plan_phase"] = phase.name
        session = Session(
            sim,
            store=lambda info, path=path, mode=mode, start=start, stored=stored: RecordingWriter(
                path, info, mode=mode, config=stored, started_at=start
            ),
            feedback=FeedbackConfig(
                mode=mode, withhold=randomized, seed=stored.get("withhold_seed")
            ),
            actuators=[MotorActuator(sim)],  # the simulated wearer feels the buzz
            calibrate=PROTOCOL,
            config=signal,
        )
        session.run(handle_signals=False)
        paths.append(path)
        if progress:
            progress(path)
    return paths
