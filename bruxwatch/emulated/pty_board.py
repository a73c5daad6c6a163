"""A board on a pseudo-terminal: the pty pair under a stable path (a symlink, so the "port"
can vanish and come back under the same name), the faults to inject (`Faults`) and the
streaming loop the emulated boards of `serial_boards.py` share.
"""

from __future__ import annotations

import contextlib
import os
import select
import tempfile
import threading
import time
import tty
from dataclasses import dataclass, field

import numpy as np

from bruxwatch.emulated.simulator import Simulator, SimulatorConfig
from bruxwatch.stream import EMG


@dataclass
class Faults:
    """Faults to inject, per packet or frame sent (probabilities 0-1) and in stream time (s).

    corrupt: flip one random byte; drop: leave the packet out; garbage: insert 5-40 random
    bytes before it; duplicate: send it twice; junk: insert a packet-sized run of bytes that
    looks like a packet (right header and footer, random inside);
    vanish_at_s/vanish_for_s: the port disappears at that stream time for that long (wall
    clock), then comes back under the same path; stall_at_s/stall_for_s: the board goes
    silent with its port open (a radio link lost), answering nothing, then carries on by
    itself; reset_at_s: the board resets with its port open (a brown-out) and waits for the
    host to start it again. The stream clock runs on through every fault.
    """

    corrupt: float = 0.0
    drop: float = 0.0
    garbage: float = 0.0
    duplicate: float = 0.0
    junk: float = 0.0
    vanish_at_s: float | None = None
    vanish_for_s: float = 2.0
    stall_at_s: float | None = None
    stall_for_s: float = 3.0
    reset_at_s: float | None = None
    seed: int = 0

    RATES = ("corrupt", "drop", "garbage", "duplicate", "junk")

    @classmethod
    def parse(cls, text: str) -> Faults:
        """From ``corrupt=0.01,drop=0.005,duplicate=0.001,junk=0.001,vanish=10:2,stall=20:3,
        reset=30`` (vanish/stall=AT:FOR seconds, reset=AT seconds)."""
        faults = cls()
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, eq, value = part.partition("=")
            if not eq:
                raise ValueError(f"fault {part!r} is not name=value")
            try:
                if key in ("vanish", "stall"):
                    at, _, length = value.partition(":")
                    setattr(faults, f"{key}_at_s", float(at))
                    if length:
                        setattr(faults, f"{key}_for_s", float(length))
                elif key == "reset":
                    faults.reset_at_s = float(value)
                elif key in cls.RATES:
                    setattr(faults, key, float(value))
                elif key == "seed":
                    faults.seed = int(value)
                else:
                    raise ValueError(
                        f"unknown fault {key!r} ({', '.join(cls.RATES)}, vanish, stall, reset)"
                    )
            except ValueError as exc:
                if "unknown fault" in str(exc):
                    raise
                raise ValueError(f"fault {part!r}: {value!r} is not a number") from None
        return faults


@dataclass
class SentLog:
    """What an emulator sent (for tests): sample numbers or indices and raw values."""

    numbers: list[int] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


class PtyEmulator:
    """Base: the pty, the stable path, pacing, fault injection and command dispatch."""

    fs: float = 250.0
    packet_samples = 1  # samples per packet or frame
    sim_fs: float | None = None  # the simulator's rate when the board resamples (else fs)

    def __init__(
        self,
        scenario: str = "awake",
        *,
        seed: int = 0,
        speed: float = 1.0,
        faults: Faults | None = None,
        channels: int = 2,
        record: bool = False,
        **simulator: object,
    ) -> None:
        """simulator: further SimulatorConfig fields (episodes_per_hour=..., duration_s=...)."""
        self.speed = speed
        self.faults = faults or Faults()
        self._rng = np.random.default_rng(self.faults.seed)
        self.sim = Simulator(
            SimulatorConfig(
                scenario=scenario,
                fs=self.sim_fs or self.fs,
                channels=channels,
                seed=seed,
                chunk_s=1.0,
                **simulator,
            )
        )
        self._samples = self.sim.chunks()
        self._buffer = np.zeros((self.sim.info.n_channels, 0), dtype=np.float32)
        self.log = SentLog() if record else None
        self.commands: list[bytes] = []
        self.streaming = False
        self._sent = 0  # samples of the stream clock so far, sent or not
        self._stream_t0: float | None = None  # wall clock of sample 0 (the first `start`)
        self._vanished = self._stalled = self._reset_done = False
        self._silent_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dir = tempfile.mkdtemp(prefix="bruxwatch-")
        self.path = os.path.join(self._dir, type(self).__name__.lower().replace("emulator", ""))
        self._master = self._slave = -1

    # ----------------------------------------------------------------------- lifecycle
    def start(self) -> PtyEmulator:
        self._open_pty()
        self._thread = threading.Thread(
            target=self._serve, name=f"{self.path} emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._close_pty()
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)

    def __enter__(self) -> PtyEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open_pty(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)  # nobody reading: data is lost, as on a real port
        tmp = self.path + ".new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(self._slave), tmp)
        os.replace(tmp, self.path)

    def _close_pty(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    # ---------------------------------------------------------------------------- loop
    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.005)
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if data and not self.stalled:
                    self.commands.append(data)
                    reply = self.on_bytes(data)
                    if reply:
                        self._write(reply)
            if self.streaming:
                self._stream_due()

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # includes BlockingIOError when the buffer is full
            os.write(self._master, data)

    def start_stream(self) -> None:
        """Stream from now on. The stream clock starts at the first `start` and runs on when
        streaming stops (as the wearer's time does): samples meanwhile are never sent."""
        if self.streaming:
            return
        if self._stream_t0 is None:
            self._stream_t0 = time.monotonic()
        self._skip_to(self._due())
        self.streaming = True

    def stop_stream(self) -> None:
        self.streaming = False

    @property
    def stream_index(self) -> int:
        """Samples of the stream clock so far (sent or not)."""
        return self._sent

    def _due(self) -> int:
        if self._stream_t0 is None:
            return 0
        due = int((time.monotonic() - self._stream_t0) * self.fs * self.speed)
        return due - due % self.packet_samples

    def _skip_to(self, due: int) -> None:
        if due > self._sent:
            self._take(due - self._sent)  # never sent
            self._sent = due

    def _stream_due(self) -> None:
        due = self._due()
        if due <= self._sent:
            return
        f, at_s = self.faults, due / self.fs
        if f.vanish_at_s is not None and not self._vanished and at_s >= f.vanish_at_s:
            self._vanish()
            return
        if f.stall_at_s is not None and not self._stalled and at_s >= f.stall_at_s:
            self._stalled = True
            self._silent_until = time.monotonic() + f.stall_for_s
        if time.monotonic() < self._silent_until:
            self._skip_to(due)
            return
        if f.reset_at_s is not None and not self._reset_done and at_s >= f.reset_at_s:
            self._reset_done = True
            self.on_reset()
            return
        samples = self._take(due - self._sent)
        out = bytearray()
        for k in range(0, samples.shape[1], self.packet_samples):
            block = samples[:, k : k + self.packet_samples]
            packet = self.encode(self._sent + k, block)
            if self.log is not None:
                self.log.numbers.append(self._sent + k)
                self.log.values.append(self.last_encoded)
            if f.drop and self._rng.random() < f.drop:
                if self.log is not None:
                    self.log.dropped.append(self._sent + k)
                continue
            if f.garbage and self._rng.random() < f.garbage:
                out += self._rng.integers(
                    0, 256, int(self._rng.integers(5, 41)), dtype=np.uint8
                ).tobytes()
            if f.junk and self._rng.random() < f.junk:
                out += self.junk_packet(len(packet))
            if f.corrupt and self._rng.random() < f.corrupt:
                packet = bytearray(packet)
                packet[int(self._rng.integers(len(packet)))] ^= int(self._rng.integers(1, 256))
                packet = bytes(packet)
            out += packet
            if f.duplicate and self._rng.random() < f.duplicate:
                out += packet
        self._sent = due
        self._write(bytes(out))

    def _vanish(self) -> None:
        """The port disappears (wall clock), the stream clock runs on, then it comes back."""
        self._vanished = True
        self._close_pty()
        deadline = time.monotonic() + self.faults.vanish_for_s
        while time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.01)
        self._skip_to(self._due())  # the samples of the outage are never sent
        self._open_pty()
        self.on_reconnect()

    @property
    def stalled(self) -> bool:
        """Stalled: nothing is sent and no command is answered."""
        return time.monotonic() < self._silent_until

    def _take(self, n: int) -> np.ndarray:
        while self._buffer.shape[1] < n:
            try:
                chunk = next(self._samples)
            except StopIteration:  # the simulated recording ended: start it again
                self._samples = self.sim.chunks()
                chunk = next(self._samples)
            if chunk.stream != EMG:  # the accelerometer: boards that have one take it whole
                continue
            self._buffer = np.concatenate((self._buffer, chunk.samples), axis=1)
        out, self._buffer = self._buffer[:, :n], self._buffer[:, n:]
        return out

    # ----------------------------------------------------------------- board behaviour
    last_encoded: np.ndarray = np.zeros(0)

    def on_bytes(self, data: bytes) -> bytes:
        """Bytes written by the host; returns the board's answer."""
        raise NotImplementedError

    def encode(self, index: int, samples: np.ndarray) -> bytes:
        """One packet or frame for the samples starting at stream sample `index`."""
        raise NotImplementedError

    def on_reconnect(self) -> None:
        """The port is back (a USB replug): what the board does then."""

    def on_reset(self) -> None:
        """The board resets with its port open (brown-out): it stops until started again."""
        self.stop_stream()

    def junk_packet(self, size: int) -> bytes:
        """Bytes that look like a packet but are not one (random inside)."""
        return self._rng.integers(0, 256, size, dtype=np.uint8).tobytes()
