"""`ble:<address or name>`: the bruxwatch BLE EMG board (ESP32 or nRF52840 with a MyoWare 2.0,
hardware/firmware/bruxwatch_emg_ble), with bleak.

GATT (documented in hardware/README.md, "BLE protocol"):
- service  68830001-c0c3-422a-b597-8023cc741e36
- data     68830002-… notify: one sample frame per notification, exactly the serial frame
  without its sync word (version, type, uint32 first index, C, N, N x C uint16 counts,
  CRC-16/CCITT-FALSE), or a '#' text reply ("#ok vibrate 300 180");
- command  68830003-… write: "start", "stop", "info", "vibrate <ms> <strength>";
- info     68830004-… read: "fw=1.0.0 fs=1000 bits=12 channels=2 kind=raw" (" imu=25"
  from a board with an IMU: it also notifies motion frames, type 2, X/Y/Z in mg; " ppg=50"
  from one with a pulse sensor: pulse frames, type 3).
Gaps come from the frame index; after a reconnect the board restarts at 0 and the gap is
measured with the host clock. `vibrate(ms, strength)` drives the board's motor. A board
with an IMU delivers it as `aux_streams["accel"]` (X, Y, Z in g at `imu` Hz), one with a
pulse sensor as `aux_streams["ppg"]` (counts at `ppg` Hz): reading k was taken with sample
k x fs / rate, so neither needs a clock of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from bruxwatch.devices import arduino_protocol as proto
from bruxwatch.devices.base import DeviceError
from bruxwatch.devices.ble_link import BleLink, Notification, NotifyingBoard, Piece
from bruxwatch.stream import ACCEL, PPG, Chunk, StreamInfo, accelerometer_info

SERVICE_UUID = "68830001-c0c3-422a-b597-8023cc741e36"
DATA_UUID = "68830002-c0c3-422a-b597-8023cc741e36"
COMMAND_UUID = "68830003-c0c3-422a-b597-8023cc741e36"
INFO_UUID = "68830004-c0c3-422a-b597-8023cc741e36"
NAME_PREFIX = "bruxwatch"


class BleEmgBoard(NotifyingBoard):
    def __init__(self, target: str, *, backend: type | None = None, scanner=None) -> None:
        if not target:
            raise ValueError("give the board's address or name, e.g. ble:bruxwatch-EMG")
        self.board: proto.BoardInfo | None = None
        self.parser = proto.FrameParser()
        self.messages: list[str] = []
        self.link = BleLink(
            target,
            DATA_UUID,
            COMMAND_UUID,
            start=b"start",
            stop=b"stop",
            on_connect=self._on_connect,
            backend=backend,
            scanner=scanner,
            write_response=True,
        )
        self.info = StreamInfo(
            fs=1000.0, channels=("ch1",), units="counts", kind="raw", device=f"BLE EMG {target}"
        )

    async def _on_connect(self, client) -> None:
        text = bytes(await client.read_gatt_char(INFO_UUID)).decode("ascii", "replace")
        self.board = proto.BoardInfo.parse("#info " + text)

    def chunks(self) -> Iterator[Chunk]:
        self.link.open()
        board = self.board
        if board is None:
            raise DeviceError(f"{self.link.target}: the board did not say its sample rate")
        self.info = StreamInfo(
            fs=board.fs,
            channels=tuple(f"ch{i + 1}" for i in range(board.channels)),
            units="counts",
            kind="envelope" if board.kind == "envelope" else "raw",
            device=f"{self.info.device} (firmware {board.firmware})",
            rails=(0.0, float(2**board.bits - 1)),
            steps=(1.0,) * board.channels,
        )
        self.aux_streams = {}
        if board.imu:
            self.aux_streams[ACCEL] = accelerometer_info(board.imu, f"{self.info.device}: IMU")
        if board.ppg:
            self.aux_streams[PPG] = StreamInfo(
                fs=board.ppg,
                channels=("ppg",),
                units="counts",
                kind="aux",
                device=f"{self.info.device}: pulse sensor",
            )
        self._offset = 0  # stream index = board index + offset (it restarts on reconnect)
        self._expected: int | None = None
        self._aux_expected: dict[str, int] = {}
        self._last_time = 0.0
        yield from self.notified_chunks()

    def pieces(self, item: Notification) -> Iterator[Piece]:
        """The sample frames of one notification (or its '#' reply), placed in the stream:
        a frame index behind the last after a reconnect means the board restarted, and the
        gap is taken from the host clock."""
        assert self.board is not None
        data = item.data
        decoded = self.parser.feed(data if data[:1] == b"#" else proto.SYNC + data)
        self.messages += decoded.messages
        for first, counts in decoded.frames:
            index = first + self._offset
            expected = self._expected
            if self.restarted and expected is not None and index < expected:
                lost = max(0, round((item.at - self._last_time) * self.board.fs) - counts.shape[1])
                self._offset = expected + lost - first
                index = first + self._offset
            self.restarted = False
            if expected is not None and index < expected:
                continue  # a repeated frame
            yield Piece(
                index, counts.astype(np.float32), 0 if expected is None else index - expected
            )
            self._expected = index + counts.shape[1]
            self._last_time = item.at
        if self.board.imu:
            yield from self._aux(ACCEL, decoded.motion, self.board.imu, proto.G_PER_MOTION_COUNT)
        if self.board.ppg:
            yield from self._aux(PPG, decoded.pulse, self.board.ppg, 1.0)

    def _aux(
        self, stream: str, frames: list[tuple[int, np.ndarray]], rate: float, scale: float
    ) -> Iterator[Piece]:
        """A sensor's readings (reading k goes with sample k x fs / rate, on the EMG's
        offset), in the stream's units (`scale` per count)."""
        assert self.board is not None
        per_sample = rate / self.board.fs
        for first, values in frames:
            index = first + round(self._offset * per_sample)
            expected = self._aux_expected.get(stream)
            if expected is not None and index < expected:
                continue  # a repeated frame, or one from before a restart already passed
            readings = values.astype(np.float32) * np.float32(scale)
            yield Piece(index, readings, 0 if expected is None else index - expected, stream)
            self._aux_expected[stream] = index + values.shape[1]

    has_motor = True

    def vibrate(self, ms: int, strength: int = 255) -> None:
        """Buzz the board's motor for `ms` milliseconds at PWM `strength` 0-255."""
        ms, strength = int(np.clip(ms, 1, 5000)), int(np.clip(strength, 0, 255))
        self.link.write(f"vibrate {ms} {strength}".encode("ascii"))

    def close(self) -> None:
        self.link.close()
