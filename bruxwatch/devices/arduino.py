"""MyoWare 2.0 on an Arduino (or ESP32/nRF52) over USB serial, as a Device yielding ADC counts.

Two modes:
- bruxwatch firmware (`arduino:`): binary frames with a sample index and CRC (arduino_protocol);
  the board describes itself in answer to `info`, and drives the vibration motor on `vibrate`.
- any sketch printing integers per line (`arduino-text:`): the sample rate is given with
  `?fs=` or estimated from the first two seconds of lines and reported.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import numpy as np
import serial

from bruxwatch.devices import arduino_protocol as proto
from bruxwatch.devices.base import Chunk, ChunkRun, StreamInfo
from bruxwatch.devices.serial_link import DeviceError, SerialLink

log = logging.getLogger(__name__)
INFO_TIMEOUT_S = 3.0
FS_ESTIMATE_S = 2.0
COMMON_RATES = (100, 125, 200, 250, 500, 1000, 2000)


class ArduinoBoard:
    """A MyoWare sensor board. `info` is complete once `chunks()` has started."""

    def __init__(
        self,
        port: str,
        *,
        baud: int = 115200,
        text: bool = False,
        fs: float | None = None,
        kind: str = "raw",
        reconnect: bool = True,
        info_timeout_s: float = INFO_TIMEOUT_S,
    ) -> None:
        if fs is not None and not fs > 0:
            raise DeviceError(f"sample rate must be positive, got {fs:g}")
        self.port_path = port
        self.text = text
        self.fs = fs
        self.kind = kind
        self.info_timeout_s = info_timeout_s
        self.board: proto.BoardInfo | None = None
        self.frames = proto.FrameParser()
        self.lines = proto.TextLineParser()
        self.messages: list[str] = []
        self.fs_estimated = False
        self.link = SerialLink(port, baud, self._handshake, reconnect=reconnect)
        self.info = StreamInfo(
            fs=fs or 1000.0, channels=("ch1",), units="counts", kind="raw", device=self._name()
        )

    def _name(self) -> str:
        what = "Arduino (text lines)" if self.text else "Arduino (bruxwatch firmware)"
        return f"{what} on {self.port_path}"

    # ----------------------------------------------------------------------- handshake
    def _handshake(self, port: serial.Serial) -> None:
        if self.text:
            return
        port.write(b"stop\n")
        port.flush()
        time.sleep(0.05)
        port.reset_input_buffer()
        self.frames = proto.FrameParser()
        port.write(b"info\n")
        port.flush()
        deadline = time.monotonic() + self.info_timeout_s
        while time.monotonic() < deadline:
            data = port.read(max(1, port.in_waiting))
            for message in self.frames.feed(data).messages:
                if message.startswith("#info"):
                    try:
                        self.board = proto.BoardInfo.parse(message)
                    except ValueError as exc:
                        raise DeviceError(f"{port.port}: {exc}") from None
                    port.write(b"start\n")
                    port.flush()
                    return
        raise DeviceError(
            f"{port.port}: no answer to `info` within {self.info_timeout_s:g} s; is the bruxwatch "
            "firmware flashed and the baud rate right? For another sketch use arduino-text:"
        )

    # -------------------------------------------------------------------------- stream
    def chunks(self) -> Iterator[Chunk]:
        self.link.open()
        if self.text:
            yield from self._text_chunks()
        else:
            yield from self._frame_chunks()

    def _frame_chunks(self) -> Iterator[Chunk]:
        board = self.board
        assert board is not None
        top = float(2**board.bits - 1)
        self.info = StreamInfo(
            fs=board.fs,
            channels=tuple(f"ch{i + 1}" for i in range(board.channels)),
            units="counts",
            kind="envelope" if board.kind == "envelope" else "raw",
            device=f"{self._name()} (firmware {board.firmware})",
            rails=(0.0, top),
        )
        offset = 0  # host index = board index + offset (the board restarts at 0 on a reset)
        expected: int | None = None
        last_time = time.monotonic()
        reconnects = self.link.reconnects
        for data in self.link.read():
            decoded = self.frames.feed(data)
            self.messages += decoded.messages
            now = time.monotonic()
            run = ChunkRun()  # consecutive frames of this read become one chunk
            for first, counts in decoded.frames:
                index = first + offset
                if self.link.reconnects != reconnects and expected is not None:
                    reconnects = self.link.reconnects
                    if index < expected:  # the board restarted: place it by the host clock
                        lost = max(0, round((now - last_time) * board.fs) - counts.shape[1])
                        offset = expected + lost - first
                        index = first + offset
                if expected is not None and index < expected:
                    continue  # a repeated or stale frame
                missing = 0 if expected is None else index - expected
                if done := run.add(index, counts.astype(np.float32), missing):
                    yield done
                expected = index + counts.shape[1]
                last_time = now
            if last := run.take():
                yield last

    def _text_chunks(self) -> Iterator[Chunk]:
        pending: list[np.ndarray] = []
        started = time.monotonic()
        index = 0
        for data in self.link.read():
            samples = self.lines.feed(data)
            if self.fs is None:  # estimate the rate from the first seconds of lines
                if samples.shape[1]:
                    pending.append(samples)
                elapsed = time.monotonic() - started
                if elapsed < FS_ESTIMATE_S:
                    continue
                count = sum(p.shape[1] for p in pending)
                if not count:
                    raise DeviceError(
                        f"{self.port_path}: no lines of numbers in {elapsed:.0f} s; check the "
                        "baud rate and that the sketch prints one reading per line"
                    )
                self.fs = _nearest_rate(count / elapsed)
                self.fs_estimated = True
                log.warning(
                    "%s: sample rate estimated as %g Hz; give ?fs= to be exact",
                    self.port_path,
                    self.fs,
                )
                samples = np.concatenate(pending, axis=1)
                pending = []
            if samples.shape[1] == 0:
                continue
            if self.info.n_channels != samples.shape[0] or self.info.fs != self.fs:
                self.info = StreamInfo(
                    fs=self.fs,
                    channels=tuple(f"ch{i + 1}" for i in range(samples.shape[0])),
                    units="counts",
                    kind="envelope" if self.kind == "envelope" else "raw",
                    device=self._name(),
                )
            yield Chunk(index, samples)
            index += samples.shape[1]

    # ------------------------------------------------------------------------ commands
    def vibrate(self, ms: int, strength: int = 255) -> None:
        """Buzz the board's motor for `ms` milliseconds at PWM `strength` 0-255."""
        if self.text:
            raise DeviceError("a plain text sketch has no vibration command")
        ms, strength = int(np.clip(ms, 1, 5000)), int(np.clip(strength, 0, 255))
        self.link.write(f"vibrate {ms} {strength}\n".encode("ascii"))

    @property
    def read_window_s(self) -> float:
        """How long the reader lets bytes gather between reads (latency vs. CPU)."""
        return self.link.read_window_s

    @read_window_s.setter
    def read_window_s(self, seconds: float) -> None:
        self.link.read_window_s = seconds

    def close(self) -> None:
        if not self.text and self.link.port is not None:
            with contextlib.suppress(serial.SerialException, OSError, DeviceError):
                self.link.write(b"stop\n")
        self.link.close()


def _nearest_rate(rate: float) -> float:
    """Snap an estimated rate to a common one within 10 %, else round to 1 Hz."""
    best = min(COMMON_RATES, key=lambda r: abs(r - rate))
    return float(best) if abs(best - rate) <= 0.1 * best else float(round(rate))
