"""A dead lead loses its channel, not the night: the good side is scored, the bad channel is
named in every output, `--channels` picks channels (1-based), flagged time is per channel, and
a night with too little good signal shows no rates."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruxwatch.cli import main
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.signal import Pipeline, SignalConfig, analyze
from bruxwatch.signal.config import QualityConfig
from bruxwatch.signal.events import EpisodeEnd
from tests.streaming import by_kind, whole_and_chunked

SHORT_NIGHT = "sim:scenario=awake,seed=3,realtime=0,minutes=4,episodes_per_hour=90"


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def awake(seconds: float = 300, **options) -> tuple[Simulator, np.ndarray]:
    sim = Simulator(
        SimulatorConfig(
            scenario="awake", duration_s=seconds, seed=3, episodes_per_hour=90, **options
        )
    )
    return sim, sim.generate()


def onsets(result) -> list[float]:
    return [round(e.start_s, 3) for e in result.episodes if not e.artifact]


def test_a_dead_lead_keeps_the_episodes_of_the_good_side_and_is_named():
    sim, x = awake()
    both = analyze(x, sim.fs)
    left = analyze(x, sim.fs, config=SignalConfig(masseter_channels=(0,)))
    _, dead = awake(dead_leads=(2,))
    result = analyze(dead, sim.fs, channels=sim.info.channels)
    assert onsets(result) == onsets(left) and len(onsets(result)) >= len(onsets(both)) - 2
    s = result.summary
    assert s.artifact_episodes == 0 and s.bad_channels == ["right_masseter"]
    assert s.good_hours == pytest.approx(s.hours - 1 / 3600)  # its first flat second
    right = s.channels[1]
    assert right.flagged_hours == pytest.approx(s.hours) and set(right.flags) == {"flat"}
    assert s.channels[0].flagged_hours == 0


def test_with_every_channel_bad_the_episodes_are_set_aside_as_before():
    sim, x = awake(120)
    x[:, 30_000:60_000] = np.clip(x[:, 30_000:60_000] * 50, -1000, 1000)  # both clip
    result = analyze(x, sim.fs, rails=(-1000.0, 1000.0))
    assert [tuple(b) for b in result.bad_intervals] == [(30_000, 60_000)]
    assert result.summary.good_hours == pytest.approx(90 / 3600)


def test_one_clipping_channel_costs_one_block_and_its_channel():
    sim, x = awake(120)
    x[1, 30_000:60_000] = np.clip(x[1, 30_000:60_000] * 50, -1000, 1000)
    result = analyze(x, sim.fs, rails=(-1000.0, 1000.0))
    assert [tuple(b) for b in result.bad_intervals] == [(30_000, 31_000)]
    assert result.summary.channels[1].flags["clipped"] == pytest.approx(30 / 3600)
    assert result.summary.bad_channels == []  # 30 s of 120: not most of the night


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 9000), min_size=1, max_size=40), st.booleans())
def test_streaming_equals_offline_while_a_lead_comes_and_goes(cuts, calibrated):
    sim, x = awake(90)
    x[1, 20_500:41_200] = 7.0  # the right lead off for 20.7 s, then back
    x[0, 60_000:61_300] = 3.0  # the left one off briefly
    from bruxwatch.signal.calibration import Calibration

    cal = Calibration(rest=(2.5, 2.5), mvc=(200.0, 200.0)) if calibrated else None
    whole, expected, chunked, events = whole_and_chunked(
        lambda: Pipeline(sim.info, calibration=cal), x, cuts
    )
    assert by_kind(events) == by_kind(expected)  # in one chunk, events come stage by stage
    assert chunked.quality.bad == whole.quality.bad
    assert any(isinstance(e, EpisodeEnd) for e in expected)


def test_too_little_good_signal_gives_no_rates():
    sim, x = awake(300)
    s = analyze(x, sim.fs).summary
    assert not s.enough_signal and s.min_good_hours == 2.0
    data = s.to_dict()
    assert data["episodes_per_hour"] is None and data["per_hour_by_kind"]["tonic"] is None
    assert "not enough good signal" in data["rates_note"] and data["episodes"] == s.episodes
    enough = SignalConfig(quality=QualityConfig(min_good_hours=0.05))
    s = analyze(x, sim.fs, config=enough).summary
    assert s.enough_signal and s.to_dict()["episodes_per_hour"] == pytest.approx(
        s.episodes / s.good_hours
    )
    with pytest.raises(ValueError, match="min_good_hours"):
        QualityConfig(min_good_hours=-1)


# ------------------------------------------------------------------ the user's commands
def write_csv(path: Path, x: np.ndarray, names=("left", "right")) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(names)
        out.writerows(np.round(x.T, 3).tolist())


def test_analyze_names_the_dead_channel_and_picks_channels(tmp_path, capsys):
    _, x = awake(dead_leads=(2,))
    path = tmp_path / "dead.csv"
    write_csv(path, x)
    assert main(["analyze", str(path), "--fs", "1000", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "right flagged 0.08 h (flat 0.08 h)" in text
    assert "bad channels            right (scored on the others)" in text
    assert "not enough good signal (0.08 h; rates need 2 h)" in text
    assert "per hour)" not in text
    assert main(["analyze", str(path), "--fs", "1000", "--json", "--channels", "1"]) == 0
    only_left = json.loads(capsys.readouterr().out)["summary"]
    assert only_left["bad_channels"] == [] and [c["channel"] for c in only_left["channels"]] == [
        "left"
    ]
    assert main(["analyze", str(path), "--fs", "1000", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["summary"]["bad_channels"] == ["right"]
    assert both["summary"]["episodes"] == only_left["episodes"]


@pytest.mark.parametrize(
    "args, line",
    [
        (["--channels", "3"], "--channels: channel 3 is not in the file (it has 2: 1-2)"),
        (["--channels", "0"], "channels must be distinct numbers from 1 up (1-based)"),
        (["--channels", "1,1"], "channels must be distinct numbers from 1 up (1-based)"),
        (["--channels", "left"], "channels must be numbers like 1,2 (1-based)"),
    ],
)
def test_a_wrong_channel_is_one_line(tmp_path, args, line):
    _, x = awake(20)
    path = tmp_path / "night.csv"
    write_csv(path, x)
    out = tmp_path / "night.sqlite"
    commands = (
        ["analyze", str(path), "--fs", "1000"],
        ["import", str(path), "--fs", "1000", "--out", str(out)],
    )
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", "bruxwatch.cli", *command, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert line in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not out.exists()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_record_report_and_import_with_a_dead_lead(tmp_path, capsys):
    night = tmp_path / "night.sqlite"
    device = SHORT_NIGHT + ",dead_leads=2"
    settings = tmp_path / "settings.toml"  # 4 minutes make a night here (the default: 30)
    settings.write_text("[signal.quality]\nmin_night_hours = 0.05\n")
    argv = ["record", "--device", device, "--out", str(night), "--no-calibrate"]
    assert main(["--config", str(settings), *argv]) == 0
    assert "signal quality: right_masseter flagged 240 s (flat 240 s)" in capsys.readouterr().out
    assert main(["analyze", str(night), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "bad channels" in text and "right_masseter (scored on the others)" in text
    assert main(["report", str(night), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["nights"][0]
    assert row["bad_channels"] == "right_masseter" and row["episodes_per_hour"] is None
    assert row["episodes"] > 0 and "not enough good signal" in row["rates"]
    csv_dir = tmp_path / "csv"
    assert main(["report", str(night), "--csv", str(csv_dir)]) == 0
    nights_csv = list(csv.DictReader((csv_dir / "nights.csv").open()))
    assert nights_csv[0]["bad_channels"] == "right_masseter"
    assert nights_csv[0]["episodes_per_hour"] == ""
    capsys.readouterr()
    before = digest(night)
    assert main(["report", str(night), "--json", "--channels", "1"]) == 0
    left = json.loads(capsys.readouterr().out)["nights"][0]
    assert left["bad_channels"] == "" and left["episodes"] == row["episodes"]
    assert main(["report", str(night), "--channels", "5"]) == 2
    assert "channel 5 is not in the recording (it has 2: 1-2)" in capsys.readouterr().err
    assert digest(night) == before

    # a file from another tool, imported with its one good channel
    _, x = awake(dead_leads=(2,))
    path = tmp_path / "dead.csv"
    write_csv(path, x)
    stored = tmp_path / "imported.sqlite"
    assert main(["import", str(path), "--fs", "1000", "--channels", "1", "--out", str(stored)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(stored), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert [c["channel"] for c in summary["channels"]] == ["left"]


def test_the_minimum_of_good_hours_comes_from_the_settings_file(tmp_path, capsys):
    _, x = awake(300)
    path = tmp_path / "night.csv"
    write_csv(path, x)
    settings_file = tmp_path / "config.toml"
    settings_file.write_text("[signal.quality]\nmin_good_hours = 0.05\n")
    assert main(["--config", str(settings_file), "analyze", str(path), "--fs", "1000"]) == 0
    assert "per hour)" in capsys.readouterr().out
    settings_file.write_text("[signal.quality]\nmin_good_hours = -2\n")
    assert main(["--config", str(settings_file), "analyze", str(path), "--fs", "1000"]) == 2
    err = capsys.readouterr().err
    assert "min_good_hours must be 0-24 h, got -2" in err and len(err.strip().splitlines()) == 1


def test_an_openbci_file_with_six_unused_channels_keeps_its_episodes(tmp_path, capsys):
    """An 8-channel OpenBCI GUI recording where only channels 1-2 had electrodes: 3-6 were
    turned off (0.0) and 7-8 railed at the Cyton's limit. The night is scored on 1-2."""
    from tests.test_importers import write_gui_v5

    sim = Simulator(
        SimulatorConfig(scenario="awake", duration_s=300, fs=250.0, seed=11, episodes_per_hour=90)
    )
    x = np.zeros((8, sim.n_samples))
    x[:2] = sim.generate()
    x[6:] = 187_500.0
    path = tmp_path / "OpenBCI-RAW-2025-11-24_22-00-00.txt"
    write_gui_v5(path, x)
    assert main(["analyze", str(path), "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["bad_channels"] == [f"exg{k}" for k in range(3, 9)]
    assert summary["good_hours"] == pytest.approx(summary["hours"] - 1 / 3600)
    assert main(["analyze", str(path), "--json", "--quiet", "--channels", "1,2"]) == 0
    only_used = json.loads(capsys.readouterr().out)
    assert only_used["summary"]["episodes"] == summary["episodes"] > 0
