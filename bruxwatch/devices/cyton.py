"""OpenBCI Cyton through its USB dongle, as a Device yielding µV chunks (protocol in
cyton_protocol.py).

On open: `s` (a board left streaming by a crashed program stops), `v` (soft reset; the answer
must end in `$$$` and must not report that the dongle cannot reach the board), one `x…X`
command per used channel to set its gain, then `b`. On close: `s`. Packets are placed on
the stream by their 0-255 sample counter, checked against their arrival times (CytonTimeline:
lost packets become exact gaps, a dropout longer than a counter turn is counted right,
duplicates and junk are rejected); after a reconnect or a restart the gap is measured on the
host clock, from the last sample before to the first after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import serial

from bruxwatch.devices import cyton_protocol as proto
from bruxwatch.devices.base import DeviceError, DeviceSpec
from bruxwatch.devices.options import no_more, pop_channels, pop_whole_number
from bruxwatch.devices.serial_link import SerialBoard, SerialLink
from bruxwatch.stream import (
    ACCEL,
    ECG_CHANNEL,
    AuxClock,
    Chunk,
    ChunkRun,
    StreamInfo,
    accelerometer_info,
)

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


class CytonBoard(SerialBoard):
    """Cyton channels (1-8, default the first two: left and right masseter) in µV at 250 Hz;
    `ecg`: one more channel wired as ECG across the chest (hardware README), streamed last
    and named `ECG_CHANNEL`, which gives the heart beats and is never scored as EMG."""

    def __init__(
        self,
        port: str,
        *,
        channels: tuple[int, ...] = (1, 2),
        gain: int = proto.DEFAULT_GAIN,
        reconnect: bool = True,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        ecg: int | None = None,
    ) -> None:
        if not channels or any(not 1 <= c <= proto.N_CHANNELS for c in channels):
            raise DeviceError(f"Cyton channels must be 1-{proto.N_CHANNELS}, got {channels}")
        if ecg is not None and (not 1 <= ecg <= proto.N_CHANNELS or ecg in channels):
            raise DeviceError(
                f"Cyton ecg channel must be 1-{proto.N_CHANNELS} and not one of the EMG "
                f"channels {','.join(map(str, channels))}, got {ecg}"
            )
        self.channels = tuple(channels) + (() if ecg is None else (ecg,))
        self.gain = gain
        self.scale = proto.uv_per_count(gain)
        self.reply_timeout_s = reply_timeout_s
        rail = proto.FULL_SCALE * self.scale
        self.info = StreamInfo(
            fs=proto.FS,
            channels=tuple(f"ch{c}" for c in channels) + (() if ecg is None else (ECG_CHANNEL,)),
            units="uV",
            kind="raw",
            device=f"OpenBCI Cyton on {port} (gain {gain})",
            rails=(-rail, rail),
            steps=(float(np.float32(self.scale)),) * (len(channels) + (ecg is not None)),
        )
        self.aux_streams = {
            ACCEL: accelerometer_info(
                proto.ACCEL_FS, f"OpenBCI Cyton on {port}: LIS3DH accelerometer"
            )
        }
        self.firmware = ""
        self.link = SerialLink(port, proto.BAUD, self._handshake, reconnect=reconnect)
        self.parser = proto.CytonParser()
        self.timeline = proto.CytonTimeline(proto.FS)
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
        self.timeline = timeline = proto.CytonTimeline(proto.FS)
        reconnects = self.link.reconnects
        rows = np.asarray(self.channels) - 1
        run = ChunkRun()
        expected: int | None = None  # index of the next sample
        held_numbers = np.zeros(0, dtype=np.int64)
        held_times = np.zeros(0)
        held_counts = np.zeros((rows.size, 0), dtype=np.int32)
        held_accel = np.zeros((3, 0), dtype=np.int16)
        held_new = np.zeros(0, dtype=bool)
        self._accel_clock = AuxClock(proto.ACCEL_FS, proto.FS)
        for data in self.link.read():
            now = time.monotonic()
            if self.link.reconnects != reconnects:
                reconnects = self.link.reconnects
                timeline.restart()
                # packets held from before the outage can no longer be confirmed
                held_numbers, held_times = held_numbers[:0], held_times[:0]
                held_counts, held_accel, held_new = (
                    held_counts[:, :0],
                    held_accel[:, :0],
                    held_new[:0],
                )
            packets = self.parser.feed(data)
            if packets.sample_numbers.size == 0:
                continue
            numbers = np.concatenate((held_numbers, packets.sample_numbers))
            times = np.concatenate(
                (held_times, proto.arrival_times(now, packets.sample_numbers.size, proto.FS))
            )
            counts = np.concatenate((held_counts, packets.counts[rows]), axis=1)
            accel = np.concatenate((held_accel, packets.accel), axis=1)
            new = np.concatenate((held_new, packets.new_accel))
            indexes, decided = timeline.place(numbers, times, counts)
            held_numbers, held_times = numbers[decided:], times[decided:]
            held_counts, held_accel, held_new = (
                counts[:, decided:],
                accel[:, decided:],
                new[decided:],
            )
            kept = np.flatnonzero(indexes[:decided] >= 0)
            if kept.size == 0:
                continue
            uv = counts[:, kept].astype(np.float32) * np.float32(self.scale)
            starts = indexes[kept]
            # one chunk per run of consecutive samples, so every gap is explicit
            breaks = np.flatnonzero(np.diff(starts) != 1) + 1
            for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, kept.size], strict=True):
                first = int(starts[lo])
                missing = 0 if expected is None else first - expected
                self.dropped += missing
                if done := run.add(first, uv[:, lo:hi], missing):
                    yield done
                expected = first + int(hi - lo)
            if last := run.take():
                yield last
            readings = kept[new[kept]]
            if readings.size:
                yield from self._accel_chunks(indexes[readings], accel[:, readings])

    def _accel_chunks(self, emg_indexes: np.ndarray, counts: np.ndarray) -> Iterator[Chunk]:
        """Accelerometer readings (g) on their own 25-Hz clock (`AuxClock`)."""
        g = counts.astype(np.float32) * np.float32(proto.ACCEL_G_PER_COUNT)
        run = ChunkRun(ACCEL)
        for j, emg_index in enumerate(emg_indexes.tolist()):
            for slot, reading, missing in self._accel_clock.place(emg_index, g[:, j]):
                if done := run.add(slot, reading, missing):
                    yield done
        if last := run.take():
            yield last

    def send(self, command: bytes) -> None:
        self.link.write(command)

    def close(self) -> None:
        try:
            if self.link.port is not None:
                self.link.write(b"s")
        except (serial.SerialException, OSError, DeviceError):
            pass
        self.link.close()


def open_spec(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> CytonBoard:
    """`cyton:/dev/ttyUSB0?channels=1,2&gain=24&ecg=3`: the board on its dongle's serial
    port (ecg: a channel wired as ECG)."""
    channels = pop_channels(options, "channels", "1,2")
    gain = pop_whole_number(options, "gain", "24")
    ecg = pop_whole_number(options, "ecg", None)
    no_more(spec.scheme, options)
    return CytonBoard(spec.target, channels=channels, gain=gain, ecg=ecg)
