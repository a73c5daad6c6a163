"""A recorder with feedback reads the board in long windows at rest (few wake-ups, little
CPU all night) and in short ones while a clench may earn a buzz: every buzz is decided from a
short read, so it is not late. Modelled in sample time: each read is as long as the read
window is once the chunk before has been handled (the serial link's wait ends when the
window is cut, checked on the Arduino emulator below)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.firmware_host.feedback import FeedbackConfig, FeedbackRecord
from bruxwatch.firmware_host.session import (
    MAX_IDLE_WINDOW_S,
    Session,
    resting_read_window,
)
from bruxwatch.signal import Calibration, SignalConfig
from bruxwatch.signal.pipeline import processing_delay
from bruxwatch.stream import Chunk, StreamInfo

CALIBRATION = Calibration(rest=(2.4, 2.4), mvc=(220.0, 220.0))


class PacedBoard:
    """A serial board in sample time: each read brings `read_window_s` of samples."""

    max_ahead_chunks = 1

    def __init__(self, sim: Simulator) -> None:
        self.info: StreamInfo = sim.info
        self.read_window_s = 0.01
        self._x = sim.generate()
        self.reads: list[tuple[int, int]] = []  # (first index, samples) of each read

    def chunks(self) -> Iterator[Chunk]:
        fs, pos, n = self.info.fs, 0, self._x.shape[1]
        while pos < n:  # max_ahead_chunks = 1: here once the chunk before has been handled
            chunk = Chunk(pos, self._x[:, pos : pos + round(self.read_window_s * fs)])
            self.reads.append((pos, chunk.n))
            pos += chunk.n
            yield chunk

    def close(self) -> None:
        pass


def paced_night(onset_delay_s: float, idle_window_s: float | None = None):
    sim = Simulator(
        SimulatorConfig(scenario="awake", duration_s=600, seed=11, episodes_per_hour=120)
    )
    board = PacedBoard(sim)
    session = Session(
        board,
        calibration=CALIBRATION,
        feedback=FeedbackConfig(onset_delay_s=onset_delay_s, refractory_s=2.0),
        idle_window_s=idle_window_s,
    )
    decisions: list[FeedbackRecord] = []
    session.feedback_listeners.append(decisions.append)
    session.run(handle_signals=False)
    return board, decisions, session


def read_holding(board: PacedBoard, index: int) -> int:
    """Samples in the read that brought sample `index`."""
    return next(n for first, n in board.reads if first <= index < first + n)


@pytest.mark.parametrize("onset_delay_s", [0.3, 0.5, 1.0])
def test_every_buzz_is_decided_from_a_short_read(onset_delay_s):
    board, decisions, session = paced_night(onset_delay_s)
    fs = board.info.fs
    delay = processing_delay(fs, "raw", SignalConfig())  # the chain hands samples on late
    resting = resting_read_window(onset_delay_s, 0.01)
    assert session.idle_window_s == resting == min(MAX_IDLE_WINDOW_S, onset_delay_s - 0.1)
    assert len(decisions) >= 5
    for record in decisions:  # the trigger is scored once `delay` samples after it came
        assert read_holding(board, record.trigger_index + delay) == round(0.01 * fs)
    sizes = [n for _, n in board.reads]
    assert sizes.count(round(resting * fs)) * resting > 0.5 * 600  # most of the time at rest


def test_a_resting_read_longer_than_the_onset_delay_makes_buzzes_late():
    """The control: reads of 0.6 s at rest with a 0.5-s onset delay decide some buzzes from
    a long read, up to 0.6 s late."""
    board, decisions, _ = paced_night(0.5, idle_window_s=0.6)
    delay = processing_delay(board.info.fs, "raw", SignalConfig())
    late = [r for r in decisions if read_holding(board, r.trigger_index + delay) > 10]
    assert decisions and late


def test_the_live_window_reads_five_times_a_second_at_rest():
    from bruxwatch.cli.record import LIVE_READ_WINDOW_S

    assert LIVE_READ_WINDOW_S == 0.2 < resting_read_window(0.5, 0.01)


def test_cutting_the_window_ends_a_long_wait_on_the_serial_link():
    """A read waiting out an hour-long window returns once the window is cut."""
    import threading

    from bruxwatch.devices.arduino import ArduinoBoard
    from bruxwatch.emulated.serial_boards import ArduinoEmulator

    with ArduinoEmulator(scenario="awake", seed=2) as emu:
        board = ArduinoBoard(emu.path)
        board.read_window_s = 3600.0
        got: list[Chunk] = []
        reader = threading.Thread(target=lambda: got.append(next(iter(board.chunks()))))
        reader.start()
        reader.join(0.5)
        board.read_window_s = 0.01
        reader.join(60)
        board.close()
        assert not reader.is_alive() and got and got[0].n > 0
