"""MyoWare 2.0 on an Arduino (or ESP32/nRF52) over USB serial, as a Device yielding ADC counts.

Two modes:
- bruxwatch firmware (`arduino:`): binary frames with a sample index and CRC (arduino_protocol);
  the board describes itself in answer to `info`, and drives the vibration motor on `vibrate`.
- any sketch printing numbers per line (`arduino-text:`), in any form the Arduino Serial
  Plotter reads: the sample rate is given with `?fs=` or estimated from the first two seconds
  of lines and reported. A rate too low for band-passing raw EMG (below MIN_RAW_FS, like
  SparkFun's MyoWare examples printing the ENV output about 20 times a second) is taken as an
  envelope; `?signal=env|raw` says which it is.

Silence with the port open is noticed by the link (SerialLink): the board is restarted (the
firmware) or waited for (a plain sketch), and the samples after it are placed by the host
clock, from the last sample before to the first after.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

import numpy as np
import serial

from bruxwatch.devices import arduino_protocol as proto
from bruxwatch.devices.base import DeviceError, DeviceSpec
from bruxwatch.devices.options import no_more, pop_number, pop_whole_number
from bruxwatch.devices.serial_link import SerialBoard, SerialLink
from bruxwatch.stream import MIN_RAW_FS, Chunk, ChunkRun, StreamInfo

log = logging.getLogger(__name__)
INFO_TIMEOUT_S = 3.0
FS_ESTIMATE_S = 2.0
NO_NUMBERS_S = 5.0
"""Seconds of lines without one line of numbers before a text sketch is refused."""
COMMON_RATES = (10, 20, 25, 50, 100, 125, 200, 250, 500, 1000, 2000)
SIGNALS = {"env": "envelope", "envelope": "envelope", "raw": "raw"}


class ArduinoBoard(SerialBoard):
    """A MyoWare sensor board. `info` is complete once `chunks()` has started."""

    def __init__(
        self,
        port: str,
        *,
        baud: int = 115200,
        text: bool = False,
        fs: float | None = None,
        kind: str | None = None,
        reconnect: bool = True,
        info_timeout_s: float = INFO_TIMEOUT_S,
    ) -> None:
        """kind: "raw" or "envelope" for a text sketch; None guesses from the rate."""
        if fs is not None and not (fs > 0 and np.isfinite(fs)):
            raise DeviceError(f"sample rate must be a positive number of Hz, got {fs:g}")
        if kind not in (None, "raw", "envelope"):
            raise DeviceError(f"signal must be env or raw, got {kind!r}")
        if kind == "raw" and fs is not None and fs < MIN_RAW_FS:
            raise DeviceError(
                f"{fs:g} Hz is too slow for raw EMG (at least {MIN_RAW_FS:g} Hz); a sketch this "
                "slow prints an envelope: use ?signal=env"
            )
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
        self._described = False
        self.link = SerialLink(
            port, baud, self._handshake, reconnect=reconnect, restartable=not text
        )
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
        fs = board.fs
        top = float(2**board.bits - 1)
        self.info = StreamInfo(
            fs=fs,
            channels=tuple(f"ch{i + 1}" for i in range(board.channels)),
            units="counts",
            kind="envelope" if board.kind == "envelope" else "raw",
            device=f"{self._name()} (firmware {board.firmware})",
            rails=(0.0, top),
            steps=(1.0,) * board.channels,
        )
        offset = 0  # host index = board index + offset (the board restarts at 0 on a reset)
        expected: int | None = None
        last_time = 0.0  # host time of the last sample placed (s)
        reconnects = self.link.reconnects
        broken = False
        for data in self.link.read():
            decoded = self.frames.feed(data)
            self.messages += decoded.messages
            now = time.monotonic()
            if self.link.reconnects != reconnects:  # an outage: until the next frame
                broken, reconnects = expected is not None, self.link.reconnects
            total = sum(counts.shape[1] for _, counts in decoded.frames)
            run = ChunkRun()  # consecutive frames of this read become one chunk
            done_so_far = 0
            for first, counts in decoded.frames:
                n = counts.shape[1]
                # when this frame's first sample arrived, the read's last one arriving now
                arrived = now - (total - done_so_far - 1) / fs
                done_so_far += n
                index = first + offset
                if broken and expected is not None:
                    broken = False
                    if index < expected:  # the board restarted: place it by the host clock
                        lost = max(0, round((arrived - last_time) * fs) - 1)
                        offset = expected + lost - first
                        index = first + offset
                if expected is not None and index < expected:
                    continue  # a repeated or stale frame
                missing = 0 if expected is None else index - expected
                if done := run.add(index, counts.astype(np.float32), missing):
                    yield done
                expected = index + n
                last_time = arrived + (n - 1) / fs
            if last := run.take():
                yield last

    def _text_chunks(self) -> Iterator[Chunk]:
        pending: list[np.ndarray] = []
        started = time.monotonic()
        index = 0
        last_time = 0.0  # host time of the last sample (s)
        reconnects = self.link.reconnects
        for data in self.link.read():
            samples = self.lines.feed(data)
            now = time.monotonic()
            if self.lines.lines == 0 and now - started >= NO_NUMBERS_S:
                seen = f' (last line: "{self.lines.last_bad}")' if self.lines.last_bad else ""
                raise DeviceError(
                    f"{self.port_path}: no lines of numbers in {now - started:.0f} s{seen}; check "
                    "the baud rate and that the sketch prints readings, one sample per line"
                )
            if self.fs is None:  # estimate the rate from the first seconds of lines
                if samples.shape[1]:
                    pending.append(samples)
                elapsed = now - started
                if elapsed < FS_ESTIMATE_S or not pending:
                    continue
                count = sum(p.shape[1] for p in pending)
                self.fs = _nearest_rate(count / elapsed)
                self.fs_estimated = True
                log.warning(
                    "%s: sample rate estimated as %g Hz; give ?fs= to be exact",
                    self.port_path,
                    self.fs,
                )
                samples = np.concatenate(pending, axis=1)
                pending = []
            n = samples.shape[1]
            if n == 0:
                continue
            self._describe_text(samples.shape[0])
            arrived = now - (n - 1) / self.fs
            missing = 0
            if self.link.reconnects != reconnects and index:
                # after a silence: the lines since are placed by the host clock
                missing = max(0, round((arrived - last_time) * self.fs) - 1)
                index += missing
            reconnects = self.link.reconnects
            yield Chunk(index, samples, missing)
            index += n
            last_time = now

    def _describe_text(self, channels: int) -> None:
        """The text stream's StreamInfo, once its channels and rate are known (the first line
        of numbers fixes the channels for good)."""
        assert self.fs is not None
        if self._described:
            return
        kind = self.kind or ("envelope" if self.fs < MIN_RAW_FS else "raw")
        if kind == "raw" and self.fs < MIN_RAW_FS:
            raise DeviceError(
                f"{self.port_path}: {self.fs:g} Hz is too slow for raw EMG (at least "
                f"{MIN_RAW_FS:g} Hz); a sketch this slow prints an envelope: use ?signal=env"
            )
        names = self.lines.names or tuple(f"ch{i + 1}" for i in range(channels))
        self.info = StreamInfo(
            fs=self.fs,
            channels=tuple(names),
            units="counts",
            kind=kind,
            device=f"{self._name()} ({'envelope' if kind == 'envelope' else 'raw EMG'})",
            steps=(1.0,) * len(names),  # whole counts (a sketch printing decimals: floats)
        )
        self._described = True

    # ------------------------------------------------------------------------ commands
    @property
    def has_motor(self) -> bool:
        """The bruxwatch firmware drives a motor; a plain text sketch takes no commands."""
        return not self.text

    def vibrate(self, ms: int, strength: int = 255) -> None:
        """Buzz the board's motor for `ms` milliseconds at PWM `strength` 0-255."""
        if self.text:
            raise DeviceError("a plain text sketch has no vibration command")
        ms, strength = int(np.clip(ms, 1, 5000)), int(np.clip(strength, 0, 255))
        self.link.write(f"vibrate {ms} {strength}\n".encode("ascii"))

    def close(self) -> None:
        if not self.text and self.link.port is not None:
            with contextlib.suppress(serial.SerialException, OSError, DeviceError):
                self.link.write(b"stop\n")
        self.link.close()


def _nearest_rate(rate: float) -> float:
    """Snap an estimated rate to a common one within 10 %, else round to 1 Hz."""
    best = min(COMMON_RATES, key=lambda r: abs(r - rate))
    return float(best) if abs(best - rate) <= 0.1 * best else float(round(rate))


def open_spec(spec: DeviceSpec, options: dict[str, str], realtime: bool) -> ArduinoBoard:
    """`arduino:/dev/ttyACM0?baud=115200` (bruxwatch firmware frames) or
    `arduino-text:/dev/ttyACM0?fs=500&signal=env` (any sketch printing numbers per line)."""
    baud = pop_whole_number(options, "baud", "115200")
    fs = pop_number(options, "fs", None)
    signal = options.pop("signal", None)
    if signal is not None and signal not in SIGNALS:
        raise ValueError(f"signal must be env or raw, got {signal!r}")
    no_more(spec.scheme, options)
    return ArduinoBoard(
        spec.target,
        baud=baud,
        text=spec.scheme == "arduino-text",
        fs=fs,
        kind=None if signal is None else SIGNALS[signal],
    )
