"""Serial boards emulated on a pseudo-terminal, fed by the simulator, with faults on demand.

Each emulator opens a pty pair, exposes the slave under a stable path (a symlink, so the
"port" can vanish and come back under the same name), answers the board's commands and
streams simulator EMG encoded byte for byte as the real board would. Tests, benchmarks and
`bruxwatch emulate` use them; nothing here is needed with real hardware.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.signal as sps

from bruxwatch.devices import arduino_protocol as arduino
from bruxwatch.devices import cyton_protocol as cyton
from bruxwatch.emulated.pty_board import PtyEmulator


class CytonEmulator(PtyEmulator):
    """An OpenBCI Cyton behind its dongle: `v`/`b`/`s`/`d`/`x…X`, 33-byte packets at 250 Hz.

    Simulated masseter EMG goes to channels 1 and 2; channels 3-8 carry a few µV of noise.
    Every tenth packet (25 Hz) carries an accelerometer reading: the simulated night's
    (position and movement, `emulated.body`) when its config has `accelerometer`, otherwise
    a wearer lying on their back, gravity on the board's z axis, with a little noise;
    `accel_sent` keeps each (sample number since start, X, Y, Z counts). A simulated night
    with `ecg_lead` puts its ECG on channel 3 (use `cyton:PORT?ecg=3`).
    board_on=False: the dongle answers `v` with a failure; silent=True: nothing answers.
    """

    fs = cyton.FS

    def __init__(self, *args, board_on: bool = True, silent: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.board_on = board_on
        self.silent = silent
        self.gains = [cyton.DEFAULT_GAIN] * cyton.N_CHANNELS
        self._command = bytearray()
        self.accel_sent: list[tuple[int, int, int, int]] = []
        self._posture_rng = np.random.default_rng([self.faults.seed, 25])  # apart from faults

    def on_bytes(self, data: bytes) -> bytes:
        reply = bytearray()
        for byte in data:
            char = chr(byte)
            if self._command:
                self._command.append(byte)
                if char == "X":
                    reply += self._channel_settings(self._command.decode("ascii", "replace"))
                    self._command.clear()
                continue
            if self.silent:
                continue
            if char == "x":
                self._command.append(byte)
            elif char == "v":
                self.stop_stream()
                if self.board_on:
                    reply += (
                        b"OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n"
                        b"LIS3DH Device ID: 0x33\nFirmware: v3.1.2\n$$$"
                    )
                else:
                    reply += b"Failure: Device failed to poll Host$$$"
            elif char == "b" and self.board_on:
                self.start_stream()
            elif char == "s":
                self.stop_stream()
            elif char == "d" and self.board_on:
                self.gains = [cyton.DEFAULT_GAIN] * cyton.N_CHANNELS
                reply += b"updating channel settings to default$$$"
        return bytes(reply)

    def junk_packet(self, size: int) -> bytes:
        """33 bytes with the header and footer of a packet and random contents (a sample
        number that fits nowhere), as radio noise can produce."""
        return bytes([cyton.HEADER]) + super().junk_packet(size - 2) + bytes([0xC0])

    def _channel_settings(self, command: str) -> bytes:
        if self.silent or not self.board_on:
            return b""
        if len(command) != 9 or not command[1].isdigit() or not command[3].isdigit():
            return b"Failure: too few chars$$$"
        channel, gain_code = int(command[1]), int(command[3])
        if not 1 <= channel <= cyton.N_CHANNELS or gain_code >= len(cyton.GAINS):
            return b"Failure: Channel not set$$$"
        self.gains[channel - 1] = cyton.GAINS[gain_code]
        return f"Success: Channel set for {channel}$$$".encode()

    def encode(self, index: int, samples: np.ndarray) -> bytes:
        uv = np.zeros(cyton.N_CHANNELS)
        uv[: samples.shape[0]] = samples[:, 0]
        uv[samples.shape[0] :] = self._rng.normal(0.0, 2.0, cyton.N_CHANNELS - samples.shape[0])
        scales = np.array([cyton.uv_per_count(g) for g in self.gains])
        counts = np.clip(np.rint(uv / scales), -(2**23), 2**23 - 1).astype(np.int64)
        self.last_encoded = counts * scales  # the µV the host should decode
        accel = (0, 0, 0)
        every = round(cyton.FS / cyton.ACCEL_FS)
        if index % every == every - 1:
            if self.sim.config.accelerometer:
                night = self.sim.accel
                g = night[:, (index // every) % night.shape[1]].astype(np.float64)
            else:
                g = np.array([0.0, 0.0, 1.0]) + self._posture_rng.normal(0.0, 0.01, 3)
            x, y, z = (int(v) for v in np.rint(g / cyton.ACCEL_G_PER_COUNT))
            accel = (x, y, z) if (x, y, z) != (0, 0, 0) else (1, 0, 0)
            self.accel_sent.append((index, *accel))
        return cyton.encode_packet(index % 256, counts, accel=accel)


TEXT_FORMS = ("csv", "tab", "space", "labels", "header")
"""How a plain sketch prints each reading, the forms the Arduino Serial Plotter reads:
"512,498", "512\t498", "512 498", "left:512,right:498", and a header line of labels
("left,right", once, when the sketch starts) before comma-separated values."""


class ArduinoEmulator(PtyEmulator):
    """A MyoWare 2.0 on a board running the bruxwatch firmware (or a plain text sketch).

    ADC model: the MyoWare RAW output (gain 200) centred at mid-scale, read by a 12-bit ADC
    at 3.3 V, with ±1 count of ADC noise. Frames carry 10 samples at 1 kHz. `vibrations`
    records every `vibrate` command received; a reconnect resets the board (index from 0),
    as a USB replug does on a real Arduino. text=True (or a form of TEXT_FORMS) prints a line
    per sample instead, with Serial.println's CR LF, as a sketch of one's own would.
    """

    fs = 1000.0
    packet_samples = 10
    bits = 12
    counts_per_uv = 200 * 1e-6 / 3.3 * 4096
    labels = ("left", "right", "ch3", "ch4", "ch5", "ch6", "ch7", "ch8")

    def __init__(self, *args, text: bool | str = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        form = "csv" if text is True else (text or "")
        if form and form not in TEXT_FORMS:
            raise ValueError(f"text form must be one of {', '.join(TEXT_FORMS)}, got {form!r}")
        self.text_form = form
        self.text = bool(form)
        self.vibrations: list[tuple[int, int]] = []
        self._line = bytearray()
        self._index_base = 0  # stream index at the board's last (re)start
        if self.text:
            self.packet_samples = 1

    def start(self) -> ArduinoEmulator:
        super().start()
        if self.text:
            self.sketch_starts()
        return self

    def sketch_starts(self) -> None:
        """A plain sketch's setup(): its banner, then it streams from power-up."""
        if self.text_form == "header":
            names = self.labels[: self.sim.info.n_channels]
            self._write((",".join(names) + "\r\n").encode())
        self.start_stream()

    def on_bytes(self, data: bytes) -> bytes:
        if self.text:
            return b""
        reply = bytearray()
        for byte in data:
            if byte != 0x0A:
                if len(self._line) < 80:
                    self._line.append(byte)
                continue
            words = self._line.decode("ascii", "replace").strip().split()
            self._line.clear()
            if not words:
                continue
            if words[0] == "info":
                reply += (
                    f"#info fw=1.0.0 fs={self.fs:g} bits={self.bits} "
                    f"channels={self.sim.info.n_channels} kind=raw\n"
                ).encode()
            elif words[0] == "start":  # the firmware restarts its index at every start
                self.start_stream()
                self._index_base = self._sent
            elif words[0] == "stop":
                self.stop_stream()
            elif words[0] == "vibrate" and len(words) == 3 and all(w.isdigit() for w in words[1:]):
                ms, strength = int(words[1]), int(words[2])
                self.vibrations.append((ms, strength))
                reply += f"#ok vibrate {ms} {strength}\n".encode()
            else:
                reply += f"#error unknown command {' '.join(words)[:40]}\n".encode()
        return bytes(reply)

    def _counts(self, samples: np.ndarray) -> np.ndarray:
        mid = 2 ** (self.bits - 1)
        noise = self._rng.integers(-1, 2, samples.shape)
        counts = np.rint(mid + samples * self.counts_per_uv) + noise
        return np.clip(counts, 0, 2**self.bits - 1).astype(np.int64)

    def encode(self, index: int, samples: np.ndarray) -> bytes:
        counts = self._counts(samples)
        self.last_encoded = counts
        if self.text:
            return b"".join(self.text_line(col) for col in counts.T.tolist())
        return arduino.encode_frame(index - self._index_base, counts)

    def text_line(self, values: list) -> bytes:
        """One reading as the sketch prints it (Serial.println: CR LF at the end)."""
        if self.text_form == "labels":
            text = ",".join(f"{name}:{v}" for name, v in zip(self.labels, values, strict=False))
        else:
            sep = {"tab": "\t", "space": " "}.get(self.text_form, ",")
            text = sep.join(map(str, values))
        return text.encode() + b"\r\n"

    def on_reconnect(self) -> None:
        if not self.text:  # opening the port resets an Arduino: it waits for `start` again
            self.stop_stream()
        else:  # a plain sketch starts over: its banner again, then readings
            self.stop_stream()
            self.sketch_starts()

    def on_reset(self) -> None:
        if not self.text:
            self.stop_stream()
        else:  # a brown-out: the sketch's setup() runs again, a second or so later
            self.stop_stream()
            self._silent_until = time.monotonic() + 1.0
            self.sketch_starts()


class MyoWareSketchEmulator(ArduinoEmulator):
    """SparkFun's "MyoWare Example_01_analogRead_SINGLE" on an Arduino Uno: a banner line, then
    `analogRead(A0)` of the MyoWare 2.0's ENV output printed with `Serial.println` and
    `delay(50)`, so about 19.8 readings a second (the loop takes a little longer than 50 ms).

    ENV model: the MyoWare band-limits, rectifies and smooths the amplified EMG; here the
    simulated EMG band-passed 20-450 Hz, then the moving mean of |x| over 100 ms, scaled so a
    maximal clench reads about 600 of the Uno's 0-1023 counts, on a floor of 10 counts.
    """

    fs = 19.8
    sim_fs = 1000.0
    bits = 10
    banner = b"MyoWare Example_01_analogRead_SINGLE\r\n"
    counts_per_uv = 2.4

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("channels", 1)
        super().__init__(*args, text="csv", **kwargs)
        channels = self.sim.info.n_channels
        self._window = np.zeros((channels, 0), dtype=np.float32)
        # the sensor's own band limit: no offset, wander or hum reaches its rectifier
        self._sos = sps.butter(4, [20.0, 450.0], btype="bandpass", fs=self.sim_fs, output="sos")
        self._zi = np.zeros((self._sos.shape[0], channels, 2))

    def sketch_starts(self) -> None:
        self._write(self.banner)
        self.start_stream()

    def _take(self, n: int) -> np.ndarray:
        """n ENV readings, one every 1/fs s, from the 1-kHz simulated EMG."""
        if n <= 0:
            return np.zeros((self.sim.info.n_channels, 0))
        step = self.sim_fs / self.fs
        raw = super()._take(int(round(n * step)))
        raw, self._zi = sps.sosfilt(self._sos, raw, axis=-1, zi=self._zi)
        rectified = np.abs(np.concatenate((self._window, raw), axis=1))
        width = int(0.1 * self.sim_fs)
        self._window = raw[:, -width:]
        ends = np.round((np.arange(n) + 1) * step).astype(int) + rectified.shape[1] - raw.shape[1]
        cumulative = np.concatenate(
            (np.zeros((rectified.shape[0], 1)), np.cumsum(rectified, axis=1)), axis=1
        )
        starts = np.maximum(ends - width, 0)
        return (cumulative[:, ends] - cumulative[:, starts]) / np.maximum(ends - starts, 1)

    def _counts(self, envelope: np.ndarray) -> np.ndarray:
        noise = self._rng.integers(-1, 2, envelope.shape)
        counts = np.rint(10 + envelope * self.counts_per_uv) + noise
        return np.clip(counts, 0, 2**self.bits - 1).astype(np.int64)
