"""The OpenBCI Cyton wire protocol (through the USB dongle), from OpenBCI's "Cyton Data Format"
and "Cyton SDK" documents. Pure bytes in, numbers out: no I/O here.

Stream packet, 33 bytes:
    0      0xA0 header
    1      sample number 0-255 (wraps)
    2-25   8 channels × 24-bit signed, big-endian (MSB first), ADS1299 counts
    26-31  6 aux bytes (with stop byte 0xC0: accelerometer X, Y, Z as 16-bit signed, big-endian)
    32     stop byte 0xC0-0xC6 (0xC0 = accelerometer; others carry raw aux / time stamps)
µV per count = 4.5 V / gain / (2^23 − 1) × 1e6 (0.02235 at the default gain of 24).
The LIS3DH accelerometer is read at 25 Hz: a packet with stop byte 0xC0 carries a new X, Y, Z
reading when its aux bytes are not all zero (about one packet in ten), zeros otherwise;
g per count = 0.002 / 2^4.

Commands (single ASCII characters): `s` stop, `b` start streaming, `v` soft reset (the board
answers with text ending in `$$$`; through a dongle whose board is off the answer contains
"Failure"), `d` default channel settings, and `x CHANNEL POWER GAIN INPUT BIAS SRB2 SRB1 X` to
set one channel (channels '1'-'8'; gain codes 0-6 = 1, 2, 4, 6, 8, 12, 24).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BAUD = 115200
FS = 250.0
N_CHANNELS = 8
PACKET_SIZE = 33
HEADER = 0xA0
STOP_BYTES = frozenset(range(0xC0, 0xC7))
EOT = b"$$$"
VREF = 4.5
FULL_SCALE = 2**23 - 1
GAINS = (1, 2, 4, 6, 8, 12, 24)
DEFAULT_GAIN = 24
ACCEL_G_PER_COUNT = 0.002 / 16  # g per count of the LIS3DH accelerometer as OpenBCI sets it
ACCEL_FS = 25.0
"""How often (Hz) the board reads its accelerometer."""
ACCEL_STOP = 0xC0
"""The stop byte that says the aux bytes are the accelerometer's."""


def uv_per_count(gain: int) -> float:
    """Scale factor from ADS1299 counts to µV at a channel gain."""
    if gain not in GAINS:
        raise ValueError(f"Cyton gain must be one of {GAINS}, got {gain}")
    return VREF / gain / FULL_SCALE * 1e6


def channel_command(
    channel: int,
    gain: int = DEFAULT_GAIN,
    *,
    power_on: bool = True,
    input_type: int = 0,
    bias: bool = True,
    srb2: bool = True,
    srb1: bool = False,
) -> bytes:
    """The `x…X` channel-settings command for channel 1-8 (input type 0 = normal electrode)."""
    if not 1 <= channel <= N_CHANNELS:
        raise ValueError(f"Cyton channel must be 1-{N_CHANNELS}, got {channel}")
    if not 0 <= input_type <= 7:
        raise ValueError(f"input type must be 0-7, got {input_type}")
    fields = (
        str(channel),
        "0" if power_on else "1",
        str(GAINS.index(gain)),
        str(input_type),
        "1" if bias else "0",
        "1" if srb2 else "0",
        "1" if srb1 else "0",
    )
    return ("x" + "".join(fields) + "X").encode("ascii")


@dataclass
class CytonPackets:
    """Decoded packets: sample numbers (k,), counts (8, k) int32, the aux bytes as three
    int16 (3, k), and each packet's stop byte (k,) uint8."""

    sample_numbers: np.ndarray
    counts: np.ndarray
    accel: np.ndarray
    stops: np.ndarray

    @property
    def new_accel(self) -> np.ndarray:
        """(k,) bool: the packets that carry a new accelerometer reading."""
        return (self.stops == ACCEL_STOP) & self.accel.any(axis=0)


def encode_packet(sample_number: int, counts: np.ndarray, accel=(0, 0, 0), stop: int = 0xC0):
    """One 33-byte packet from 8 channel counts (clipped to 24-bit range) — for emulators."""
    values = np.clip(np.asarray(counts, dtype=np.int64), -(2**23), 2**23 - 1) & 0xFFFFFF
    body = bytearray([HEADER, sample_number & 0xFF])
    for v in values.tolist():
        body += bytes(((v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))
    for a in accel:
        body += int(a).to_bytes(2, "big", signed=True)
    body.append(stop)
    return bytes(body)


class CytonParser:
    """Incremental packet decoder that resynchronises on corrupt or missing bytes.

    A candidate is a 0xA0 header with a stop byte 32 bytes later. It is accepted when its
    sample number follows the previous packet's, or when the byte after it is the next
    header (otherwise the parser waits for that byte). Anything else is skipped byte by byte
    and counted in `skipped_bytes`, so a stray 0xA0 in line noise is not taken for a packet.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._last_number: int | None = None
        self.skipped_bytes = 0
        self.packets = 0

    def feed(self, data: bytes) -> CytonPackets:
        """Add received bytes; return every complete packet they finish, in order."""
        buf = self._buffer
        buf += data
        found: list[bytes] = []
        i, n = 0, len(buf)
        while n - i >= PACKET_SIZE:
            if buf[i] == HEADER and buf[i + PACKET_SIZE - 1] in STOP_BYTES:
                nxt = i + PACKET_SIZE
                follows = (
                    self._last_number is not None and buf[i + 1] == (self._last_number + 1) % 256
                )
                if follows or (nxt < n and buf[nxt] == HEADER):
                    found.append(bytes(buf[i:nxt]))
                    self._last_number = buf[i + 1]
                    i = nxt
                    continue
                if nxt == n:
                    break  # wait for the next byte to confirm this packet
            j = buf.find(HEADER, i + 1)
            skip_to = n if j == -1 else j
            self.skipped_bytes += skip_to - i
            i = skip_to
        del buf[:i]
        self.packets += len(found)
        return _decode(found)


def _decode(packets: list[bytes]) -> CytonPackets:
    k = len(packets)
    if k == 0:
        return CytonPackets(
            np.zeros(0, dtype=np.int64),
            np.zeros((N_CHANNELS, 0), np.int32),
            np.zeros((3, 0), np.int16),
            np.zeros(0, np.uint8),
        )
    raw = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(k, PACKET_SIZE)
    sample_numbers = raw[:, 1].astype(np.int64)
    triplets = raw[:, 2:26].reshape(k, N_CHANNELS, 3).astype(np.int32)
    counts = (triplets[..., 0] << 16) | (triplets[..., 1] << 8) | triplets[..., 2]
    counts = np.where(counts >= 2**23, counts - 2**24, counts).astype(np.int32)
    accel = raw[:, 26:32].reshape(k, 3, 2).astype(np.int16)
    accel = ((accel[..., 0] << 8) | accel[..., 1]).astype(np.int16)
    return CytonPackets(sample_numbers, counts.T.copy(), accel.T.copy(), raw[:, 32].copy())


JITTER_S = 0.25
"""How much earlier or later than its place in the stream a packet may reach the host (s):
USB latency, the reader's window, a busy machine. Far below half a counter turn (1.02 s)."""


FIT_FLOOR_COUNTS = 1 << 16
"""How far (counts, about 1.5 mV at gain 24) a repaired packet's values may lie from the middle
of its neighbours' however still the signal is: 1 in 128 for a random 24-bit value."""


class CytonTimeline:
    """Places packets on the stream's sample index from their 8-bit sample numbers, checked
    against when they arrived and, when given, against their values.

    A packet whose number follows the last one placed takes the next index (unless its values
    leap away from the last one's and the packet after it does not follow it: junk). One
    that breaks the count is judged by the packet after it (so the last packet of a read may
    wait for the next read): if that one is two past the last placed, this one's number was
    corrupted and it takes the index between (if its values fit between theirs); if that one
    follows this one, in number and in value, and the host clock agrees that so many samples
    could have gone by, packets were lost; anything else (a duplicate, a stale repeat, a junk
    packet with a random number, a packet nothing confirms) is rejected: a sample may be lost,
    but it is not put at the wrong index (a junk packet would need the right number and
    values within a few mV of the signal's).
    How many whole turns of the counter went by is read from the arrival times, so a
    300-packet dropout is 300, not 300 mod 256. The first packet, and the first after
    `restart()` (a reconnect, a restarted board), must be followed by the next number; after a
    restart it is placed by the host clock alone, as the board's counter says nothing about
    the time that passed.

    All times are host seconds (time.monotonic); `fs` in Hz.
    """

    def __init__(self, fs: float = FS) -> None:
        self.fs = fs
        self.rejected = 0
        self.repaired = 0
        self._number: int | None = None  # counter of the last packet placed
        self._index = -1  # its index
        self._time = 0.0  # its arrival time
        self._values: np.ndarray | None = None  # its channel values (counts), when given
        self._counts: np.ndarray | None = None
        self._restarted = False

    def restart(self) -> None:
        """The stream broke (reconnect, stall): place the next packet by the host clock."""
        self._restarted = self._number is not None

    def place(
        self, numbers: np.ndarray, times: np.ndarray, counts: np.ndarray | None = None
    ) -> tuple[np.ndarray, int]:
        """Indexes for packets with these sample numbers that arrived at these times.

        counts: the packets' channel values (channels, k), when known: a packet taken for one
        with a corrupted number must also fit between its neighbours by value, so a junk
        packet that happens to sit where a packet was lost is not taken for it.

        Returns (indexes, decided): indexes[:decided] are the indexes of the first `decided`
        packets (-1: rejected); the packets after them must be passed again, first, with the
        next call (they wait for a packet that confirms them).
        """
        numbers = [int(v) for v in numbers]
        self._counts = counts
        k = len(numbers)
        out = np.full(k, -1, dtype=np.int64)
        j = 0
        while j < k:
            number, at = numbers[j], float(times[j])
            if self._number is None or self._restarted:
                # the first packet (after a restart too) anchors all: the next must follow it
                if j + 1 == k:
                    break
                if (numbers[j + 1] - number) % 256 != 1:
                    self.rejected += 1
                    j += 1
                    continue
                if self._number is None:
                    index = 0
                else:  # by the host clock, from the last sample before to this one
                    index = self._index + max(1, round((at - self._time) * self.fs))
                self._restarted = False
                self._accept(j, number, index, at, out)
                j += 1
                continue
            step = (number - self._number) % 256
            leap = step == 1 and counts is not None and self._values is not None
            if leap and not _near(self._values, counts[:, j]):
                # a leap in value: a real level shift if the next packet follows it closely
                if j + 1 == k:
                    break
                if (numbers[j + 1] - number) % 256 != 1 or not _near(
                    counts[:, j], counts[:, j + 1]
                ):
                    self.rejected += 1  # junk that happened to carry the next number
                    j += 1
                    continue
            if step == 1:  # next, or exactly whole turns of the counter later
                self._accept(j, number, self._index + self._steps(1, at), at, out)
                j += 1
                continue
            if j + 1 == k:
                break  # undecided: wait for the next packet
            after = numbers[j + 1]
            from_last, from_here = (after - self._number) % 256, (after - number) % 256
            if (
                from_last == 2
                and from_here > 1
                and step
                and (counts is None or self._fits_between(counts[:, j], counts[:, j + 1]))
            ):  # a corrupted number between two good ones (not a duplicate of the last, nor
                # one repeated by the next)
                self.repaired += 1
                self._accept(j, (self._number + 1) % 256, self._index + 1, at, out)
            elif (
                from_here == 1
                and self._plausible(step, at)
                and (counts is None or _near(counts[:, j], counts[:, j + 1]))
            ):  # packets were lost: the next one follows this one, in number and in value
                self._accept(j, number, self._index + self._steps(step, at), at, out)
            else:  # a duplicate, a stale repeat, junk, or not confirmed: never misplaced
                self.rejected += 1
            j += 1
        return out, j

    def _plausible(self, counted: int, at: float) -> bool:
        """Could `counted` (mod 256) samples have gone by since the last placed packet? Not
        if the host clock says far fewer did (a junk packet's random number); a repeated
        number is a duplicate unless about a whole turn went by."""
        elapsed = (at - self._time) * self.fs
        return self._steps(counted, at) <= elapsed + JITTER_S * self.fs

    def _steps(self, counted: int, at: float) -> int:
        """Samples from the last placed packet to one `counted` (mod 256) further on that
        arrived at `at`: the counter's turns that went by are read from the host clock."""
        counted = counted or 256
        elapsed = (at - self._time) * self.fs
        return counted + 256 * max(0, round((elapsed - counted) / 256))

    def _fits_between(self, values: np.ndarray, after: np.ndarray) -> bool:
        """Do a packet's values lie near the middle of its neighbours', as a real sample's
        do? A junk packet's random 24-bit values lie anywhere in the ±2^23 range."""
        before = self._values
        if before is None:
            return True
        before, after = before.astype(np.int64), after.astype(np.int64)
        middle = (before + after) // 2
        spread = max(int(np.abs(after - before).max()) * 8, FIT_FLOOR_COUNTS)
        return bool(np.abs(values.astype(np.int64) - middle).max() <= spread)

    def _accept(self, j: int, number: int, index: int, at: float, out: np.ndarray) -> None:
        out[j] = index
        self._number, self._index, self._time = number, index, at
        if self._counts is not None:
            self._values = self._counts[:, j]


def _near(values: np.ndarray, after: np.ndarray) -> bool:
    """Could two packets' values be consecutive samples (within 4 x FIT_FLOOR_COUNTS, about
    6 mV at gain 24, on every channel)?"""
    step = np.abs(values.astype(np.int64) - after.astype(np.int64))
    return bool(step.max() <= 4 * FIT_FLOOR_COUNTS)


def arrival_times(now: float, n: int, fs: float) -> np.ndarray:
    """When each of n samples that had all arrived by `now` came, assuming the board sends
    at its steady rate: the last at `now`, each earlier one 1/fs before (host seconds)."""
    return now - (n - 1 - np.arange(n)) / fs
