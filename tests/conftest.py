"""Shared fixtures: simulated recordings generated once per test session."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# scored nights are kept in a cache folder of the test run's own, never the user's
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="bruxwatch-test-cache-")

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig  # noqa: E402
from bruxwatch.stream import Chunk, StreamInfo  # noqa: E402


@pytest.fixture(scope="session")
def awake_recording() -> tuple[Simulator, np.ndarray]:
    """Five busy minutes: episodes, swallows, twitches and a pop."""
    sim = Simulator(
        SimulatorConfig(
            scenario="awake", duration_s=300, seed=11, episodes_per_hour=150, pops_per_hour=20
        )
    )
    return sim, sim.generate()


def envelope_stream(levels: np.ndarray, fs: float = 100.0) -> tuple[StreamInfo, Chunk]:
    """An already-rectified one-channel stream (no filtering), for exact rule tests."""
    info = StreamInfo(fs=fs, channels=("env",), units="counts", kind="envelope")
    return info, Chunk(0, np.asarray(levels, dtype=np.float32)[None, :])


@pytest.fixture
def any_length_is_a_night(tmp_path) -> list[str]:
    """`--config FILE` arguments under which a session of any length counts as a night (the
    default needs 30 min: these tests record seconds or minutes)."""
    settings = tmp_path / "any-length.toml"
    settings.write_text("[signal.quality]\nmin_night_hours = 0\n")
    return ["--config", str(settings)]
