"""BLE boards without Bluetooth: the Ganglion and the bruxwatch BLE board emulated behind
the fake bleak backend of `ble_radio.py`. The peripherals encode the simulator's signal
themselves, written from the vendors' documents (OpenBCI "Ganglion Data Format" for the
Ganglion, hardware/README.md for the bruxwatch BLE board), independently of the host
decoders they test.

Used by the tests, and by `ganglion:emulated` / `ble:emulated` device specs so the whole BLE
path can be tried on a laptop without a radio.
"""

from __future__ import annotations

import asyncio
import binascii
import struct

import numpy as np

from bruxwatch.devices import ganglion_protocol as gp
from bruxwatch.emulated.ble_radio import BleFaults, FakePeripheral
from bruxwatch.emulated.body import ACCEL_FS, PPG_FS
from bruxwatch.emulated.simulator import SimulatorConfig


class WornPeripheral(FakePeripheral):
    """An emulated board on a simulated wearer: 24 h of `scenario` at `fs` Hz on `channels`
    channels, in chunks of `chunk_s` (s, a notification's worth), streamed at `speed` x real
    time (0: as fast as possible). The boards below pass `speed`, `scenario`, `faults` and
    `episodes_per_hour` on as `**wearing`."""

    def __init__(
        self,
        address: str,
        *,
        fs: float,
        channels: int,
        chunk_s: float,
        seed: int,
        speed: float = 1.0,
        scenario: str = "awake",
        faults: BleFaults | None = None,
        episodes_per_hour: float | None = 120.0,
    ) -> None:
        super().__init__(address, faults)
        self.speed = speed
        self.sim_config = SimulatorConfig(
            scenario=scenario,  # type: ignore[arg-type]
            fs=fs,
            channels=channels,
            seed=seed,
            chunk_s=chunk_s,
            duration_s=24 * 3600,
            episodes_per_hour=episodes_per_hour,
        )


# --------------------------------------------------------------------------- Ganglion
def pack_bits(values: list[int], bits: int, size: int) -> bytes:
    """Pack `values` (each already `bits` wide, unsigned) MSB first into `size` bytes."""
    word = 0
    for v in values:
        word = (word << bits) | (v & ((1 << bits) - 1))
    used = bits * len(values)
    return (word << (size * 8 - used)).to_bytes(size, "big")


def sign_in_lsb(value: int, bits: int) -> int:
    """The firmware's trick: keep the low `bits` bits and put the sign bit into bit 0."""
    return ((value & ((1 << bits) - 1)) & ~1) | (1 if value < 0 else 0)


class GanglionPeripheral(WornPeripheral):
    """An OpenBCI Ganglion: service fe84, `b`/`s` on the send characteristic, 20-byte packets
    on the receive characteristic at 100 per second (200 Hz, 2 samples a packet).

    Firmware 2: a raw packet (id 0, four 24-bit counts), then 100 packets of 19-bit deltas
    (ids 101-200), repeating. Firmware 3: the samples' top 18 or 19 bits (ids 0-99 / 100-199).
    With the accelerometer on (`n`, off with `N`; a disconnect switches it off, as the
    firmware does; `accel=True` starts with it on) the packets are 18-bit, and the last byte
    of those whose id ends in 1, 2, 3 carries the wearer's accelerometer X, Y, Z (signed,
    16 mg per count; the other packets repeat the byte before, as the firmware's buffer
    does). Written from the Ganglion firmware's source (sendCompressedPacket18).
    `sent` keeps, per sample, the true counts; `transmitted` what a receiver can rebuild;
    `accel_sent` each accelerometer reading as (sample number of its Z packet in the
    wearer's night, X, Y, Z counts).
    """

    name = "Ganglion-emulated"

    def __init__(
        self,
        address: str = "EE:EE:00:00:00:01",
        *,
        firmware: int = 2,
        accel: bool = False,
        seed: int = 3,
        **wearing,
    ) -> None:
        super().__init__(address, fs=gp.FS, channels=4, chunk_s=0.01, seed=seed, **wearing)
        self.firmware, self.accel = firmware, accel
        self.gatt = {
            gp.SERVICE_UUID: {
                gp.RECEIVE_UUID: ["notify"],
                gp.SEND_UUID: ["write-without-response", "write"],
                gp.DISCONNECT_UUID: ["write"],
            },
            "0000180a-0000-1000-8000-00805f9b34fb": {gp.SOFTWARE_REVISION_UUID: ["read"]},
        }
        self.values = {gp.SOFTWARE_REVISION_UUID: b"3.1.2" if firmware == 3 else b"2.0.0"}
        self.sent: list[np.ndarray] = []  # true counts, per sample (4,)
        self.transmitted: list[np.ndarray] = []  # what the packets carry, rebuilt (4,)
        self.accel_sent: list[tuple[int, int, int, int]] = []
        self._axes: list[int] = []  # the reading being sent, X then Y then Z
        self._last_byte = 0  # the firmware's radioBuffer[19], kept between packets

    async def write(self, uuid: str, data: bytes) -> None:
        await super().write(uuid, data)
        if uuid != gp.SEND_UUID:
            return
        if data == gp.START and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._stream())
        elif data == gp.STOP:
            self.stop_streaming()
        elif data in (gp.ACCEL_ON, gp.ACCEL_OFF):
            self.accel = data == gp.ACCEL_ON
            if self._task is None:
                self._message(f"accelerometer {'enabled' if self.accel else 'disabled'}\n")
        elif data[:1] == b"z":
            for k, ohms in enumerate((4500, 5200, 180_000, 7100, 3900)):
                self.notify(
                    gp.RECEIVE_UUID, bytes([201 + k]) + f"{ohms}Z".encode().ljust(19, b"\0")
                )

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def detach(self) -> None:
        super().detach()
        self.accel = False  # the firmware's onDisconnect

    def _message(self, text: str) -> None:
        """An ASCII message: 19 bytes a packet, id 206 for all parts but the last (207)."""
        data = text.encode("ascii")
        parts = [data[k : k + 19] for k in range(0, len(data), 19)] or [b""]
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            self.notify(gp.RECEIVE_UUID, bytes([207 if last else 206]) + part.ljust(19, b"\0"))

    def _accel_byte(self, packet_id: int, sample_number: int) -> int:
        """The last byte of an 18-bit packet: an axis of the wearer's accelerometer at this
        sample's time for ids ending in 1, 2, 3, else the byte the packet before had."""
        digit = packet_id % 10
        if digit in (1, 2, 3):
            night = self.simulator.accel
            slot = min(int(sample_number / gp.FS * ACCEL_FS), night.shape[1] - 1)
            g = float(night[digit - 1, slot])
            count = int(np.clip(np.rint(g / gp.ACCEL_G_PER_COUNT), -128, 127))
            self._axes = self._axes if digit > 1 else []
            self._axes.append(count)
            if digit == 3 and len(self._axes) == 3:
                self.accel_sent.append((sample_number, *self._axes))
            self._last_byte = count & 0xFF
        return self._last_byte

    async def _stream(self) -> None:
        """The board after `b`: it resets its counters and streams until `s` or a drop."""
        source = self._wearer()  # the jaw goes on; only the board restarts
        pending = np.zeros((4, 0), dtype=np.int64)
        number: int | None = None  # the wearer's sample number of pending[:, 0]
        counter = 0  # the firmware's sampleCounter
        last = np.zeros(4, dtype=np.int64)  # the firmware's lastChannelData
        rebuilt = np.zeros(4, dtype=np.int64)  # what a receiver rebuilds
        half: list[int] = []
        started = asyncio.get_running_loop().time()
        produced = 0
        while True:
            while pending.shape[1] < 2:
                chunk = next(source)
                number = chunk.first_index if number is None else number
                new = np.clip(np.rint(chunk.samples / gp.UV_PER_COUNT), -(2**23), 2**23 - 1)
                pending = np.concatenate((pending, new.astype(np.int64)), axis=1)
            sample, pending = pending[:, 0], pending[:, 1:]
            packet = self._encode(counter, sample, last, rebuilt, half, number)
            number += 1
            self.sent.append(sample.copy())
            self.transmitted.append(rebuilt.copy())
            last = sample
            counter = (counter + 1) % (gp.CYCLE_FW2 if self.firmware == 2 else gp.CYCLE_FW3)
            produced += 1
            if packet is None:
                continue
            if not await self._send(gp.RECEIVE_UUID, packet, produced / gp.FS, started):
                return

    def _encode(self, counter, sample, last, rebuilt, half, number) -> bytes | None:
        """Firmware behaviour for one new sample (the wearer's sample `number`); returns a
        packet when one is complete."""
        if self.firmware == 3:
            bits = 18 if self.accel else 19
            shift = 24 - bits
            values = [sign_in_lsb(int(v) >> shift, bits) for v in sample]
            for ch, v in enumerate(values):
                signed = v - (1 << bits) if v & 1 else v
                rebuilt[ch] = signed << shift
            half.extend(values)
            if len(half) < 8:
                return None
            pid = counter // 2 + (0 if self.accel else 100)
            if self.accel:
                body = pack_bits(half, bits, 18) + bytes([self._accel_byte(pid, number - 1)])
            else:
                body = pack_bits(half, bits, 19)
            half.clear()
            return bytes([pid]) + body
        if counter == 0:
            half.clear()
            rebuilt[:] = sample
            body = b"".join(int(v & 0xFFFFFF).to_bytes(3, "big") for v in sample)
            return bytes([0]) + body.ljust(19, b"\0")
        bits = 18 if self.accel else 19
        deltas = [sign_in_lsb(int(a - b), bits) for a, b in zip(last, sample, strict=True)]
        for ch, d in enumerate(deltas):  # the receiver applies the lossy delta
            signed = d - (1 << bits) if d & 1 else d
            rebuilt[ch] = rebuilt[ch] - signed
        half.extend(deltas)
        if counter % 2 == 1:
            return None
        pid = counter // 2 + (0 if self.accel else 100)
        body = pack_bits(half, bits, 18 if self.accel else 19)
        half.clear()
        if self.accel:
            body += bytes([self._accel_byte(pid, number - 1)])
        return bytes([pid]) + body


# ---------------------------------------------------------------- bruxwatch BLE board
class BleEmgPeripheral(WornPeripheral):
    """The bruxwatch BLE EMG board (hardware/README.md, "BLE protocol"): reads its info
    characteristic, streams sample frames (the serial frame without the sync word) after
    "start", answers "vibrate ms strength" with "#ok vibrate ..." and logs it in
    `vibrations`. Counts are 12-bit (ESP32 ADC), the MyoWare RAW output centred at mid-rail.
    With `imu` (a Nano 33 BLE Sense: on by default) the info says "imu=25" and the board
    also sends motion frames (type 2): reading k, the wearer's accelerometer in mg at
    sample 40 k, five readings a notification; `motion_sent` keeps (k, x, y, z) in mg. With
    `ppg` (a MAX30102 on the wearer's finger) the info says "ppg=50" and pulse frames
    (type 3) carry the wearer's pulse; `pulse_sent` keeps (m, reading)."""

    name = "bruxwatch-EMG"

    def __init__(
        self,
        address: str = "EE:EE:00:00:00:02",
        *,
        fs: float = 1000.0,
        frame_samples: int = 20,
        seed: int = 4,
        imu: bool = True,
        ppg: bool = False,
        **wearing,
    ) -> None:
        from bruxwatch.devices import ble_emg

        super().__init__(
            address, fs=fs, channels=2, chunk_s=frame_samples / fs, seed=seed, **wearing
        )
        self.fs, self.frame_samples = fs, frame_samples
        self.uuids = ble_emg
        self.gatt = {
            ble_emg.SERVICE_UUID: {
                ble_emg.DATA_UUID: ["notify"],
                ble_emg.COMMAND_UUID: ["write", "write-without-response"],
                ble_emg.INFO_UUID: ["read"],
            }
        }
        info = f"fw=1.1.0 fs={fs:g} bits=12 channels=2 kind=raw"
        info += (" imu=25" if imu else "") + (" ppg=50" if ppg else "")
        self.values = {ble_emg.INFO_UUID: info.encode()}
        self.imu, self.ppg = imu, ppg
        self.motion_sent: list[tuple[int, ...]] = []
        self.pulse_sent: list[tuple[int, ...]] = []
        self.sent: list[np.ndarray] = []  # counts per frame, in order since "start"
        self.vibrations: list[tuple[int, int]] = []

    async def write(self, uuid: str, data: bytes) -> None:
        await super().write(uuid, data)
        if uuid != self.uuids.COMMAND_UUID:
            return
        words = data.decode("ascii", "replace").split()
        if words == ["start"] and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._stream())
        elif words == ["stop"]:
            self.stop_streaming()
        elif len(words) == 3 and words[0] == "vibrate":
            ms, strength = int(words[1]), int(words[2])
            self.vibrations.append((ms, strength))
            self.notify(self.uuids.DATA_UUID, f"#ok vibrate {ms} {strength}\n".encode())

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _stream(self) -> None:
        from bruxwatch.devices.arduino_protocol import encode_frame

        started, index = asyncio.get_running_loop().time(), 0
        sensors = []  # (frame type, readings a second, per frame, values of reading k, kept)
        if self.imu:
            sensors.append((2, 25.0, 5, self._motion_reading, self.motion_sent, "<hhh"))
        if self.ppg:
            sensors.append((3, 50.0, 10, self._pulse_reading, self.pulse_sent, "<H"))
        pending: list[list[tuple[int, ...]]] = [[] for _ in sensors]
        for chunk in self._wearer():
            counts = np.clip(np.rint(2048 + chunk.samples * (2048 / 1500.0)), 0, 4095)
            counts = counts.astype(np.uint16)
            frame = encode_frame(index, counts)[2:]  # BLE: no sync word
            self.sent.append(counts)
            taken = range(index, index + counts.shape[1])
            index += counts.shape[1]
            if not await self._send(self.uuids.DATA_UUID, frame, index / self.fs, started):
                return
            for (kind, rate, per_frame, reading, kept, form), waiting in zip(
                sensors, pending, strict=True
            ):
                step = int(self.fs // rate)  # reading k goes with sample k x fs / rate
                for number in (n for n in taken if n % step == 0):
                    wearer_s = (chunk.first_index + number - taken[0]) / self.fs
                    waiting.append((number // step, *reading(wearer_s)))
                if len(waiting) >= per_frame:
                    frame = _sensor_frame(kind, waiting[:per_frame], form)
                    await self._send(self.uuids.DATA_UUID, frame, index / self.fs, started)
                    kept += waiting[:per_frame]
                    del waiting[:per_frame]

    def _motion_reading(self, wearer_s: float) -> tuple[int, ...]:
        """The wearer's accelerometer at `wearer_s` (s), X, Y, Z in mg."""
        night = self.simulator.accel
        g = night[:, min(int(wearer_s * ACCEL_FS), night.shape[1] - 1)]
        return tuple(int(v) for v in np.rint(g * 1000.0))

    def _pulse_reading(self, wearer_s: float) -> tuple[int, ...]:
        """The wearer's pulse at `wearer_s` (s) as a MAX30102's infrared reading would carry
        it: about 100 000 counts of reflection, the pulse a few thousand on top, the top 16
        of its 18 bits."""
        night = self.simulator.ppg
        value = night[0, min(int(wearer_s * PPG_FS), night.shape[1] - 1)]
        return (int(np.clip(100_000 + 2_000 * value, 0, 2**18 - 1)) >> 2,)


def _sensor_frame(kind: int, readings: list[tuple[int, ...]], form: str) -> bytes:
    """A motion (2) or pulse (3) frame as hardware/README.md describes it: version 1, the
    type, the first reading's index (uint32), the channels, N readings (each `form`: X, Y, Z
    int16 mg, or one uint16), CRC-16/CCITT-FALSE."""
    channels = len(readings[0]) - 1
    body = struct.pack("<BBIBB", 1, kind, readings[0][0], channels, len(readings))
    body += b"".join(struct.pack(form, *r[1:]) for r in readings)
    return body + struct.pack("<H", binascii.crc_hqx(body, 0xFFFF))
