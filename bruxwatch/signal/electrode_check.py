"""The electrode check before a night: from a short stretch at rest and one test clench, a
verdict per electrode and what to do about it.

Per channel: the rest noise (RMS of the band-passed, notched EMG at rest, µV), the mains
pick-up (RMS of the mains line and its harmonics before any notch, µV), whether the lead is
flat or clipped (an electrode off), and how far the test clench rises above rest (the ratio
of the two RMS levels). The limits are below; a channel gets the worst verdict any of them
gives. In ADC counts (a board that does not say µV) only flat, clipped and the clench ratio
are judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.signal as sps

from bruxwatch.signal.config import FilterConfig, QualityConfig
from bruxwatch.signal.filters import band_edges, design_sos

REST_FAIR_UV, REST_BAD_UV = 5.0, 15.0
"""Rest noise (µV RMS, 20-450 Hz, mains notched): a well-placed surface electrode on clean
skin rests at a few µV; above these it is a little noisy, or too noisy."""
MAINS_FAIR_UV, MAINS_BAD_UV = 20.0, 100.0
"""Mains pick-up (µV RMS at the mains line and its harmonics): the notches remove some,
not all, and strong hum means a loose reference or a cable by a power lead."""
CLENCH_BAD, CLENCH_FAIR = 3.0, 10.0
"""The test clench's RMS over the rest's: under 3x the electrode is not over the muscle."""
VERDICTS = ("good", "fair", "bad")


@dataclass(frozen=True)
class CheckProtocol:
    """The check's timing (s from its start): rest, then one clench, then relax."""

    rest_s: tuple[float, float] = (1.0, 11.0)
    clench_s: tuple[float, float] = (13.0, 16.0)
    end_s: float = 17.0

    def prompts(self) -> list[tuple[float, str]]:
        return [
            (0.0, "Electrode check: relax your jaw completely, teeth apart, for 12 seconds."),
            (self.clench_s[0], "Now CLENCH firmly for 3 seconds ..."),
            (self.clench_s[1], "and relax."),
        ]


CHECK = CheckProtocol()
"""The same timing as the guided calibration's rest and first clench (the simulator with
`calibrate=1` plays along)."""


@dataclass(frozen=True)
class ElectrodeVerdict:
    """One electrode: its levels (None where not judged), verdict and what to do."""

    channel: str
    rest_uv: float | None
    mains_uv: float | None
    clench_ratio: float | None
    verdict: str
    advice: str

    def text(self) -> str:
        levels = []
        if self.rest_uv is not None:
            levels.append(f"rest {self.rest_uv:.1f} µV")
        if self.mains_uv is not None:
            levels.append(f"mains {self.mains_uv:.0f} µV")
        if self.clench_ratio is not None:
            levels.append(f"clench {self.clench_ratio:.0f}x rest")
        shown = f" ({', '.join(levels)})" if levels else ""
        return f"{self.channel}: {self.verdict.upper()}{shown}: {self.advice}"


def check_electrodes(
    raw: np.ndarray,
    fs: float,
    channels: Sequence[str],
    *,
    units: str = "uV",
    kind: str = "raw",
    mains_hz: float | None = 50.0,
    rails: tuple[float, float] | None = None,
    protocol: CheckProtocol = CHECK,
    filters: FilterConfig | None = None,
    quality: QualityConfig | None = None,
) -> list[ElectrodeVerdict]:
    """Verdicts for `raw` (channels, n) sampled from the check's start at `fs` Hz; the
    channels named `channels`. mains_hz: 50 or 60 (None: judge both, report the larger).
    kind "envelope" (a sensor that sends its envelope, as MyoWare's ENV pin): levels as they
    are, no band-pass and no mains line to judge."""
    filters = filters or FilterConfig()
    quality = quality or QualityConfig()
    x = np.atleast_2d(np.asarray(raw, dtype=np.float64))
    if x.shape[1] < protocol.clench_s[1] * fs:
        raise ValueError(
            f"the check needs {protocol.clench_s[1]:g} s of signal; the sensor gave "
            f"{x.shape[1] / fs:.1f} s"
        )
    rest = _window(x, fs, protocol.rest_s)
    lines = [mains_hz] if mains_hz else [50.0, 60.0]
    if kind == "envelope":
        filtered = x  # an envelope's levels are compared as they are: no band, no mains
    else:
        top = band_edges(fs, filters)[1]
        notches = [k * f for f in lines for k in range(1, 8) if k * f < top]
        sos = design_sos(fs, filters, notches)
        filtered = sps.sosfiltfilt(sos, x, axis=1)  # offline: no phase shift, no settling
    rest_f = _window(filtered, fs, protocol.rest_s)
    clench_f = _window(filtered, fs, protocol.clench_s)
    in_uv = units in ("uV", "µV") and kind != "envelope"
    out = []
    for c, name in enumerate(channels):
        flat = float(np.std(rest[c])) < quality.flat_std
        clipped = rails is not None and bool(
            np.mean((rest[c] <= rails[0]) | (rest[c] >= rails[1])) >= quality.clip_fraction
        )
        rest_rms = _rms(rest_f[c])
        ratio = _rms(clench_f[c]) / rest_rms if rest_rms > 0 else None
        mains = max(_line_rms(rest[c], fs, f, fs / 2) for f in lines)
        if flat or clipped:
            out.append(
                ElectrodeVerdict(
                    name,
                    None,
                    None,
                    None,
                    "bad",
                    "no signal (the lead reads "
                    + ("a flat line" if flat else "the amplifier's limit")
                    + "): the electrode is off or its lead is loose; press it on and check "
                    "the lead",
                )
            )
            continue
        found = [("good", "ready")]
        if in_uv:
            if rest_rms > REST_BAD_UV:
                found.append(
                    ("bad", "too noisy at rest: press it down firmly or use a fresh electrode")
                )
            elif rest_rms > REST_FAIR_UV:
                found.append(("fair", "a little noisy at rest: pressing it down may help"))
            if mains > MAINS_BAD_UV:
                found.append(
                    (
                        "bad",
                        "strong mains hum: check the reference electrode (on bone, behind the ear) "
                        "and move cables away from power leads",
                    )
                )
            elif mains > MAINS_FAIR_UV:
                found.append(("fair", "some mains hum: keep its cable away from power leads"))
        if ratio is not None and ratio < CLENCH_BAD:
            found.append(
                (
                    "bad",
                    "the test clench hardly shows: move the electrode onto the muscle's bulk "
                    "(feel it bulge as you clench)",
                )
            )
        elif ratio is not None and ratio < CLENCH_FAIR:
            found.append(
                (
                    "fair",
                    "the test clench shows weakly: the electrode may sit off the muscle's bulk",
                )
            )
        worst = max(VERDICTS.index(v) for v, _ in found)
        advice = "; ".join(a for v, a in found if VERDICTS.index(v) == worst)
        out.append(
            ElectrodeVerdict(
                name,
                rest_rms if in_uv else None,
                mains if in_uv else None,
                ratio,
                VERDICTS[worst],
                advice,
            )
        )
    return out


def _window(x: np.ndarray, fs: float, span: tuple[float, float]) -> np.ndarray:
    return x[:, int(span[0] * fs) : int(span[1] * fs)]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def _line_rms(x: np.ndarray, fs: float, mains_hz: float, nyquist: float) -> float:
    """RMS (stream units) of the mains line and its harmonics below Nyquist in `x`: the
    power spectral density summed within ±1 Hz of each, above the neighbouring floor."""
    if x.size < int(fs):
        return 0.0
    freqs, psd = sps.welch(x - x.mean(), fs=fs, nperseg=int(fs))  # 1-Hz bins
    step = freqs[1] - freqs[0]
    power = 0.0
    for k in range(1, 8):
        f = k * mains_hz
        if f >= nyquist - 2:
            break
        near = np.abs(freqs - f) <= 1.0
        around = (np.abs(freqs - f) > 3.0) & (np.abs(freqs - f) <= 10.0)
        floor = float(np.median(psd[around])) if around.any() else 0.0
        power += max(0.0, float(np.sum(psd[near] - floor)) * step)
    return float(np.sqrt(power))
