"""Auxiliary streams beside the EMG (bruxwatch.stream): a device may deliver, say, an
accelerometer at 25 Hz among its EMG chunks. The session stores those chunks beside the EMG
and hands them to its `aux_listeners`, in order, both up to --duration, and records and
scores the EMG exactly as without them."""

from __future__ import annotations

import numpy as np

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.firmware_host.session import Session
from bruxwatch.store.night_writer import RecordingWriter
from bruxwatch.store.recording import Recording
from bruxwatch.stream import EMG, Chunk, StreamInfo

ACCEL = StreamInfo(fs=25.0, channels=("x", "y", "z"), units="g", kind="aux", device="accel")


class WithAccelerometer:
    """The simulator, with a 3-axis accelerometer chunk (25 Hz) after every 40 ms of EMG."""

    def __init__(self, seed: int) -> None:
        self.emg = Simulator(SimulatorConfig(scenario="awake", duration_s=30.0, seed=seed))
        self.info = self.emg.info
        self.aux_streams = {"accel": ACCEL}
        self.sent: list[Chunk] = []

    def chunks(self):
        index = 0
        for k, chunk in enumerate(self.emg.chunks()):
            yield chunk
            if k % 4 == 3:
                axes = np.full((3, 1), float(index), dtype=np.float32)
                self.sent.append(Chunk(index, axes, stream="accel"))
                yield self.sent[-1]
                index += 1

    def close(self) -> None:
        self.emg.close()


def record(device, path):
    session = Session(device, store=lambda info: RecordingWriter(path, info))
    heard: list[Chunk] = []
    session.aux_listeners.append(heard.append)
    session.run(duration_s=20.0, handle_signals=False)
    with Recording(path) as night:
        values, _ = night.samples()
        return heard, values, night.episodes(), night.end_index


def test_aux_chunks_reach_their_listeners_and_leave_the_emg_as_it_was(tmp_path):
    device = WithAccelerometer(seed=5)
    heard, values, episodes, end = record(device, tmp_path / "with.sqlite")
    plain = Simulator(SimulatorConfig(scenario="awake", duration_s=30.0, seed=5))
    _, plain_values, plain_episodes, plain_end = record(plain, tmp_path / "plain.sqlite")
    assert end == plain_end == 20_000  # --duration counts the EMG only
    np.testing.assert_array_equal(values, plain_values)
    assert episodes == plain_episodes
    assert heard and all(c.stream == "accel" for c in heard)
    assert [c.first_index for c in heard] == list(range(len(heard)))  # in order, none lost
    assert all(a is b for a, b in zip(heard, device.sent, strict=False))
    assert len(heard) == 20 * 25  # up to --duration, as the EMG
    with Recording(tmp_path / "with.sqlite") as night:
        stored, index = night.aux_samples("accel")
    np.testing.assert_array_equal(index, np.arange(500))
    np.testing.assert_array_equal(stored[0], index.astype(np.float32))  # stored as sent
    assert Chunk(0, np.zeros((1, 1))).stream == EMG  # a chunk is EMG unless it says
