"""The OpenBCI Cyton wire protocol (through the USB dongle), from OpenBCI's "Cyton Data Format"
and "Cyton SDK" documents. Pure bytes in, numbers out: no I/O here.

Stream packet, 33 bytes:
    0      0xA0 header
    1      sample number 0-255 (wraps)
    2-25   8 channels × 24-bit signed, big-endian (MSB first), ADS1299 counts
    26-31  6 aux bytes (with stop byte 0xC0: accelerometer X, Y, Z as 16-bit signed, big-endian)
    32     stop byte 0xC0-0xC6 (0xC0 = accelerometer; others carry raw aux / time stamps)
µV per count = 4.5 V / gain / (2^23 − 1) × 1e6 (0.02235 at the default gain of 24).

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
    """Decoded packets: sample numbers (k,), counts (8, k) int32, accel (3, k) int16 or None."""

    sample_numbers: np.ndarray
    counts: np.ndarray
    accel: np.ndarray


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
        )
    raw = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(k, PACKET_SIZE)
    sample_numbers = raw[:, 1].astype(np.int64)
    triplets = raw[:, 2:26].reshape(k, N_CHANNELS, 3).astype(np.int32)
    counts = (triplets[..., 0] << 16) | (triplets[..., 1] << 8) | triplets[..., 2]
    counts = np.where(counts >= 2**23, counts - 2**24, counts).astype(np.int32)
    accel = raw[:, 26:32].reshape(k, 3, 2).astype(np.int16)
    accel = ((accel[..., 0] << 8) | accel[..., 1]).astype(np.int16)
    return CytonPackets(sample_numbers, counts.T.copy(), accel.T.copy())


def missing_between(previous: int | None, current: np.ndarray) -> np.ndarray:
    """Samples lost before each packet, from the 0-255 sample counter (wrapping)."""
    if current.size == 0:
        return np.zeros(0, dtype=np.int64)
    prev = np.concatenate(([current[0] - 1 if previous is None else previous], current[:-1]))
    return (current - prev - 1) % 256


def repair_counter(previous: int | None, numbers: np.ndarray) -> np.ndarray:
    """Undo single corrupted sample numbers: a packet that breaks the count while its
    neighbours are exactly two apart is given the number between them."""
    if numbers.size < 2:
        return numbers
    full = np.concatenate(([numbers[0] - 1 if previous is None else previous], numbers))
    before, here, after = full[:-2], full[1:-1], full[2:]
    broken = ((here - before) % 256 != 1) & ((after - before) % 256 == 2)
    if not broken.any():
        return numbers
    fixed = numbers.copy()
    fixed[:-1][broken] = (before[broken] + 1) % 256
    return fixed
