"""The bruxwatch serial protocol between an Arduino (or ESP32/nRF52) running
hardware/firmware/bruxwatch_emg and the host, plus plain text lines from any sketch.
The reference is hardware/README.md ("Serial protocol"); this module and the firmware follow it.

Board → host, binary sample frame (little-endian):
    0-1   sync word 0xA5 0x5A
    2     protocol version (1)
    3     frame type (1 = samples)
    4-7   index of the frame's first sample since `start` (uint32)
    8     channels C (1-8)
    9     samples per channel N (1-64)
    10-   N × C uint16 ADC counts, sample-major (s0c0, s0c1, s1c0, ...)
    last  CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of bytes 2 .. end of samples, uint16
Board → host, binary motion frame (boards with an IMU, whose info says `imu=25`): the same
    layout with frame type 2, the index of the frame's first reading since `start` on the
    IMU's own clock (reading k was taken with sample k x fs / imu, so both streams keep one
    time), C = 3 (X, Y, Z) and N x 3 int16 accelerations in mg (thousandths of g).
Board → host, binary pulse frame (boards with a pulse sensor, whose info says `ppg=50`):
    frame type 3, the first reading's index on the sensor's clock (reading m with sample
    m x fs / ppg), C = 1 and N uint16 readings (a PPG's infrared reflection, in counts).
Board → host, text: lines starting with '#', e.g. "#info fw=1.0.0 fs=1000 bits=10
channels=2 kind=raw", "#ok vibrate 200 180", "#error ...".
Host → board, text lines: "start", "stop", "info", "vibrate <ms 1-5000> <strength 0-255>".
"""

from __future__ import annotations

import binascii
import re
import struct
from dataclasses import dataclass, field

import numpy as np

SYNC = b"\xa5\x5a"
VERSION = 1
TYPE_SAMPLES = 1
TYPE_MOTION = 2
TYPE_PULSE = 3
G_PER_MOTION_COUNT = 0.001
HEADER_SIZE = 10
CRC_SIZE = 2
MAX_CHANNELS = 8
MAX_SAMPLES = 64
MAX_TEXT_LINE = 160


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(first_index: int, counts: np.ndarray) -> bytes:
    """One sample frame from counts (channels, n) — what the firmware sends."""
    counts = np.asarray(counts)
    channels, n = counts.shape
    if not (1 <= channels <= MAX_CHANNELS and 1 <= n <= MAX_SAMPLES):
        raise ValueError(f"frame must hold 1-{MAX_CHANNELS} channels and 1-{MAX_SAMPLES} samples")
    body = struct.pack("<BBIBB", VERSION, TYPE_SAMPLES, first_index & 0xFFFFFFFF, channels, n)
    body += np.clip(counts, 0, 0xFFFF).astype("<u2").T.tobytes()
    return SYNC + body + struct.pack("<H", crc16_ccitt(body))


@dataclass
class Frames:
    """Decoded frames: (first index, counts (channels, n) uint16), motion frames (first
    reading index, (3, n) int16 mg), pulse frames (first reading index, (1, n) uint16) and
    text messages, each in order."""

    frames: list[tuple[int, np.ndarray]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    motion: list[tuple[int, np.ndarray]] = field(default_factory=list)
    pulse: list[tuple[int, np.ndarray]] = field(default_factory=list)


class FrameParser:
    """Incremental decoder for the binary protocol; resyncs on the sync word.

    Frames failing the CRC are dropped and counted in `crc_errors`; bytes that belong to
    neither a frame nor a '#' text line are counted in `skipped_bytes`.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.crc_errors = 0
        self.skipped_bytes = 0
        self.frames = 0

    def feed(self, data: bytes) -> Frames:
        buf = self._buffer
        buf += data
        out = Frames()
        i, n = 0, len(buf)
        while i < n:
            byte = buf[i]
            if byte == SYNC[0]:
                if n - i < HEADER_SIZE:
                    if n - i >= 2 and buf[i + 1] != SYNC[1]:
                        self._skip(1)
                        i += 1
                        continue
                    break
                if buf[i + 1] != SYNC[1] or not self._plausible(buf, i):
                    self._skip(1)
                    i += 1
                    continue
                channels, samples = buf[i + 8], buf[i + 9]
                size = HEADER_SIZE + 2 * channels * samples + CRC_SIZE
                if n - i < size:
                    break
                body = bytes(buf[i + 2 : i + size - CRC_SIZE])
                (crc,) = struct.unpack_from("<H", buf, i + size - CRC_SIZE)
                if crc != crc16_ccitt(body):
                    self.crc_errors += 1
                    self._skip(1)
                    i += 1
                    continue
                (first,) = struct.unpack_from("<I", body, 2)
                if body[1] == TYPE_MOTION:
                    values = np.frombuffer(body, dtype="<i2", offset=8)
                    out.motion.append((first, values.reshape(samples, channels).T.copy()))
                elif body[1] == TYPE_PULSE:
                    values = np.frombuffer(body, dtype="<u2", offset=8)
                    out.pulse.append((first, values.reshape(samples, channels).T.copy()))
                else:
                    counts = np.frombuffer(body, dtype="<u2", offset=8)
                    out.frames.append((first, counts.reshape(samples, channels).T.copy()))
                self.frames += 1
                i += size
            elif byte == ord("#"):
                j = i + 1  # a message is printable ASCII up to a newline
                while j < n and j - i < MAX_TEXT_LINE and (0x20 <= buf[j] < 0x7F or buf[j] == 0x0D):
                    j += 1
                if j < n and buf[j] == 0x0A:
                    out.messages.append(buf[i:j].decode("ascii").strip())
                    i = j + 1
                elif j == n and j - i < MAX_TEXT_LINE:
                    break  # wait for the rest of the line
                else:
                    self._skip(1)
                    i += 1
            else:
                j = _next_start(buf, i + 1)
                self._skip(j - i)
                i = j
        del buf[:i]
        return out

    def _skip(self, count: int) -> None:
        self.skipped_bytes += count

    @staticmethod
    def _plausible(buf: bytearray, i: int) -> bool:
        return (
            buf[i + 2] == VERSION
            and (
                buf[i + 3] == TYPE_SAMPLES
                or (buf[i + 3] == TYPE_MOTION and buf[i + 8] == 3)
                or (buf[i + 3] == TYPE_PULSE and buf[i + 8] == 1)
            )
            and 1 <= buf[i + 8] <= MAX_CHANNELS
            and 1 <= buf[i + 9] <= MAX_SAMPLES
        )


def _next_start(buf: bytearray, start: int) -> int:
    candidates = [p for p in (buf.find(SYNC[:1], start), buf.find(b"#", start)) if p != -1]
    return min(candidates) if candidates else len(buf)


@dataclass(frozen=True)
class BoardInfo:
    """The firmware's answer to `info`."""

    firmware: str
    fs: float
    bits: int
    channels: int
    kind: str
    imu: float | None = None  # IMU readings per second (motion frames), None: no IMU
    ppg: float | None = None  # pulse readings per second (pulse frames), None: no sensor

    @classmethod
    def parse(cls, message: str) -> BoardInfo:
        """From "#info fw=1.0.0 fs=1000 bits=10 channels=2 kind=raw" (and " imu=25" from a
        board with an IMU, " ppg=50" from one with a pulse sensor)."""
        fields = dict(re.findall(r"(\w+)=(\S+)", message))
        try:
            return cls(
                firmware=fields.get("fw", "?"),
                fs=float(fields["fs"]),
                bits=int(fields.get("bits", "10")),
                channels=int(fields.get("channels", "1")),
                kind=fields.get("kind", "raw"),
                imu=float(fields["imu"]) if float(fields.get("imu", "0")) > 0 else None,
                ppg=float(fields["ppg"]) if float(fields.get("ppg", "0")) > 0 else None,
            )
        except (KeyError, ValueError):
            raise ValueError(f"unreadable info line {message!r}") from None


class TextLineParser:
    """Lines of numbers from any sketch, in every form the Arduino Serial Plotter accepts.

    Values are separated by commas, tabs, spaces or semicolons; each may carry a label
    (``env:512,raw:498``, the Serial Plotter's `label:value` form); a line of labels alone
    (``ENV,RAW,REF``) names the channels of the lines that follow it when the counts agree.
    Text before the first newline is dropped (the port may open mid-line). The first line of
    numbers fixes the channel count; lines that do not parse (a sketch's title, "Connecting
    ..."), or have another count, are skipped and counted in `bad_lines`, the last of them
    kept in `last_bad` for messages. Values are kept as written, even if not finite: the
    signal chain flags impossible values, so one bad line cannot poison a night.
    """

    def __init__(self, channels: int | None = None) -> None:
        self._buffer = bytearray()
        self._synced = False
        self.channels = channels
        self.names: tuple[str, ...] | None = None
        self._header: tuple[str, ...] | None = None
        self.bad_lines = 0
        self.last_bad = ""
        self.lines = 0

    def feed(self, data: bytes) -> np.ndarray:
        """Samples (channels, k) float32 of the complete lines in `data`."""
        if not self._synced:
            newline = data.find(b"\n")
            if newline == -1:
                return np.zeros((self.channels or 1, 0), dtype=np.float32)
            data, self._synced = data[newline + 1 :], True
        self._buffer += data
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest[-MAX_TEXT_LINE:])
        rows = []
        for raw in lines:
            values = self._values(raw)
            if values is None:
                continue
            if self.channels is None:
                self.channels = len(values)
            if len(values) != self.channels:
                self._bad(raw)
                continue
            if self.names is None:
                header = self._header or ()
                self.names = header if len(header) == len(values) else ()
            rows.append(values)
        self.lines += len(rows)
        if not rows:
            return np.zeros((self.channels or 1, 0), dtype=np.float32)
        with np.errstate(over="ignore"):  # 1e39 becomes inf: flagged downstream, not here
            return np.asarray(rows, dtype=np.float32).T.copy()

    def _values(self, raw: bytes) -> list[float] | None:
        text = raw.decode("ascii", "replace").strip()
        if not text:
            return None
        tokens = _TOKEN_SPLIT.split(text)
        values: list[float] = []
        labels: list[str] = []
        for token in filter(None, tokens):
            label, colon, value = token.rpartition(":")
            try:
                values.append(float(value))
            except ValueError:
                values = []
                break
            labels.append(label if colon else "")
        if values:
            if self.names is None and all(labels) and len(set(labels)) == len(labels):
                self._header = tuple(labels)
            return values
        words = [t for t in tokens if t]
        if words and all(_LABEL.fullmatch(w) for w in words) and self.channels is None:
            self._header = tuple(words)  # a header line of labels, perhaps
            return None
        self._bad(raw)
        return None

    def _bad(self, raw: bytes) -> None:
        self.bad_lines += 1
        self.last_bad = raw.decode("ascii", "replace").strip()[:60]


_TOKEN_SPLIT = re.compile(r"[,;\t ]+")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
