"""The device x command matrix, end to end as a user runs it: every kind of source the README
names (the simulator, a replay of each importable format, the Cyton, the Arduino firmware, a
plain sketch in each Serial Plotter form and SparkFun's MyoWare example, the emulated Ganglion
and BLE board, an LSL stream) through `bruxwatch stream`, `record` and `live --screenshot`,
with faults on where the source has them, for at least 30 s of stream each (emulators run
8x real time). Every recording must account for its stream exactly (stored samples + recorded
gaps = stream time), no command may print a traceback, and every night must analyze."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bruxwatch.cli import main
from bruxwatch.emulated.pty_board import Faults
from bruxwatch.emulated.serial_boards import (
    TEXT_FORMS,
    ArduinoEmulator,
    CytonEmulator,
    MyoWareSketchEmulator,
)
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk, StreamInfo
from tests.test_import_times_and_names import write_gui
from tests.test_importers import write_bdf

SECONDS = 30
SPEED = 8.0
SERIAL_FAULTS = "drop=0.005,corrupt=0.005,duplicate=0.003,junk=0.003,garbage=0.003,seed=2"


# ------------------------------------------------------------------------ files to replay
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A 45-s, 250-Hz simulated recording in every format bruxwatch imports."""
    folder = tmp_path_factory.mktemp("matrix-files")
    fs, seconds = 250.0, 45
    sim = Simulator(
        SimulatorConfig(scenario="awake", duration_s=seconds, fs=fs, seed=8, episodes_per_hour=300)
    )
    x = sim.generate().astype(np.float64)
    n = x.shape[1]
    out: dict[str, Path] = {}
    night = folder / "night.sqlite"
    writer = RecordingWriter(night, StreamInfo(fs=fs, channels=sim.info.channels))
    writer.append(Chunk(0, x[:, :5000].astype(np.float32)))
    writer.append(Chunk(5040, x[:, 5040:].astype(np.float32), missing_before=40))
    writer.finish()
    out["night"] = night
    edf = folder / "night.edf"
    run_cli("export", str(night), "--edf", str(edf), "--quiet")
    out["edf"] = edf
    bdf = write_bdf(folder / "lab.bdf", x, fs, physical=5000.0)
    out["bdf"] = bdf
    eight = np.vstack((x, np.zeros((6, n))))
    for version, zero_row in (("gui-v5", True), ("gui-v6", False)):
        path = folder / f"OpenBCI-RAW-{version}.txt"
        write_gui(path, eight, zero_row=zero_row, drop=slice(3000, 3003))
        out[version] = path
    data = np.zeros((24, n))
    data[0] = np.arange(n) % 256
    data[1:9] = eight
    data[22] = 1_764_021_600.0 + np.arange(n) / fs
    keep = np.ones(n, dtype=bool)
    keep[7000:7002] = False
    brainflow = folder / "brainflow.csv"
    np.savetxt(brainflow, data[:, keep].T, fmt="%f", delimiter="\t")
    out["brainflow"] = brainflow
    csv = folder / "plain.csv"
    t = np.arange(n) / fs
    np.savetxt(
        csv, np.column_stack((t, x.T)), fmt="%.5f", delimiter=",", header="time,L,R", comments=""
    )
    out["csv"] = csv
    return out


# ------------------------------------------------------------------------------ sources
class LslSender:
    """An amplifier app on LSL: 250 Hz, 2 channels, pushed at SPEED x real time with its own
    timestamps, 50 samples never sent after 10 s of stream."""

    def __init__(self, name: str) -> None:
        import pylsl

        self.fs = 250.0
        info = pylsl.StreamInfo(name, "EMG", 2, self.fs, "float32", name)
        self.outlet = pylsl.StreamOutlet(info)
        sim = Simulator(SimulatorConfig(scenario="awake", duration_s=120, fs=self.fs, seed=4))
        self.x = sim.generate()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)
        self._thread.start()

    def _send(self) -> None:
        import pylsl

        t0 = pylsl.local_clock()
        step = 25  # 0.1 s of stream per push
        started = time.monotonic()
        for a in range(0, self.x.shape[1], step):
            if self._stop.is_set():
                return
            index = np.arange(a, a + step)
            index = index[(index < 2500) | (index >= 2550)]
            if index.size:
                self.outlet.push_chunk(self.x[:, index].T.tolist(), list(t0 + index / self.fs))
            due = started + (a + step) / self.fs / SPEED
            time.sleep(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def start_source(kind: str, files: dict[str, Path], stack: contextlib.ExitStack) -> str:
    """A device spec for one command: serial sources get an emulator of their own."""
    if kind == "sim":
        return "sim:scenario=awake,seed=3,realtime=0,minutes=1,episodes_per_hour=120"
    if kind.startswith("replay-"):
        return f"replay:{files[kind[7:]]}?speed={SPEED:g}"
    if kind == "cyton":
        emu = stack.enter_context(CytonEmulator(speed=SPEED, faults=Faults.parse(SERIAL_FAULTS)))
        return f"cyton:{emu.path}"
    if kind == "arduino":
        faults = Faults.parse("drop=0.005,corrupt=0.005,garbage=0.005,seed=3")
        emu = stack.enter_context(ArduinoEmulator(speed=SPEED, faults=faults))
        return f"arduino:{emu.path}"
    if kind.startswith("text-"):
        emu = stack.enter_context(ArduinoEmulator(speed=SPEED, text=kind[5:]))
        return f"arduino-text:{emu.path}?fs=1000"
    if kind == "myoware":
        emu = stack.enter_context(MyoWareSketchEmulator(speed=SPEED))
        return f"arduino-text:{emu.path}?fs=20"
    if kind in ("ganglion", "ble"):
        return f"{kind}:emulated?speed={SPEED:g}"
    raise AssertionError(kind)


SOURCES = [
    "sim",
    *(f"replay-{k}" for k in ("night", "edf", "bdf", "gui-v5", "gui-v6", "brainflow", "csv")),
    "cyton",
    "arduino",
    *(f"text-{form}" for form in TEXT_FORMS),
    "myoware",
    "ganglion",
    "ble",
    "lsl",
]


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> None:
    subprocess.run(
        [sys.executable, "-m", "bruxwatch.cli", *args],
        check=True,
        env=env,
        timeout=timeout,
        capture_output=True,
    )


def environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    return env


def check_night(path: Path, exact_s: float | None) -> None:
    with Recording(path) as night:
        assert night.integrity_ok()
        first = night.db.execute("SELECT MIN(first_index) FROM blocks").fetchone()[0]
        missing = sum(m for _, m in night.gaps())
        span = night.end_index - first
        assert night.n_samples + missing == span  # stored + recorded gaps = stream time
        fs = night.info.fs
        if exact_s is not None:
            assert span == round(exact_s * fs), (span, fs)
        else:
            assert span >= SECONDS * fs, (span, fs)
    assert main(["analyze", str(path), "--json", "--quiet"]) == 0


@pytest.mark.parametrize("kind", SOURCES)
def test_stream_record_and_live_on_every_source(kind, files, tmp_path, capsys):
    env = environment(tmp_path)
    wall = SECONDS / SPEED + 1.5
    with contextlib.ExitStack() as stack:
        sender = None
        if kind == "lsl":
            pytest.importorskip("pylsl")
            name = f"bwmatrix-{os.getpid()}-{time.monotonic_ns() % 10**6}"
            sender = LslSender(name)
            stack.callback(sender.stop)
        commands = {
            "stream": ["stream", "{spec}", "--seconds", str(SECONDS)],
            "record": [
                "record",
                "--device",
                "{spec}",
                "--duration",
                f"{SECONDS}s",
                "--no-calibrate",
                "--mode",
                "baseline",
                "--out",
                str(tmp_path / "record.sqlite"),
            ],
            "live": [
                "live",
                "--device",
                "{spec}",
                "--screenshot",
                str(tmp_path / "live.png"),
                "--seconds",
                f"{wall:g}",
                "--mode",
                "baseline",
                "--out",
                str(tmp_path / "live.sqlite"),
            ],
        }
        running = {}
        for command, args in commands.items():
            spec = f"lsl:{name}" if kind == "lsl" else start_source(kind, files, stack)
            argv = [sys.executable, "-m", "bruxwatch.cli"] + [a.format(spec=spec) for a in args]
            running[command] = subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        outputs = {}
        for command, process in running.items():
            try:
                out, err = process.communicate(timeout=150)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                pytest.fail(f"{command} on {kind} did not finish: {out[-500:]} {err[-500:]}")
            outputs[command] = (process.returncode, out, err)
    for command, (code, out, err) in outputs.items():
        assert code == 0, (command, out[-800:], err[-800:])
        assert "Traceback" not in out + err, (command, err)
    stream_out = outputs["stream"][1]
    assert f"t={SECONDS:4d}s" in stream_out, stream_out[-500:]
    assert "stopped: duration reached" in outputs["record"][1]
    check_night(tmp_path / "record.sqlite", exact_s=SECONDS)
    check_night(tmp_path / "live.sqlite", exact_s=None)
    assert '"summary"' in capsys.readouterr().out
    screenshot = tmp_path / "live.png"
    assert screenshot.stat().st_size > 10_000


@pytest.mark.parametrize("kind", SOURCES)
def test_the_electrode_check_on_every_source(kind, files, tmp_path):
    """`bruxwatch check` reads 17 s of whatever the source sends and gives each electrode a
    verdict (exit 1 when one is bad: these sources do not clench on cue)."""
    with contextlib.ExitStack() as stack:
        if kind == "lsl":
            pytest.importorskip("pylsl")
            name = f"bwcheck-{os.getpid()}-{time.monotonic_ns() % 10**6}"
            sender = LslSender(name)
            stack.callback(sender.stop)
            spec = f"lsl:{name}"
        else:
            spec = start_source(kind, files, stack)
        done = subprocess.run(
            [sys.executable, "-m", "bruxwatch.cli", "check", "--device", spec],
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=150,
        )
    assert done.returncode in (0, 1), (done.stdout[-800:], done.stderr[-800:])
    assert "Traceback" not in done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("Electrode check: relax your jaw"), out[-500:]
    assert re.search(r"^  .+: (GOOD|FAIR|BAD)", out, re.MULTILINE), out[-500:]
    assert ("electrodes ready" in out) == (done.returncode == 0)
