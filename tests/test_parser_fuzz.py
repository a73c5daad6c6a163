"""Random and mutated byte streams never break the parsers; valid data after garbage survives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bruxwatch.devices import arduino_protocol as ard
from bruxwatch.devices import cyton_protocol as cyt

garbage = st.binary(max_size=300)
splits = st.lists(st.integers(1, 64), min_size=1, max_size=40)


def feed_in_pieces(feed, data: bytes, sizes: list[int]):
    outputs, pos = [], 0
    for size in sizes * (len(data) // max(1, sum(sizes)) + 1):
        if pos >= len(data):
            break
        outputs.append(feed(data[pos : pos + size]))
        pos += size
    return outputs


@settings(max_examples=200, deadline=None)
@given(noise=garbage, sizes=splits)
def test_random_bytes_never_raise(noise, sizes):
    feed_in_pieces(cyt.CytonParser().feed, noise, sizes)
    feed_in_pieces(ard.FrameParser().feed, noise, sizes)
    feed_in_pieces(ard.TextLineParser().feed, noise, sizes)


@settings(max_examples=150, deadline=None)
@given(noise=garbage, sizes=splits, seed=st.integers(0, 2**16))
def test_cyton_packets_after_garbage_are_all_recovered(noise, sizes, seed):
    counts = np.random.default_rng(seed).integers(-(2**23), 2**23, (12, 8))
    packets = b"".join(cyt.encode_packet(i, c) for i, c in enumerate(counts))
    tail = cyt.encode_packet(12, counts[0])  # confirms the last packet
    parser = cyt.CytonParser()
    decoded = feed_in_pieces(parser.feed, noise + packets + tail, sizes)
    numbers = np.concatenate([d.sample_numbers for d in decoded])
    values = np.concatenate([d.counts for d in decoded], axis=1)
    if numbers.size and numbers[-1] == 12:  # the confirming tail packet itself
        numbers, values = numbers[:-1], values[:, :-1]
    # everything that the parser took from the valid packets is intact and in order
    tail_numbers = numbers[-12:] if numbers.size >= 12 else numbers
    assert list(tail_numbers) == list(range(12 - tail_numbers.size, 12))
    np.testing.assert_array_equal(
        values[:, -tail_numbers.size :].T, counts[12 - tail_numbers.size :]
    )
    assert tail_numbers.size >= 11  # at most the first packet can be swallowed by a false start


@settings(max_examples=150, deadline=None)
@given(noise=garbage, sizes=splits, seed=st.integers(0, 2**16))
def test_arduino_frames_after_garbage_are_all_recovered(noise, sizes, seed):
    rng = np.random.default_rng(seed)
    data = [rng.integers(0, 1024, (2, 10)) for _ in range(8)]
    frames = b"".join(ard.encode_frame(1000 + 10 * i, d) for i, d in enumerate(data))
    parser = ard.FrameParser()
    decoded = feed_in_pieces(parser.feed, noise + frames, sizes)
    got = [(first, counts) for d in decoded for first, counts in d.frames if first >= 1000]
    assert [first for first, _ in got] == [1000 + 10 * i for i in range(8)]
    for (_, counts), expected in zip(got, data, strict=True):
        np.testing.assert_array_equal(counts, expected)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**16), flips=st.integers(1, 6))
def test_mutated_frames_never_pass_as_different_data(seed, flips):
    rng = np.random.default_rng(seed)
    data = [rng.integers(0, 4096, (1, 16)) for _ in range(6)]
    stream = bytearray(b"".join(ard.encode_frame(16 * i, d) for i, d in enumerate(data)))
    for _ in range(flips):
        stream[int(rng.integers(len(stream)))] ^= int(rng.integers(1, 256))
    out = ard.FrameParser().feed(bytes(stream))
    for first, counts in out.frames:  # the CRC lets nothing altered through
        assert first % 16 == 0 and first // 16 < 6
        np.testing.assert_array_equal(counts, data[first // 16])
