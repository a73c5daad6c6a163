"""Pure, vectorized DSP and clench detection on (channels, samples) arrays. No I/O."""

from bruxwatch.signal.analysis import Analysis, analyze
from bruxwatch.signal.calibration import Calibration, CalibrationError, calibrate
from bruxwatch.signal.config import SignalConfig
from bruxwatch.signal.events import Burst, Episode
from bruxwatch.signal.pipeline import Pipeline, ProcessedChunk

__all__ = [
    "Analysis",
    "Burst",
    "Calibration",
    "CalibrationError",
    "Episode",
    "Pipeline",
    "ProcessedChunk",
    "SignalConfig",
    "analyze",
    "calibrate",
]
