"""Lab Streaming Layer over loopback in one process: the session's envelope and events come
out of the outlets intact, and an LSL stream is a device with its lost samples as gaps."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl")

from bruxwatch.devices.lsl_inlet import LslInlet  # noqa: E402
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig  # noqa: E402
from bruxwatch.firmware_host.feedback import FeedbackRecord  # noqa: E402
from bruxwatch.firmware_host.lsl_outlet import LslPublisher, event_text  # noqa: E402
from bruxwatch.signal import Pipeline  # noqa: E402


def unique(name: str) -> str:
    return f"{name}-{os.getpid()}-{time.monotonic_ns() % 10**6}"


def open_inlet(name: str):
    found = pylsl.resolve_byprop("name", name, timeout=10)
    assert found, name
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(timeout=10)
    return inlet


def pull_all(inlet, expected: int, timeout_s: float = 10.0):
    samples, deadline = [], time.monotonic() + timeout_s
    while len(samples) < expected and time.monotonic() < deadline:
        chunk, _ = inlet.pull_chunk(timeout=0.2)
        samples.extend(chunk)
    return samples


def test_session_envelope_and_events_reach_an_inlet():
    sim = Simulator(
        SimulatorConfig(scenario="awake", duration_s=60, seed=5, episodes_per_hour=240, chunk_s=0.1)
    )
    name = unique("bwtest")
    publisher = LslPublisher(sim.info, name)
    envelope_in = open_inlet(f"{name}-envelope")
    events_in = open_inlet(f"{name}-events")
    labels = envelope_in.info().desc().child("channels").child("channel")
    assert labels.child_value("label") == "left_masseter"
    time.sleep(0.3)
    pipeline = Pipeline(sim.info)
    sent, texts = [], []
    for chunk in sim.chunks():
        out = pipeline.process(chunk)
        publisher.push(out)
        sent.append(np.vstack((out.envelope, out.level[None, :])).T)
        texts += [t for t in (event_text(e, sim.info.channels) for e in out.events) if t]
    publisher.feedback(FeedbackRecord(100, 0.1, True, "vibrate", 180, 300, 3.0, "clench"))
    publisher.feedback(FeedbackRecord(200, 0.2, False, "none", 180, 300, None, "baseline"))
    texts += ["feedback_given", "feedback_held baseline"]
    sent = np.vstack(sent).astype(np.float32)
    received = np.asarray(pull_all(envelope_in, sent.shape[0]), dtype=np.float32)
    np.testing.assert_array_equal(received, sent)
    markers = [m[0] for m in pull_all(events_in, len(texts))]
    assert markers == texts
    assert any(t.startswith("episode_end") for t in markers)


def test_an_lsl_stream_is_a_device_and_dropped_samples_are_gaps():
    name = unique("bwsource")
    fs = 500.0
    info = pylsl.StreamInfo(name, "EMG", 3, fs, "float32", name)
    channels = info.desc().append_child("channels")
    for label in ("EXG1", "EXG2", "EXG3"):
        channels.append_child("channel").append_child_value("label", label)
    outlet = pylsl.StreamOutlet(info)
    device = LslInlet(name, channels=(1, 3), timeout_s=10)
    assert device.info.channels == ("EXG1", "EXG3") and device.info.fs == fs
    data = np.arange(3 * 2000, dtype=np.float32).reshape(2000, 3)
    stamps = pylsl.local_clock() + np.arange(2000) / fs
    keep = np.ones(2000, dtype=bool)
    keep[1000:1050] = False  # 50 samples the amplifier never sent

    def send():
        time.sleep(0.5)
        for a in range(0, 2000, 100):
            part = keep[a : a + 100]
            if part.any():
                outlet.push_chunk(data[a : a + 100][part], list(stamps[a : a + 100][part]))
            time.sleep(0.01)

    sender = threading.Thread(target=send)
    sender.start()
    got, first_indices, missing = [], [], 0
    for chunk in device.chunks():
        got.append(chunk.samples)
        first_indices.append(chunk.first_index)
        missing += chunk.missing_before
        if sum(c.shape[1] for c in got) >= keep.sum():
            device.close()
    sender.join()
    samples = np.hstack(got)
    np.testing.assert_array_equal(samples, data[keep][:, [0, 2]].T)
    assert missing == 50  # the timestamps show the hole; indices jump over it
    assert first_indices[-1] + got[-1].shape[1] == 2000


@pytest.mark.parametrize("lost", [0, 75], ids=["pause", "loss"])
def test_a_sender_without_timestamps_that_pauses_loses_nothing(lost):
    """The OpenBCI GUI pushes samples without timestamps: liblsl stamps each when it is
    pushed, so a 300-ms pause of the sender looks like a hole until the late samples rush in.
    Only samples that never came are a gap; the index does not drift."""
    name = unique("bwnostamp")
    fs = 250.0
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EMG", 1, fs, "float32", name))
    device = LslInlet(name, timeout_s=10)
    n = 1500
    values = np.arange(n, dtype=np.float32)
    keep = np.ones(n, dtype=bool)
    keep[500 : 500 + lost] = False  # or 75 samples the board never sent, without a pause

    def send():
        start = time.monotonic() + 0.5
        resume = start + 500 / fs + 0.3  # the sender pauses 300 ms at sample 500 ...
        for k in range(0, n, 5):  # 20-ms pushes of 5 samples, stamped when pushed
            due = start + (k + 5) / fs
            if not lost and k >= 500:
                due = max(due, resume)  # ... then pushes what the board sent meanwhile at once
            time.sleep(max(0.0, due - time.monotonic()))
            part = keep[k : k + 5]
            if part.any():
                outlet.push_chunk(values[k : k + 5][part][:, None].tolist())

    sender = threading.Thread(target=send)
    sender.start()
    chunks = []
    for chunk in device.chunks():
        chunks.append(chunk)
        if sum(c.n for c in chunks) >= keep.sum():
            device.close()
    sender.join()
    assert sum(c.missing_before for c in chunks) == pytest.approx(lost, abs=3)
    got = np.hstack([c.samples[0] for c in chunks])
    np.testing.assert_array_equal(got, values[keep])
    index = np.concatenate([np.arange(c.first_index, c.end_index) for c in chunks])
    assert abs(int(index[-1]) - (n - 1)) <= 3  # no drift
