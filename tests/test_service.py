"""The nightly routine: `service install` writes a timer and a service systemd accepts,
`status` reads back the schedule and last night, `record --until` stops on the clock, and
the recorder says how much room a night needs."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import pytest

from bruxwatch.cli import main
from bruxwatch.cli.record import seconds_until
from bruxwatch.cli.service import systemd_quote
from bruxwatch.store.disk_space import night_bytes, room_for
from tests.test_careless_evening import hashes

INSTALL = ["service", "install", "--start", "22:30", "--stop", "07:00"]


def verify(folder, tmp_path) -> None:
    """systemd-analyze verify on the units, where systemd is installed."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    units = [str(folder / "bruxwatch.service"), str(folder / "bruxwatch.timer")]
    done = subprocess.run(
        [tool, "verify", *units], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_install_writes_units_systemd_accepts(tmp_path, capsys):
    folder = tmp_path / "units"
    settings = tmp_path / "my settings %h.toml"  # a space and a systemd specifier
    settings.write_text("")
    argv = [
        "--config",
        str(settings),
        *INSTALL,
        "--device",
        "arduino:/dev/ttyACM0?fs=1000",
        "--feedback",
        "motor",
        "--check",
        "--unit-dir",
        str(folder),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "every evening at 22:30" in out and "until 07:00" in out
    assert "warning: no calibration saved for arduino:/dev/ttyACM0?fs=1000" in out
    for name in ("bruxwatch.service", "bruxwatch.timer"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    service = (folder / "bruxwatch.service").read_text()
    timer = (folder / "bruxwatch.timer").read_text()
    assert "OnCalendar=*-*-* 22:30:00" in timer and "WantedBy=timers.target" in timer
    assert " -m bruxwatch --config " in service
    assert systemd_quote(str(settings.resolve())) in service and "%%h" in service
    assert (
        "record --device arduino:/dev/ttyACM0?fs=1000 --until 07:00 --use-saved --check" in service
    )
    assert "KillSignal=SIGINT" in service
    verify(folder, tmp_path)
    capsys.readouterr()
    nights = tmp_path / "nights"
    nights.mkdir()
    assert main(["service", "status", "--unit-dir", str(folder), "--nights", str(nights)]) == 0
    out = capsys.readouterr().out
    assert "records every evening from 22:30 until 07:00" in out
    assert f"last night: none in {nights}" in out
    assert main(["service", "uninstall", "--unit-dir", str(folder)]) == 0
    assert not list(folder.iterdir())


def test_print_writes_nothing_and_mistakes_are_one_line(tmp_path, capsys):
    folder = tmp_path / "units"
    assert main([*INSTALL, "--device", "sim:", "--print", "--unit-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "# bruxwatch.service" in out and "# bruxwatch.timer" in out
    assert not folder.exists()
    assert main([*INSTALL, "--device", "sim:", "--unit-dir", str(folder)]) == 0
    before = hashes(folder)
    capsys.readouterr()
    for argv in (
        ["service", "install", "--stop", "07:00", "--device", "sim:"],
        [*INSTALL[:3], "22:30", "--stop", "22:30", "--device", "sim:"],
        [*INSTALL, "--unit-dir", str(folder)],  # no device
        ["service", "install", "--start", "half past ten", "--stop", "07:00"],
        ["service", "uninstall", "--unit-dir", str(tmp_path / "empty")],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("bruxwatch service: error:"), err
    assert hashes(folder) == before


def test_status_reads_back_last_night(tmp_path, capsys):
    nights = tmp_path / "nights"
    nights.mkdir()
    out = nights / "night-2026-03-01_223000.sqlite"
    argv = ["record", "--device", "sim:realtime=0,minutes=0.1", "--no-calibrate", "--mode"]
    assert main([*argv, "baseline", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["service", "status", "--unit-dir", str(tmp_path), "--nights", str(nights)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("service: not installed")
    assert said[1].startswith(f"last night: {out.name}, from ") and "baseline mode" in said[1]
    assert "ended: " in said[1]
    assert "episodes counted while recording; 0 s of signal lost" in said[2]
    assert "free in" in said[3] and "room for" in said[3]


def test_until_is_the_next_time_on_the_clock():
    evening = dt.datetime(2026, 3, 1, 22, 30).astimezone()
    assert seconds_until(dt.time(7, 0), evening) == pytest.approx(8.5 * 3600)
    assert seconds_until(dt.time(23, 0), evening) == pytest.approx(1800)
    assert seconds_until(dt.time(22, 30), evening) == pytest.approx(24 * 3600)


def test_record_until_stops_on_the_clock(tmp_path, monkeypatch, capsys):
    import bruxwatch.cli.record as record

    # the clock reads 06:59:58 when the recorder starts: it stops about 2 s later, at 07:00,
    # however long the (real-time) stream could have gone on
    monkeypatch.setattr(record, "now", lambda: dt.datetime(2026, 3, 2, 6, 59, 58).astimezone())
    out = tmp_path / "n.sqlite"
    argv = ["record", "--device", "sim:minutes=5", "--no-calibrate", "--until", "07:00"]
    assert main([*argv, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "until 07:00" in said and "stopped: reached 07:00" in said
    assert "needs about" in said and "room for" in said
    from bruxwatch.store.recording import Recording

    with Recording(out) as night:
        assert 0.5 < night.end_index / night.info.fs < 10.0


def test_room_for_a_night_and_the_warning(tmp_path):
    assert night_bytes(1000, 2, 3600) == pytest.approx(1000 * 2 * 3600 * 1.5)
    assert night_bytes(1000, 2, 3600, counts=False) == pytest.approx(1000 * 2 * 3600 * 3.2)
    room = room_for(tmp_path, 1000, 2, 8 * 3600)
    assert room.nights == pytest.approx(shutil.disk_usage(tmp_path).free / room.night_bytes)
    tight = type(room)(tmp_path, int(room.night_bytes * 2), room.night_bytes)
    assert tight.text(8.0).startswith("warning: little room left: a night of 8.0 h needs about")
    none = type(room)(tmp_path, int(room.night_bytes / 2), room.night_bytes)
    assert none.text(8.0).startswith("warning: not enough room for this night")
