"""The command line: the happy path end to end, and every error path as one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bruxwatch.cli import main


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("night")
    csv, truth = folder / "night.csv", folder / "truth.json"
    code = main(
        [
            "simulate",
            "--scenario",
            "night",
            "--minutes",
            "20",
            "--seed",
            "3",
            "--calibrate",
            "--episodes-per-hour",
            "30",
            "--out",
            str(csv),
            "--truth",
            str(truth),
        ]
    )
    assert code == 0
    return csv, json.loads(truth.read_text())


def test_simulate_writes_channels_header_and_truth(night):
    csv, truth = night
    header = csv.read_text().splitlines()[0]
    assert header == "left_masseter,right_masseter"
    assert truth["fs"] == 1000.0 and truth["activations"]


def ranges(rest, mvc) -> list[str]:
    """--rest/--mvc options for second ranges [start, end]."""
    return ["--rest", f"{rest[0]}:{rest[1]}", "--mvc", f"{mvc[0]}:{mvc[1]}"]


def test_analyze_json_matches_the_truth(night, capsys):
    csv, truth = night
    rest, mvc = truth["rest_s"], truth["mvc_s"]
    code = main(["analyze", str(csv), "--fs", "1000", *ranges(rest, mvc), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    episodes = out["episodes"]
    true_eps = [a for a in truth["activations"] if a["kind"] in ("phasic", "tonic", "mixed")]
    assert len(episodes) == len(true_eps) == out["summary"]["episodes"]
    assert set(episodes[0]) == {"start_s", "end_s", "kind", "bursts", "peak_pct_mvc", "artifact"}
    assert all(e["peak_pct_mvc"] > 10 for e in episodes)
    assert out["summary"]["calibrated"] is True
    for found, real in zip(episodes, true_eps, strict=True):
        assert abs(found["start_s"] - real["bursts"][0][0]) < 0.5 and found["kind"] == real["kind"]


def test_analyze_table_without_calibration(night, capsys):
    csv, _ = night
    assert main(["analyze", str(csv), "--fs", "1000"]) == 0
    text = capsys.readouterr().out
    assert "NOT calibrated" in text and "episodes" in text and "does not diagnose" in text


def test_time_column_gives_the_sample_rate(tmp_path, capsys):
    path = tmp_path / "timed.csv"
    rows = ["time,emg"] + [f"{i / 250:.4f},{(i % 7) - 3}" for i in range(2500)]
    path.write_text("\n".join(rows) + "\n")
    assert main(["analyze", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["hours"] == pytest.approx(10 / 3600)


def error_of(args: list[str], capsys) -> str:
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_missing_file(capsys, tmp_path):
    assert "no such file" in error_of(
        ["analyze", str(tmp_path / "nope.csv"), "--fs", "1000"], capsys
    )


def test_folder_instead_of_file(capsys, tmp_path):
    assert "folder" in error_of(["analyze", str(tmp_path), "--fs", "1000"], capsys)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"left,right\n", "no samples"),
        (b"left,right\n1,2\n3,abc\n", "bad value"),
        (b"left,right\n1,2,3\n", "header names 2"),
        (b"1,2\n3,4\n", "name the channels"),
        (bytes(range(256)) * 4, "night.csv"),
    ],
    ids=["empty", "header-only", "bad-value", "ragged", "no-header", "binary"],
)
def test_unusable_csv(capsys, tmp_path, content, expected):
    path = tmp_path / "night.csv"
    path.write_bytes(content)
    assert expected in error_of(["analyze", str(path), "--fs", "1000"], capsys)


def test_fs_needed_without_time_column(night, capsys):
    csv, _ = night
    assert "--fs" in error_of(["analyze", str(csv)], capsys)


@pytest.mark.parametrize("fs", ["0", "-5", "abc", "nan"])
def test_bad_fs(night, capsys, fs):
    csv, _ = night
    assert "fs" in error_of(["analyze", str(csv), "--fs", fs], capsys)


@pytest.mark.parametrize("fs", ["40", "0.001", "1e12", "99.9", "20001"])
@pytest.mark.parametrize("command", ["analyze", "import", "simulate"])
def test_fs_out_of_range_is_one_line_naming_the_range(night, capsys, tmp_path, fs, command):
    csv, _ = night
    target = [] if command == "simulate" else [str(csv)]
    out = ["--out", str(tmp_path / "out.sqlite")] if command != "analyze" else []
    line = error_of([command, *target, "--fs", fs, *out], capsys)
    assert f"the sample rate must be 100-20000 Hz for raw EMG, got {fs}" in line
    assert not (tmp_path / "out.sqlite").exists()


def test_a_file_whose_own_rate_is_too_low_is_one_line(tmp_path, capsys):
    path = tmp_path / "slow.csv"
    path.write_text("time,emg\n" + "".join(f"{i / 40},{i % 3}\n" for i in range(400)))
    line = error_of(["analyze", str(path)], capsys)
    assert "its sample rate, 40 Hz, is outside 100-20000 Hz (raw EMG)" in line


def test_a_100_hz_recording_is_scored(tmp_path, capsys):
    """At 100 Hz neither mains line fits under the band edge: both are still looked at."""
    path = tmp_path / "slow.csv"
    rng = np.random.default_rng(1)
    path.write_text("emg\n" + "".join(f"{v:.3f}\n" for v in rng.normal(0, 3, 12_000)))
    assert main(["analyze", str(path), "--fs", "100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["hours"] == pytest.approx(120 / 3600)


def test_fs_disagreeing_with_time_column(tmp_path, capsys):
    path = tmp_path / "timed.csv"
    path.write_text("time,emg\n" + "".join(f"{i / 250},{i % 3}\n" for i in range(100)))
    assert "disagrees" in error_of(["analyze", str(path), "--fs", "1000"], capsys)


def test_range_outside_the_file(night, capsys):
    csv, _ = night
    line = error_of(
        ["analyze", str(csv), "--fs", "1000", "--rest", "1:11", "--mvc", "5000:5010"], capsys
    )
    assert "outside the recording" in line


@pytest.mark.parametrize("bad", ["5", "a:b", "10:5"])
def test_malformed_range(night, capsys, bad):
    csv, _ = night
    assert "--rest" in error_of(
        ["analyze", str(csv), "--fs", "1000", "--rest", bad, "--mvc", "1:2"], capsys
    )


def test_rest_without_mvc(night, capsys):
    csv, _ = night
    assert "both" in error_of(["analyze", str(csv), "--fs", "1000", "--rest", "1:11"], capsys)


def test_calibration_on_a_quiet_stretch_fails_clearly(night, capsys):
    csv, truth = night
    rest = truth["rest_s"]
    line = error_of(["analyze", str(csv), "--fs", "1000", *ranges(rest, rest)], capsys)
    assert "calibration failed" in line and "electrodes" in line


def test_unknown_option_and_command(capsys):
    assert "unrecognized" in error_of(["analyze", "x.csv", "--colour", "red"], capsys)
    assert "invalid choice" in error_of(["frobnicate"], capsys)


def test_simulate_into_missing_folder(capsys, tmp_path):
    line = error_of(["simulate", "--minutes", "1", "--out", str(tmp_path / "no" / "x.csv")], capsys)
    assert "no such folder" in line


def test_bad_mains(night, capsys):
    csv, _ = night
    assert "mains" in error_of(["analyze", str(csv), "--fs", "1000", "--mains", "55"], capsys)


def test_console_script_runs_as_a_program(night):
    csv, _ = night
    result = subprocess.run(
        [sys.executable, "-m", "bruxwatch.cli", "analyze", str(csv) + ".missing", "--fs", "1000"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_demo_runs_and_reports_against_truth(capsys):
    assert main(["demo", "--night", "--hours", "0.25", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "Against the simulator's ground truth" in out and "F1" in out


def test_status_words_read_right():
    from bruxwatch.firmware_host.console import counted, feedback_text, levels_text, lost_text

    assert counted(1, "episode") == "1 episode" and counted(0, "episode") == "0 episodes"
    assert lost_text(1, 0.01) == "1 gap, 10 ms lost" and lost_text(3, 2.44) == "3 gaps, 2.4 s lost"
    assert feedback_text("feedback", 2, 1) == "feedback: 2 given, 1 logged"
    assert feedback_text("baseline", 0, 5) == "baseline night: 5 logged, none given"
    assert feedback_text(None, 0, 0) == "feedback off"
    assert levels_text([float("nan"), 3.0]) == "warming up"
    assert levels_text([3.04, 12.0]) == "3.0/12.0"


def test_record_summary_counts_in_words(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    device = "sim:scenario=awake,realtime=0,minutes=0.2,episodes_per_hour=0"
    out = tmp_path / "n.sqlite"
    argv = ["record", "--device", device, "--no-calibrate", "--mode", "baseline", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "0 episodes (0 set aside), baseline night: 0 logged, none given, 0 samples lost" in text
