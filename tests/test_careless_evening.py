"""A new user's careless evening: every mistake ends in one clear line, exit status 2, no
traceback, and no existing file changed (hashes before and after)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.nights import record_simulated_nights
from bruxwatch.signal.config import QualityConfig, SignalConfig
from bruxwatch.store.recording import Recording

pytest.importorskip("pyqtgraph")


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> Path:
    """Two short simulated nights, rated (min_good_hours 0.05 h)."""
    folder = tmp_path_factory.mktemp("evening") / "nights"
    rated = SignalConfig(quality=QualityConfig(min_good_hours=0.05, min_night_hours=0.05))
    record_simulated_nights(folder, nights=2, hours=0.1, baseline_nights=1, seed=5, signal=rated)
    return folder


def hashes(*roots: Path) -> dict[str, str]:
    found = {}
    for root in (r for r in roots if r.exists()):
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def fails(args: list[str], capsys, *watched: Path) -> str:
    """Run the command; assert status 2, one stderr line, no traceback, no file changed
    under `watched`; return the line (what went to stdout is in `said`)."""
    before = hashes(*watched)
    code = main(args)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "propagateSizeHints" not in line]
    assert code == 2, captured
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert hashes(*watched) == before
    said[:] = [captured.out]
    return lines[0]


said: list[str] = [""]


# ---------------------------------------------------------------- misleading messages (16)
def test_replay_without_a_rate_points_to_the_device_option(tmp_path, capsys):
    (tmp_path / "plain.csv").write_text("a,b\n" + "1,2\n" * 50)
    line = fails(["stream", "replay:plain.csv", "--seconds", "1"], capsys, tmp_path)
    assert "replay:plain.csv?fs=" in line and "--fs" not in line


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("sim:channels=a", "simulator option channels must be a whole number, got 'a'"),
        ("sim:hours=x", "simulator option hours must be a number, got 'x'"),
        ("cyton:/dev/ttyUSB0?channels=a", "channels must be channel numbers separated by"),
        ("ganglion:emulated?firmware=two", "firmware must be a whole number"),
        ("replay:x.csv?speed=fast", "speed must be a number"),
        ("lsl:obci?timeout=soon", "timeout must be a number"),
    ],
)
def test_a_wrong_device_option_is_named(capsys, device, expected):
    assert expected in fails(["stream", device, "--seconds", "1"], capsys)


@pytest.mark.parametrize("value", ["-5m", "-1", "-.5h"])
def test_a_negative_duration_is_called_negative(capsys, value):
    line = fails(["record", "--device", "sim", "--duration", value], capsys)
    assert f"duration must be positive, got '{value}'" in line


@pytest.mark.parametrize("count", ["0", "-2", "two"])
def test_simulate_zero_nights_writes_nothing(tmp_path, capsys, count):
    line = fails(["simulate", "--nights", count, "--out", "out"], capsys, tmp_path)
    assert "the number of nights must be 1-365" in line
    assert not (tmp_path / "out").exists()


def test_record_names_the_file_only_once_the_device_has_sent(tmp_path, capsys):
    line = fails(["record", "--device", "cyton:/dev/ttyNOPE", "--out", "n.sqlite"], capsys)
    assert "/dev/ttyNOPE: no such port" in line
    assert "recording" not in said[0]
    assert not (tmp_path / "n.sqlite").exists()


# ------------------------------------------------------------------------ screenshots (14, 5)
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing/x.png", "missing: no such folder"),
        ("x.txt", "needs an image name ending in .png"),
        ("folder", "needs an image name ending in .png"),
    ],
)
@pytest.mark.parametrize("command", ["review", "live"])
def test_a_screenshot_that_cannot_be_written_is_an_error(
    nights, tmp_path, capsys, name, expected, command
):
    (tmp_path / "folder").mkdir()
    source = {
        "review": [str(nights)],
        "live": ["--device", "sim:scenario=awake", "--feedback", "bell", "--seconds", "1"],
    }[command]
    line = fails([command, *source, "--screenshot", name], capsys, tmp_path, nights)
    assert expected in line
    assert not (tmp_path / name).is_file()
    assert not (tmp_path / "data").exists()  # live made no night either


def test_a_screenshot_qt_cannot_write_keeps_the_old_file(nights, tmp_path, capsys, monkeypatch):
    from pyqtgraph.Qt import QtGui

    target = tmp_path / "review.png"
    target.write_bytes(b"an older picture")
    monkeypatch.setattr(QtGui.QPixmap, "save", lambda self, *a: False)
    line = fails(["review", str(nights), "--screenshot", str(target)], capsys, tmp_path)
    assert "review.png" in line and "could not encode" in line
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("episode", ["99", "0", "-1"])
def test_review_episode_out_of_range(nights, tmp_path, capsys, episode):
    line = fails(
        ["review", str(nights), "--episode", episode, "--screenshot", "e.png"], capsys, nights
    )
    assert f"--episode {episode}: night-" in line and "has episodes 1-" in line
    assert not (tmp_path / "e.png").exists()


def test_a_live_screenshot_records_nothing_unless_asked(tmp_path, capsys):
    argv = ["live", "--device", "sim:scenario=awake", "--feedback", "bell"]
    assert main([*argv, "--screenshot", "a.png", "--seconds", "1"]) == 0
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o600  # it shows a wearer's data
    assert not (tmp_path / "data").exists()  # no "night" in the nights folder
    out = tmp_path / "kept.sqlite"
    assert main([*argv, "--screenshot", "b.png", "--seconds", "1", "--out", str(out)]) == 0
    with Recording(out) as night:
        assert night.n_samples > 0
    assert f"file: {out}" in capsys.readouterr().out


# ------------------------------------------------------------------------------ Ctrl-C (13)
def test_ctrl_c_on_live_finishes_the_night_quietly(tmp_path):
    out = tmp_path / "n.sqlite"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path)}
    argv = ["live", "--device", "sim:scenario=awake", "--feedback", "bell", "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bruxwatch.cli", *argv, "--screenshot", "x.png", "--seconds", "60"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "KeyboardInterrupt" not in stderr and "Ignored exception" not in stderr
    assert "stopped: signal SIGINT" in stdout
    with Recording(out) as night:
        assert night.session.status == "finished" and night.n_samples > 1000


# ---------------------------------------------------------------- read-only destinations (12)
def test_calibrate_checks_where_it_saves_before_asking_anything(tmp_path, capsys):
    (tmp_path / "config" / "bruxwatch").mkdir(parents=True)
    (tmp_path / "config" / "bruxwatch" / "calibrations").write_text("in the way")
    line = fails(["calibrate", "--device", "sim:scenario=calibration,realtime=0"], capsys, tmp_path)
    assert "calibrations: cannot write there" in line
    assert "Relax" not in said[0]


FILE_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails: EFBIG
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from bruxwatch.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.mark.parametrize(
    ("limit", "argv", "target"),
    [
        (40_000, ["simulate", "--minutes", "2", "--out", "old.csv"], "old.csv"),
        (40_000, ["report", "{nights}", "--pdf", "old.pdf"], "old.pdf"),
        (40_000, ["export", "{night}", "--edf", "old.edf"], "old.edf"),
        (40_000, ["export", "{night}", "--csv", "old.csv"], "old.csv"),
        (40_000, ["export", "{night}", "--copy", "new.sqlite"], None),
        (40_000, ["review", "{nights}", "--screenshot", "old.png"], "old.png"),
        (
            10_000,
            ["live", "--feedback", "bell", "--screenshot", "old.png", "--seconds", "1"],
            "old.png",
        ),
        (
            20_000,
            ["record", "--device", "sim:realtime=0", "--duration", "60", "--out", "new.sqlite"],
            None,
        ),
        (
            3_000_000,
            ["record", "--device", "sim:realtime=0", "--duration", "600", "--out", "new.sqlite"],
            "new.sqlite",
        ),
    ],
)
def test_a_full_disk_is_one_line_and_changes_no_file(nights, tmp_path, limit, argv, target):
    """The process may not grow a file past `limit` bytes (RLIMIT_FSIZE), as a full disk
    stops it: one line naming the file, status 2, and the older file there as it was."""
    night = sorted(nights.glob("*.sqlite"))[-1]
    argv = [a.format(nights=nights, night=night) for a in argv]
    if target and target.startswith("old"):
        (tmp_path / target).write_bytes(b"an older file, to be left as it is")
    before = hashes(*(tmp_path / f"old.{end}" for end in ("csv", "pdf", "edf", "png")), nights)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-c", FILE_LIMIT, str(limit), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and "error" in done.stderr
    assert (
        hashes(*(tmp_path / f"old.{end}" for end in ("csv", "pdf", "edf", "png")), nights) == before
    )
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]
    if target == "new.sqlite":  # what was recorded before the disk filled stays readable
        with Recording(tmp_path / target) as kept:
            assert kept.n_samples > 0
    elif target is None:  # a file that could not even be begun is not left behind
        assert not (tmp_path / "new.sqlite").exists()


# ------------------------------------------------------------- Qt cannot open a window (15)
@pytest.mark.parametrize("command", [["demo", "--seconds", "2"], ["live", "--seconds", "2"]])
def test_a_display_qt_cannot_use_falls_back_to_the_headless_view(tmp_path, command):
    """$DISPLAY names no X server here (and this machine may lack the xcb libraries): Qt
    would abort the process (status 134); instead one line says why, naming any missing
    packages, and the headless recorder runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":99", XDG_DATA_HOME=str(tmp_path / "data"))
    device = (
        ["--device", "sim:scenario=awake", "--feedback", "bell"] if command[0] == "live" else []
    )
    done = subprocess.run(
        [sys.executable, "-m", "bruxwatch.cli", *command, *device],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Qt cannot open a window"), done.stderr
    assert "headless view instead" in lines[0] and "Reinstalling" not in done.stderr
    if "libraries are missing" in lines[0]:
        assert "sudo apt install libxcb-" in lines[0]
    assert "stopped: duration reached" in done.stdout


def test_debian_package_names_follow_the_naming_rule():
    from bruxwatch.ui.window_check import debian_package

    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libEGL.so.1") == "libegl1"
    assert debian_package("libdbus-1.so.3") == "libdbus-1-3"
