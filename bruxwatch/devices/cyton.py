"""OpenBCI Cyton through its USB dongle, as a Device yielding µV chunks (protocol in
cyton_protocol.py).

On open: `s` (a board left streaming by a crashed program stops), `v` (soft reset; the answer
must end in `$$$` and must not report that the dongle cannot reach the board), one `x…X`
command per used channel to set its gain, then `b`. On close: `s`. Dropped packets are found
from the 0-255 sample counter; after a reconnect the gap is the outage measured on the host
clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import serial

from bruxwatch.devices import cyton_protocol as proto
from bruxwatch.devices.base import Chunk, StreamInfo
from bruxwatch.devices.serial_link import DeviceError, SerialLink

REPLY_TIMEOUT_S = 3.0


def read_reply(port: serial.Serial, timeout_s: float = REPLY_TIMEOUT_S) -> str:
    """Read until the `$$$` end-of-transmission marker; DeviceError on silence."""
    deadline = time.monotonic() + timeout_s
    reply = bytearray()
    while time.monotonic() < deadline:
        reply += port.read(max(1, port.in_waiting))
        if reply.endswith(proto.EOT) or proto.EOT in reply:
            return reply.decode("ascii", errors="replace")
    raise DeviceError(
        f"{port.port}: no answer from the Cyton within {timeout_s:g} s; is this the OpenBCI dongle "
        "(switch on the dongle set to GPIO6, board switched to PC)?"
    )


class CytonBoard:
    """Cyton channels (1-8, default the first two: left and right masseter) in µV at 250 Hz."""

    def __init__(
        self,
        port: str,
        *,
        channels: tuple[int, ...] = (1, 2),
        gain: int = proto.DEFAULT_GAIN,
        reconnect: bool = True,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
    ) -> None:
        if not channels or any(not 1 <= c <= proto.N_CHANNELS for c in channels):
            raise DeviceError(f"Cyton channels must be 1-{proto.N_CHANNELS}, got {channels}")
        self.channels = tuple(channels)
        self.gain = gain
        self.scale = proto.uv_per_count(gain)
        self.reply_timeout_s = reply_timeout_s
        rail = proto.FULL_SCALE * self.scale
        self.info = StreamInfo(
            fs=proto.FS,
            channels=tuple(f"ch{c}" for c in self.channels),
            units="uV",
            kind="raw",
            device=f"OpenBCI Cyton on {port} (gain {gain})",
            rails=(-rail, rail),
        )
        self.firmware = ""
        self.link = SerialLink(port, proto.BAUD, self._handshake, reconnect=reconnect)
        self.parser = proto.CytonParser()
        self.dropped = 0

    def _handshake(self, port: serial.Serial) -> None:
        port.write(b"s")
        port.flush()
        time.sleep(0.05)
        port.reset_input_buffer()
        port.write(b"v")
        port.flush()
        reply = read_reply(port, self.reply_timeout_s)
        if "Failure" in reply or "failed" in reply:
            raise DeviceError(
                f"{port.port}: the dongle answers but cannot reach the Cyton; switch the board "
                "on (PC position) and check its battery"
            )
        self.firmware = next((ln for ln in reply.splitlines() if "Firmware" in ln), "").strip()
        for channel in self.channels:
            port.write(proto.channel_command(channel, self.gain))
            port.flush()
            answer = read_reply(port, self.reply_timeout_s)
            if "Failure" in answer:
                raise DeviceError(f"{port.port}: the Cyton refused channel {channel}: {answer!r}")
        port.write(b"b")
        port.flush()

    def chunks(self) -> Iterator[Chunk]:
        self.link.open()
        index = 0
        last_number: int | None = None
        last_time = time.monotonic()
        reconnects = self.link.reconnects
        rows = np.asarray(self.channels) - 1
        held_numbers = np.zeros(0, dtype=np.int64)
        held_counts = np.zeros((rows.size, 0), dtype=np.int32)
        for data in self.link.read():
            packets = self.parser.feed(data)
            if packets.sample_numbers.size == 0:
                continue
            now = time.monotonic()
            numbers = np.concatenate((held_numbers, packets.sample_numbers))
            counts = np.concatenate((held_counts, packets.counts[rows]), axis=1)
            reconnected = self.link.reconnects != reconnects and last_number is not None
            if not reconnected:
                numbers = proto.repair_counter(last_number, numbers)
                # A last packet that breaks the count waits for the next one, which tells
                # whether its number was corrupted (repaired) or packets were really lost.
                before = numbers[-2] if numbers.size > 1 else last_number
                if before is not None and (numbers[-1] - before) % 256 != 1:
                    held_numbers, held_counts = numbers[-1:], counts[:, -1:]
                    numbers, counts = numbers[:-1], counts[:, :-1]
                else:
                    held_numbers, held_counts = held_numbers[:0], held_counts[:, :0]
            else:
                held_numbers, held_counts = held_numbers[:0], held_counts[:, :0]
            k = numbers.size
            if k == 0:
                continue
            missing = proto.missing_between(last_number, numbers)
            if reconnected:
                missing[0] = _outage_gap(now - last_time)
                reconnects = self.link.reconnects
            last_number = int(numbers[-1])
            last_time = now
            self.dropped += int(missing.sum())
            uv = counts.astype(np.float32) * np.float32(self.scale)
            # one chunk per run of consecutive packets, so every gap is explicit
            breaks = np.flatnonzero(missing[1:]) + 1
            for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, k], strict=True):
                gap = int(missing[lo])
                index += gap
                yield Chunk(first_index=index, samples=uv[:, lo:hi], missing_before=gap)
                index += hi - lo

    def send(self, command: bytes) -> None:
        self.link.write(command)

    @property
    def read_window_s(self) -> float:
        """How long the reader lets bytes gather between reads (latency vs. CPU)."""
        return self.link.read_window_s

    @read_window_s.setter
    def read_window_s(self, seconds: float) -> None:
        self.link.read_window_s = seconds

    def close(self) -> None:
        try:
            if self.link.port is not None:
                self.link.write(b"s")
        except (serial.SerialException, OSError, DeviceError):
            pass
        self.link.close()


def _outage_gap(elapsed_s: float) -> int:
    """Samples missing over a reconnect, from the host clock: the board was stopped and reset
    by the handshake, so its counter says nothing about the time that passed."""
    return max(0, round(elapsed_s * proto.FS) - 1)
