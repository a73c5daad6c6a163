"""The OpenBCI Ganglion's BLE wire format (OpenBCI "Ganglion Data Format"), decoded.

Every notification on the receive characteristic is 20 bytes: a packet id and 19 data bytes.

Firmware 2 (the shipped firmware):
- id 0: raw, 4 x 24-bit signed big-endian counts (channels 1-4) in bytes 1-12: one sample.
- ids 101-200: 19-bit compression, 2 samples x 4 channels = 152 bits, MSB first.
- ids 1-100: 18-bit compression, 2 samples x 4 channels = 144 bits, then one accelerometer
  byte (see below).
  Compressed values are deltas, old minus new, with the sign moved into the least
  significant bit (1 = negative: the value is sign-extended from there). A sample is the
  previous sample minus its delta; the chain restarts at every raw packet (once per 201
  samples, about once a second). Sample numbers: id 0 is sample 0, id 100+j (or j) carries
  samples 2j-1 and 2j.
Firmware 3: ids 0-99 carry 18-bit and 100-199 19-bit values that are the top bits of each
  sample itself (shifted left by 6 or 5), not deltas; there is no raw packet.
The accelerometer (a LIS2DH, switched on with `n`, off with `N`; the board sends 18-bit
  packets while it is on): the last byte of the 18-bit packets whose id ends in 1, 2 and 3
  carries X, Y and Z, each the signed high byte of the axis reading, so one reading per ten
  packets (10 Hz). The firmware sets the LIS2DH to +/-2 g in high-resolution mode, where that
  byte is 16 mg per count (the document's 0.032 assumes +/-4 g, which the firmware does not
  set). Read from the firmware's own source (sendCompressedPacket18, config_LIS2DH).
ids 201-205: impedance of channels 1-4 and the reference, ASCII digits ending in 'Z' (ohms).
ids 206 / 207: part of / end of an ASCII message.

Lost notifications are found from the packet id. With firmware 2 a lost delta packet breaks
the chain, so the samples up to the next raw packet are unknown too; all of them become one
exact gap (`missing_before` of the raw sample that restarts the stream).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SERVICE_UUID = "0000fe84-0000-1000-8000-00805f9b34fb"
RECEIVE_UUID = "2d30c082-f39f-4ce6-923f-3484ea480596"  # notifications, board -> host
SEND_UUID = "2d30c083-f39f-4ce6-923f-3484ea480596"  # commands, host -> board
DISCONNECT_UUID = "2d30c084-f39f-4ce6-923f-3484ea480596"
SOFTWARE_REVISION_UUID = "00002a28-0000-1000-8000-00805f9b34fb"  # "3.x" on firmware 3

FS = 200.0
CHANNELS = 4
PACKET_BYTES = 20
UV_PER_COUNT = 1.2e6 / (8388607.0 * 1.5 * 51.0)
"""MCP3912 at gain 51 with 1.2 V reference and the 1.5 factor of the Ganglion front end."""

START, STOP = b"b", b"s"
IMPEDANCE_ON, IMPEDANCE_OFF = b"z", b"Z"
ACCEL_ON, ACCEL_OFF = b"n", b"N"

ACCEL_FS = 10.0
"""Accelerometer readings per second (one X, Y, Z per ten packets)."""
ACCEL_G_PER_COUNT = 0.016
"""g per count of the accelerometer byte (LIS2DH at +/-2 g, high resolution, high byte)."""
ACCEL_AXIS_OF_ID_DIGIT = {1: 0, 2: 1, 3: 2}
"""Which axis (0 X, 1 Y, 2 Z) the last byte of an 18-bit packet holds, by the id's last digit."""

CYCLE_FW2 = 201  # samples from one raw packet to the next
CYCLE_FW3 = 200


def unpack_ganglion_values(payload: bytes, bits: int, count: int = 8) -> np.ndarray:
    """`count` values of `bits` bits, MSB first, each with its sign in its LSB."""
    total = len(payload) * 8
    word = int.from_bytes(payload, "big")
    mask = (1 << bits) - 1
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        raw = (word >> (total - (k + 1) * bits)) & mask
        out[k] = raw - (1 << bits) if raw & 1 else raw
    return out


def int24(payload: bytes) -> np.ndarray:
    """4 big-endian 24-bit two's complement values."""
    raw = np.frombuffer(payload[:12], dtype=np.uint8).reshape(4, 3).astype(np.int64)
    value = (raw[:, 0] << 16) | (raw[:, 1] << 8) | raw[:, 2]
    return np.where(value >= 1 << 23, value - (1 << 24), value)


@dataclass
class Decoded:
    """What one notification gave: samples (channels, n) in uV (n may be 0), samples lost
    just before them, an accelerometer reading (X, Y, Z counts) completed by this packet, and
    side information."""

    samples: np.ndarray
    missing_before: int = 0
    accel: tuple[int, int, int] | None = None
    impedance: dict[str, int] = field(default_factory=dict)
    message: str | None = None


class GanglionDecoder:
    """Turns notifications into samples, keeping the delta chain and the packet counter."""

    def __init__(self, firmware: int = 2) -> None:
        if firmware not in (2, 3):
            raise ValueError(f"Ganglion firmware {firmware} is not supported (2 or 3)")
        self.firmware = firmware
        self.last: np.ndarray | None = None  # counts of the previous sample (firmware 2)
        self.expected_position: int | None = None  # sample number the next packet starts at
        self.pending_missing = 0  # samples lost and not yet reported
        self.impedance: dict[str, int] = {}
        self._text: list[str] = []
        self.packets = 0
        self.lost_packets = 0
        self._axes: dict[int, int] = {}  # accelerometer bytes of the current ten packets
        self._axes_group: int | None = None

    # ------------------------------------------------------------------ positions
    def _position(self, packet_id: int) -> tuple[int, int]:
        """(sample number of the packet's first sample within the cycle, samples in it)."""
        if self.firmware == 2:
            if packet_id == 0:
                return 0, 1
            j = packet_id - 100 if packet_id > 100 else packet_id
            return 2 * j - 1, 2
        j = packet_id - 100 if packet_id >= 100 else packet_id
        return 2 * j, 2

    def _cycle(self) -> int:
        return CYCLE_FW2 if self.firmware == 2 else CYCLE_FW3

    # --------------------------------------------------------------------- decode
    def feed(self, packet: bytes) -> Decoded:
        empty = np.zeros((CHANNELS, 0), dtype=np.float32)
        if len(packet) < 1:
            return Decoded(empty)
        packet_id = packet[0]
        if 201 <= packet_id <= 205:
            name = ("ch1", "ch2", "ch3", "ch4", "ref")[packet_id - 201]
            digits = bytes(packet[1:]).split(b"Z", 1)[0]
            if digits.isdigit():
                self.impedance[name] = int(digits)
                return Decoded(empty, impedance={name: int(digits)})
            return Decoded(empty)
        if packet_id in (206, 207):
            self._text.append(bytes(packet[1:]).decode("ascii", "replace").rstrip("\x00"))
            if packet_id == 207:
                message, self._text = "".join(self._text), []
                return Decoded(empty, message=message)
            return Decoded(empty)
        if (
            len(packet) != PACKET_BYTES
            or packet_id > 200
            or (self.firmware == 3 and packet_id > 199)
        ):
            return Decoded(empty)
        self.packets += 1
        position, n = self._position(packet_id)
        if self.expected_position is not None and position != self.expected_position:
            lost = (position - self.expected_position) % self._cycle()
            self.pending_missing += lost
            self.lost_packets += 1
            self._axes = {}  # a reading's bytes must come from unbroken packets
            if self.firmware == 2:
                self.last = None  # the delta chain is broken until the next raw packet
        self.expected_position = (position + n) % self._cycle()
        accel = self._accel(packet_id, packet)
        counts = self._counts(packet_id, packet)
        if counts is None:  # a delta packet with no chain to apply it to
            self.pending_missing += n
            return Decoded(empty)
        missing, self.pending_missing = self.pending_missing, 0
        samples = (counts * UV_PER_COUNT).astype(np.float32)
        return Decoded(samples, missing_before=missing, accel=accel)

    def _accel(self, packet_id: int, packet: bytes) -> tuple[int, int, int] | None:
        """The reading the accelerometer byte of this packet completes (at its Z byte, when
        the X and Y bytes of the same ten packets arrived too), else None."""
        eighteen_bit = packet_id <= 100 if self.firmware == 2 else packet_id < 100
        axis = ACCEL_AXIS_OF_ID_DIGIT.get(packet_id % 10)
        if not eighteen_bit or axis is None:
            return None
        group = packet_id // 10
        if group != self._axes_group:
            self._axes, self._axes_group = {}, group
        self._axes[axis] = packet[19] - 256 if packet[19] >= 128 else packet[19]
        if axis != 2 or len(self._axes) != 3:
            return None
        reading = (self._axes[0], self._axes[1], self._axes[2])
        self._axes = {}
        return reading

    def _counts(self, packet_id: int, packet: bytes) -> np.ndarray | None:
        payload = bytes(packet[1:])
        if self.firmware == 3:
            bits = 18 if packet_id < 100 else 19
            values = unpack_ganglion_values(payload[: (bits * 8 + 7) // 8], bits)
            return (values << (24 - bits)).reshape(2, CHANNELS).T  # the sample's top bits
        if packet_id == 0:
            self.last = int24(payload)
            return self.last[:, None].copy()
        if self.last is None:
            return None
        bits = 18 if packet_id <= 100 else 19
        deltas = unpack_ganglion_values(payload[: (bits * 8 + 7) // 8], bits).reshape(2, 4)
        first = self.last - deltas[0]
        second = first - deltas[1]
        self.last = second
        return np.stack((first, second), axis=1)
