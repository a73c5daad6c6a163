"""The settings file: TOML into the dataclass tree, CLI flags on top, one clear line for
anything wrong, and nights that remember the settings they were scored with."""

from __future__ import annotations

import json

import pytest

from bruxwatch.cli import main
from bruxwatch.config import ConfigError, load_settings
from bruxwatch.store.recording import Recording

GOOD = """
device = "sim:scenario=awake,realtime=0,minutes=0.5,seed=4"

[signal.filter]
mains_hz = 60
band_hz = [20, 400]

[signal.threshold]
adaptive_factor = 5

[feedback]
onset_delay_s = 0.7
refractory_s = 15
"""


def test_settings_file_fills_the_dataclass_tree(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    settings = load_settings(path)
    assert settings.device.startswith("sim:scenario=awake")
    assert settings.signal.filter.mains_hz == 60.0 and settings.signal.filter.band_hz == (
        20.0,
        400.0,
    )
    assert settings.signal.threshold.adaptive_factor == 5.0
    assert settings.signal.detector.min_burst_s == 0.25  # untouched: the default
    assert settings.feedback.onset_delay_s == 0.7 and settings.feedback.refractory_s == 15.0
    path.write_text("[signal.filter]\nmains_hz = 0\n")
    assert load_settings(path).signal.filter.mains_hz is None  # 0 = no notch


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[signal.filter]\nmains = 60\n", "unknown setting 'mains' in [signal.filter]"),
        ("[feedback]\npulse_ms = 'long'\n", "feedback.pulse_ms must be a whole number"),
        ("[signal.envelope]\nrms_window_s = 2.0\n", "rms_window_s must be 0.05-0.25 s, got 2.0"),
        ("colour = 'blue'\n", "unknown setting 'colour'"),
        ("[signal.filter\n", "not valid TOML"),
        ("[feedback]\nmode = 'sometimes'\n", "feedback.mode must be one of feedback, baseline"),
    ],
)
def test_a_bad_settings_file_is_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(path)
    assert main(["--config", str(path), "devices"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0]


def test_flags_override_the_file_and_the_night_keeps_its_settings(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(GOOD)
    out = tmp_path / "night.sqlite"
    # the device comes from the file; --mains overrides its 60 Hz
    assert (
        main(
            [
                "--config",
                str(config),
                "record",
                "--no-calibrate",
                "--mains",
                "50",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with Recording(out) as rec:
        stored = rec.session.config["signal"]
        assert rec.info.device.startswith("simulator (awake, seed 4)")
    assert stored["filter"]["mains_hz"] == 50.0 and stored["filter"]["band_hz"] == [20.0, 400.0]
    assert stored["threshold"]["adaptive_factor"] == 5.0
    # re-scoring (analyze, report) uses what the night stored, not today's defaults
    capsys.readouterr()
    assert main(["analyze", str(out), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert "5x adaptive background" in summary["threshold"]
    assert main(["--config", str(tmp_path / "missing.toml"), "devices"]) == 2
    assert "no such settings file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[signal.filter]\nmains_hz = 55\n",
            'mains_hz must be 50, 60, "auto" or 0 (off), got 55.0',
        ),
        ("[signal.threshold]\nmvc_fraction = 1.5\n", "mvc_fraction must be 0.01-0.9, got 1.5"),
        ("[signal.threshold]\nadaptive_factor = 0\n", "adaptive_factor must be 1.5-50, got 0.0"),
        ("[signal.filter]\norder = 0\n", "order must be 1-10, got 0"),
        ("[signal.quality]\nblock_s = 0\n", "block_s must be 0.1-10 s, got 0.0"),
        ("[signal.detector]\nmin_burst_s = -1\n", "min_burst_s must be 0.05-5 s, got -1.0"),
        ("[signal.ecg]\nrefractory_s = -1\n", "refractory_s must be 0.15-1 s, got -1.0"),
        ("[feedback]\nonset_delay_s = -1\n", "onset_delay_s must be 0-30 s, got -1.0"),
        ("[signal.filter]\nband_hz = [450, 20]\n", "band_hz must be [low, high] with low < high"),
        ("[signal.filter]\nnotch_q = 0\n", "notch_q must be 1-300, got 0.0"),
        ("[signal.filter]\nband_hz = [20, nan]\n", "band_hz must be 0.1-5000 Hz, got [20.0, nan]"),
        ("[signal.detector]\nmin_burst_s = 3\n", "tonic_min_s (2 s) must be longer than min"),
    ],
)
def test_every_setting_is_checked_against_its_range(tmp_path, capsys, text, message):
    """The file, the section and the key, and the range; exit 2, one line, nothing written."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    section = text.split("]")[0] + "]"
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {section}: {message}")
    out = tmp_path / "night.sqlite"
    argv = ["--config", str(path), "simulate", "--hours", "0.01", "--out", str(tmp_path / "x.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not out.exists() and not (tmp_path / "x.csv").exists()
