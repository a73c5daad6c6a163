"""The recorder end to end: the Arduino emulator's pty → session → store, feedback and the
motor; crash safety with SIGKILL, clean SIGTERM, an unplug mid-recording."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bruxwatch.devices.arduino import ArduinoBoard
from bruxwatch.emulated.pty_board import Faults
from bruxwatch.emulated.serial_boards import ArduinoEmulator
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.firmware_host.actuators import MotorActuator
from bruxwatch.firmware_host.feedback import FeedbackConfig
from bruxwatch.firmware_host.session import Session
from bruxwatch.signal.calibration import PROTOCOL
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import Chunk


def record_emulated(tmp_path, mode: str, seconds: float = 150.0):
    with ArduinoEmulator(scenario="awake", seed=7, speed=5.0) as emu:
        board = ArduinoBoard(emu.path)
        path = tmp_path / f"{mode}.sqlite"
        session = Session(
            board,
            store=lambda info: RecordingWriter(path, info, mode=mode),
            feedback=FeedbackConfig(mode=mode),
            actuators=[MotorActuator(board)],
        )
        result = session.run(duration_s=seconds, handle_signals=False)
        time.sleep(0.2)
        return emu, result, Recording(path)


def test_feedback_night_buzzes_clenches_not_swallows(tmp_path):
    emu, result, rec = record_emulated(tmp_path, "feedback")
    fired = [f for f in rec.feedback() if f.fired]
    assert fired and len(emu.vibrations) == len(fired) == result.status.feedback_fired
    assert all(v == (300, f.strength) for v, f in zip(emu.vibrations, fired, strict=True))
    truth = emu.sim.truth
    fs = 1000.0
    for f in fired:  # each buzz falls inside a scripted clench, never a swallow or twitch
        t = f.trigger_index / fs
        inside = [a for a in truth.activations if a.start_s - 0.2 <= t <= a.end_s + 0.3]
        assert inside and inside[0].kind in ("phasic", "tonic", "mixed"), (t, inside)
    firsts = [f.trigger_index for f in fired if f.reason == "clench"]
    assert all(b - a >= 10 * fs for a, b in zip(firsts, firsts[1:], strict=False))
    assert all(f.latency_ms is not None and f.latency_ms < 1000 for f in fired)
    assert rec.session.status == "finished" and rec.n_samples >= int(150 * fs)
    rec.close()


def test_baseline_night_logs_but_never_buzzes(tmp_path):
    emu, result, rec = record_emulated(tmp_path, "baseline")
    logged = rec.feedback()
    assert logged and not any(f.fired for f in logged) and emu.vibrations == []
    assert all(f.reason.startswith("baseline") for f in logged)
    assert rec.session.mode == "baseline"
    rec.close()


def test_an_unplug_leaves_a_gap_and_the_recording_goes_on(tmp_path):
    faults = Faults(vanish_at_s=2.0, vanish_for_s=2.0)
    with ArduinoEmulator(speed=1.0, faults=faults) as emu:
        board = ArduinoBoard(emu.path)
        path = tmp_path / "unplug.sqlite"
        session = Session(board, store=lambda info: RecordingWriter(path, info))
        session.run(duration_s=7.0, handle_signals=False)
    with Recording(path) as rec:
        gaps = rec.gaps()
        assert len(gaps) == 1 and 2.0 <= gaps[0][1] / 1000 <= 4.0
        assert rec.session.status == "finished" and rec.end_index >= 7000


def test_guided_calibration_on_the_simulator(tmp_path):
    sim = Simulator(
        SimulatorConfig(
            scenario="night", duration_s=120, seed=3, calibrate=True, episodes_per_hour=120
        )
    )
    prompts: list[str] = []
    path = tmp_path / "cal.sqlite"
    session = Session(
        sim,
        store=lambda info: RecordingWriter(path, info),
        calibrate=PROTOCOL,
        on_prompt=prompts.append,
    )
    session.run(handle_signals=False)
    assert len(prompts) == 8 and "CLENCH" in prompts[1]
    cal = session.calibration
    assert cal is not None and all(200 < m < 300 for m in np.asarray(cal.mvc) / 0.85)
    with Recording(path) as rec:
        assert rec.session.calibration == cal
        assert rec.session.config["calibration_s"] == [0.0, PROTOCOL.end_s]
        assert all(e["start_index"] / 1000 >= PROTOCOL.end_s for e in rec.episodes())
        assert rec.n_samples == 120_000


def start_recorder(out, *extra) -> subprocess.Popen:
    spec = "sim:scenario=awake,seed=2,episodes_per_hour=100"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bruxwatch.cli",
            "record",
            "--device",
            spec,
            "--out",
            str(out),
            "--no-calibrate",
            "--feedback",
            "bell",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_samples(path, samples: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            try:
                with Recording(path) as rec:
                    if rec.n_samples >= samples:
                        return
            except Exception:
                pass
        time.sleep(0.1)
    raise AssertionError("the recorder wrote nothing")


def test_sigkill_loses_at_most_the_last_second(tmp_path):
    out = tmp_path / "killed.sqlite"
    proc = start_recorder(out)
    wait_for_samples(out, 1000)  # streaming has begun (1 kHz, real time)
    started = time.monotonic() - 1.0
    time.sleep(3.0)
    streamed = (time.monotonic() - started) * 1000
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    with Recording(out) as rec:
        assert rec.integrity_ok()
        assert rec.session.status == "interrupted"
        assert rec.n_samples >= streamed - 1000 - 300  # at most ~1 s lost (+ scheduling slack)
        values, index = rec.samples()
        assert np.array_equal(index, np.arange(index.size))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_finish_cleanly(tmp_path, sig):
    out = tmp_path / "stopped.sqlite"
    proc = start_recorder(out)
    wait_for_samples(out, 1000)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and f"signal {sig.name}" in stdout and str(out) in stdout
    with Recording(out) as rec:
        assert rec.session.status == "finished" and sig.name in rec.session.end_reason


class GoesSilent:
    """A source that sends 2 s of samples, then nothing, ever (a board that never comes
    back), telling of it through on_notice like the serial and BLE links do."""

    def __init__(self) -> None:
        self.sim = Simulator(SimulatorConfig(scenario="awake", duration_s=2.0, seed=1))
        self.info = self.sim.info
        self.on_notice = lambda text: None
        self._closed = False

    def chunks(self):
        yield from self.sim.chunks()
        self.on_notice("test board: no data for 2 s; restarting the board")
        while not self._closed:
            time.sleep(0.05)

    def close(self) -> None:
        self._closed = True


def test_duration_is_kept_when_the_board_never_comes_back(tmp_path):
    session = Session(GoesSilent(), store=lambda info: RecordingWriter(tmp_path / "n.sqlite", info))
    heard = []
    session.notice_listeners.append(lambda at_s, text: heard.append((at_s, text)))
    started = time.monotonic()
    result = session.run(duration_s=5.0, handle_signals=False)
    assert time.monotonic() - started < 10
    assert result.reason.startswith("duration reached (no data from the device")
    assert heard and heard[0][1].endswith("restarting the board")
    assert result.status.link.endswith("restarting the board")
    with Recording(tmp_path / "n.sqlite") as night:
        rows = night.db.execute("SELECT data FROM events WHERE kind='Notice'").fetchall()
        assert rows and "restarting the board" in rows[0][0]
        assert night.n_samples == 2000


def test_a_source_faster_than_real_time_records_exactly_the_duration(tmp_path):
    device = Simulator(SimulatorConfig(scenario="awake", duration_s=60, seed=2, chunk_s=0.37))
    session = Session(device, store=lambda info: RecordingWriter(tmp_path / "n.sqlite", info))
    session.run(duration_s=10.0, handle_signals=False)
    with Recording(tmp_path / "n.sqlite") as night:
        assert night.n_samples == 10_000


class ClenchesOnTheSecondTry:
    """A wearer whose leads are off for the first calibration (37 s of nothing), then
    fixed: the second pass of the sequence has rest and three clenches on time."""

    def __init__(self) -> None:
        off = SimulatorConfig(
            scenario="awake", duration_s=PROTOCOL.end_s, seed=3, dead_leads=(1, 2)
        )
        self.first = Simulator(off)
        self.second = Simulator(
            SimulatorConfig(scenario="awake", duration_s=90.0, seed=4, calibrate=True)
        )
        self.info = self.second.info

    def chunks(self):
        yield from self.first.chunks()
        shift = int(round(PROTOCOL.end_s * self.info.fs))
        for chunk in self.second.chunks():
            yield Chunk(chunk.first_index + shift, chunk.samples)

    def close(self) -> None:
        pass


def test_a_failed_calibration_is_tried_once_more_and_the_clock_runs_on(tmp_path):
    prompts: list[tuple[float, str]] = []
    session = Session(
        ClenchesOnTheSecondTry(),
        calibrate=PROTOCOL,
        store=lambda info: RecordingWriter(tmp_path / "n.sqlite", info),
    )
    session.on_prompt = lambda text: prompts.append((session.status.seconds, text))
    result = session.run(duration_s=120.0, handle_signals=False)
    texts = [text for _, text in prompts]
    failed = [k for k, text in enumerate(texts) if text.startswith("Calibration FAILED")]
    assert len(failed) == 1 and texts[failed[0]].endswith("Once more, from the start:")
    assert texts.count(PROTOCOL.prompts()[0][1]) == 2  # the sequence was led twice
    assert texts[-1].startswith("Calibration recorded: rest ")
    assert session.calibration is not None and session.calibration_error is None
    times = [at for at, _ in prompts]
    assert times == sorted(times) and times[-1] >= 2 * PROTOCOL.end_s  # no clock restart
    assert result.status.seconds == pytest.approx(120.0, abs=0.05)
    with Recording(tmp_path / "n.sqlite") as night:
        assert night.session.calibration is not None
        assert night.session.config["calibration_s"] == [0.0, 2 * PROTOCOL.end_s]


def test_a_calibration_that_fails_twice_goes_on_uncalibrated(tmp_path):
    device = Simulator(
        SimulatorConfig(scenario="awake", duration_s=100.0, seed=3, dead_leads=(1, 2))
    )
    prompts: list[str] = []
    session = Session(device, calibrate=PROTOCOL, on_prompt=prompts.append)
    session.run(duration_s=100.0, handle_signals=False)
    outcomes = [text for text in prompts if text.startswith("Calibration FAILED")]
    assert len(outcomes) == 2
    assert outcomes[0].endswith("Once more, from the start:")
    assert "adaptive background" in outcomes[1]
    assert session.calibration is None and session.pipeline is not None
