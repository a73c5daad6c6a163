"""`bruxwatch record` and `bruxwatch calibrate` as a user runs them, and their errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from bruxwatch.cli import main
from bruxwatch.store.recording import Recording

FAST_NIGHT = "sim:scenario=night,calibrate=1,episodes_per_hour=300,seed=2,realtime=0,minutes=3"


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_record_a_short_night_with_guided_calibration(tmp_path, capsys):
    out = tmp_path / "night.sqlite"
    assert (
        main(
            [
                "record",
                "--device",
                FAST_NIGHT,
                "--out",
                str(out),
                "--feedback",
                "bell",
                "--mode",
                "baseline",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "CLENCH as hard as is comfortable (3 of 3)" in text
    assert "Calibration recorded: rest " in text and " µV, clench " in text
    assert "stopped: the device stream ended" in text and str(out) in text
    with Recording(out) as rec:
        assert rec.session.status == "finished" and rec.session.calibration is not None
        assert rec.session.mode == "baseline" and rec.feedback() and rec.episodes()
        assert not any(f.fired for f in rec.feedback())
    assert main(["analyze", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["calibrated"] is True and summary["episodes"] == len(Recording(out).episodes())


def test_record_without_out_uses_the_data_folder(tmp_path, capsys):
    device = "sim:scenario=awake,realtime=0,minutes=0.2"
    assert main(["record", "--device", device, "--no-calibrate", "--feedback", "bell"]) == 0
    files = list((tmp_path / "data" / "bruxwatch" / "nights").glob("night-*.sqlite"))
    assert len(files) == 1 and str(files[0]) in capsys.readouterr().out


def test_calibrate_saves_and_record_uses_it(capsys):
    device = "sim:scenario=calibration,realtime=0,seed=4"
    assert main(["calibrate", "--device", device]) == 0
    assert "saved to" in capsys.readouterr().out
    assert (
        main(
            [
                "record",
                "--device",
                device,
                "--use-saved",
                "--feedback",
                "bell",
                "--duration",
                "5s",
                "--out",
                "/dev/null/x",
            ]
        )
        == 2
    )  # the path is checked first
    assert "no such folder" in capsys.readouterr().err


def test_calibrate_on_a_quiet_sensor_says_check_the_electrodes(capsys):
    assert main(["calibrate", "--device", "sim:scenario=awake,realtime=0,minutes=1,seed=9"]) == 2
    err = capsys.readouterr().err
    assert "calibration failed" in err and "electrodes" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "ganglion:emulated", "--feedback", "motor"], "no vibration motor"),
        (["--mode", "baseline", "--withhold", "0.2"], "baseline mode withholds all"),
        (["--withhold", "1.5"], "withhold must be"),
        (["--feedback", "laser"], "unknown feedback"),
        (["--duration", "soon"], "duration"),
        (["--use-saved"], "no saved calibration"),
        (["--device", "cyton:/dev/nonexistent"], "no such port"),
    ],
)
def test_record_errors_are_one_line(tmp_path, capsys, args, message):
    argv = ["record", "--device", "sim:realtime=0,minutes=0.1", "--out", str(tmp_path / "n.sqlite")]
    assert main(argv + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_existing_recording_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "n.sqlite"
    out.write_text("keep me")
    assert main(["record", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and out.read_text() == "keep me"


def test_memory_stays_flat_over_two_hours_at_full_speed():
    code = textwrap.dedent(
        """
        import resource, tempfile
        def peak_kb():  # VmHWM: this process's own peak (ru_maxrss carries the parent's)
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        from pathlib import Path
        from bruxwatch.memory import keep_freed_memory
        from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
        from bruxwatch.firmware_host.session import Session
        from bruxwatch.store.night_writer import RecordingWriter
        keep_freed_memory()
        sim = Simulator(SimulatorConfig(scenario="night", duration_s=7200, seed=1, chunk_s=1.0))
        peaks = []
        hour = [-1]
        def hourly(out):
            if out.first_index // 1_800_000 != hour[0]:  # each half hour at 1 kHz
                hour[0] = out.first_index // 1_800_000
                peaks.append(peak_kb())
        store = lambda info: RecordingWriter(Path(tempfile.mkdtemp()) / "n.sqlite", info)
        Session(sim, store=store, subscribers=[hourly]).run(handle_signals=False)
        peaks.append(peak_kb())
        print(peaks)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    peaks_mb = [kb / 1024 for kb in json.loads(result.stdout.strip().splitlines()[-1])]
    assert peaks_mb[-1] < 200, peaks_mb
    assert peaks_mb[-1] - peaks_mb[2] < 30  # the second hour adds (almost) nothing


def test_a_failed_calibration_says_so_where_the_wearer_looks(tmp_path, capsys):
    """Both leads off: no clench shows. The wearer is told it failed, which channel, with
    units, and what to do; never "Calibration recorded". It is led through once more first."""
    device = "sim:scenario=awake,calibrate=1,realtime=0,minutes=2,dead_leads=1/2"
    out = tmp_path / "night.sqlite"
    assert main(["record", "--device", device, "--out", str(out), "--feedback", "bell"]) == 0
    text = capsys.readouterr().out
    assert "Calibration recorded" not in text
    assert text.count("Calibration FAILED: left_masseter: clench level ") >= 2
    assert "Once more, from the start:" in text
    assert text.count("Relax your jaw completely") == 2
    assert " µV is not clearly above rest " in text and "run `bruxwatch calibrate`" in text
    with Recording(out) as rec:
        assert rec.session.calibration is None


def test_an_arduino_night_keeps_its_calibration_in_counts(tmp_path, capsys, any_length_is_a_night):
    """The Arduino sends ADC counts: the calibration and every output say counts, not uV."""
    from bruxwatch.emulated.serial_boards import ArduinoEmulator

    out = tmp_path / "night.sqlite"
    with ArduinoEmulator(speed=8.0, calibrate=True, duration_s=60.0) as emu:
        argv = ["record", "--device", f"arduino:{emu.path}", "--out", str(out), "--duration", "55"]
        assert main([*any_length_is_a_night, *argv, "--feedback", "bell"]) == 0
    text = capsys.readouterr().out
    assert "Calibration recorded: rest " in text and " counts, clench " in text
    assert main(["report", str(out), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["nights"][0]
    assert row["calibration_units"] == "counts" and row["rest"] and "rest_uv" not in row
