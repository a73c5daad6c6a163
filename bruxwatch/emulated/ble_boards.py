"""BLE boards without Bluetooth: peripherals emulated behind a fake bleak backend.

`FakeBleakBackend` subclasses bleak's `BaseBleakClient`, so `BleakClient(address,
backend=FakeBleakBackend)` runs bleak's real client code (service resolution, notification
callbacks, writes) against the emulated peripherals `radio(...)` puts within its reach. The
peripherals encode the simulator's signal themselves, written from the vendors' documents
(OpenBCI "Ganglion Data Format" for the Ganglion, hardware/README.md for the bruxwatch BLE
board), independently of the host decoders they test. Faults: dropped notifications, a
disconnect after some seconds, a board that is switched off (connections fail).

Used by the tests, and by `ganglion:emulated` / `ble:emulated` device specs so the whole BLE
path can be tried on a laptop without a radio.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from bruxwatch.devices import ganglion_protocol as gp
from bruxwatch.emulated.simulator import Simulator, SimulatorConfig


@dataclass
class BleFaults:
    """drop: notification numbers (0-based, counted from `b`) never delivered;
    disconnect_after_s: drop the link once after this much streaming time (s);
    stall_after_s: once, after this much streaming time, send nothing for `stall_for_s`
        (wall clock) while the link stays up (notifications that stop);
    off: the board is switched off (connecting fails)."""

    drop: set[int] = field(default_factory=set)
    disconnect_after_s: float | None = None
    stall_after_s: float | None = None
    stall_for_s: float = 5.0
    off: bool = False


class FakePeripheral:
    """A GATT server: characteristics by UUID, reads, writes, notifications."""

    name = "peripheral"

    def __init__(self, address: str, faults: BleFaults | None = None) -> None:
        self.address = address
        self.faults = faults or BleFaults()
        self.gatt: dict[str, dict[str, list[str]]] = {}
        self.values: dict[str, bytes] = {}
        self.writes: list[tuple[str, bytes]] = []
        self.connections = 0
        self.notifications = 0
        self.speed = 0.0  # x real time; 0 = as fast as possible
        self._task: asyncio.Task | None = None
        self._disconnected_once = False
        self._stalled_once = False
        self._backend: FakeBleakBackend | None = None

    # called by the backend
    def attach(self, backend: FakeBleakBackend) -> None:
        self.connections += 1
        self._backend = backend

    def detach(self) -> None:
        self._backend = None
        self.stop_streaming()

    async def write(self, uuid: str, data: bytes) -> None:
        self.writes.append((uuid, data))

    def notify(self, uuid: str, data: bytes) -> None:
        if self._backend is not None:
            self._backend.deliver(uuid, data)

    def drop_link(self) -> None:
        """The radio link breaks (the peripheral's side)."""
        if self._backend is not None:
            self._backend.lost()

    def stop_streaming(self) -> None:
        pass

    async def _send(self, uuid: str, data: bytes, streamed_s: float, started: float) -> bool:
        """One notification of a stream that started at loop time `started` and has produced
        `streamed_s` of signal: dropped if the faults say so, then the link breaks once if it is
        time, then the pace (`speed` x real time, or yield now and then at full speed).
        False when the link broke and streaming must end."""
        stall = self.faults.stall_after_s
        if stall is not None and not self._stalled_once and streamed_s >= stall:
            self._stalled_once = True
            await asyncio.sleep(self.faults.stall_for_s)  # silent, the link up
        number = self.notifications
        self.notifications += 1
        if number not in self.faults.drop:
            self.notify(uuid, data)
        after = self.faults.disconnect_after_s
        if after is not None and not self._disconnected_once and streamed_s >= after:
            self._disconnected_once = True
            self._task = None
            self.drop_link()
            return False
        if self.speed > 0:
            delay = started + streamed_s / self.speed - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
        elif number % 20 == 0:
            await asyncio.sleep(0)
        return True

    def _wearer(self):
        """The simulated wearer's signal, one iterator for the peripheral's whole life."""
        if getattr(self, "_source", None) is None:
            self._source = Simulator(self.sim_config).chunks()
        return self._source


class FakeBleakBackend(BaseBleakClient):
    """bleak backend that talks to FakePeripherals in this process: the ones `radio(...)`
    bound to its subclass (this base class reaches none)."""

    peripherals: Mapping[str, FakePeripheral] = MappingProxyType({})

    def __init__(self, address_or_ble_device, **kwargs) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self._connected = False
        self._callbacks: dict[str, Callable[[bytearray], None]] = {}

    @property
    def peripheral(self) -> FakePeripheral:
        peripheral = self.peripherals.get(self.address)
        if peripheral is None:
            raise BleakError(f"Device with address {self.address} was not found.")
        return peripheral

    async def connect(self, pair: bool, **kwargs) -> None:
        peripheral = self.peripheral
        if peripheral.faults.off:
            raise BleakError(f"Device with address {self.address} was not found.")
        services = BleakGATTServiceCollection()
        handle = 1
        for service_uuid, characteristics in peripheral.gatt.items():
            service = BleakGATTService(None, handle, service_uuid)
            services.add_service(service)
            handle += 1
            for char_uuid, properties in characteristics.items():
                services.add_characteristic(
                    BleakGATTCharacteristic(
                        None, handle, char_uuid, properties, lambda: 244, service
                    )
                )
                handle += 2
        self.services = services
        self._connected = True
        peripheral.attach(self)

    async def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            self.peripheral.detach()

    def lost(self) -> None:
        """The link broke: tell bleak (its disconnected callback) like a real backend."""
        if self._connected:
            self._connected = False
            self.peripheral.detach()
            if self._disconnected_callback is not None:
                self._disconnected_callback()

    def deliver(self, uuid: str, data: bytes) -> None:
        callback = self._callbacks.get(uuid)
        if callback is not None and self._connected:
            callback(bytearray(data))

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def mtu_size(self) -> int:
        return 247

    async def pair(self, *args, **kwargs) -> None:
        return None

    async def unpair(self) -> None:
        return None

    async def start_notify(self, characteristic, callback, **kwargs) -> None:
        self._callbacks[characteristic.uuid] = callback

    async def stop_notify(self, characteristic) -> None:
        self._callbacks.pop(characteristic.uuid, None)

    async def read_gatt_char(self, characteristic, **kwargs) -> bytearray:
        value = self.peripheral.values.get(characteristic.uuid)
        if value is None:
            raise BleakError(f"characteristic {characteristic.uuid} is not readable")
        return bytearray(value)

    async def write_gatt_char(self, characteristic, data, response: bool) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        await self.peripheral.write(characteristic.uuid, bytes(data))

    async def read_gatt_descriptor(self, handle: int, **kwargs) -> bytearray:
        raise BleakError("no descriptors on the emulated peripheral")

    async def write_gatt_descriptor(self, handle: int, data) -> None:
        raise BleakError("no descriptors on the emulated peripheral")


def radio(*peripherals: FakePeripheral) -> type[FakeBleakBackend]:
    """A bleak backend class within reach of exactly these peripherals (by address), to pass
    as a board's `backend`: each call its own air, so emulated boards never meet by chance."""
    reach = MappingProxyType({p.address: p for p in peripherals})
    return type("EmulatedRadio", (FakeBleakBackend,), {"peripherals": reach})


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


class GanglionPeripheral(FakePeripheral):
    """An OpenBCI Ganglion: service fe84, `b`/`s` on the send characteristic, 20-byte packets
    on the receive characteristic at 100 per second (200 Hz, 2 samples a packet).

    Firmware 2: a raw packet (id 0, four 24-bit counts), then 100 packets of 19-bit deltas
    (ids 101-200), repeating; `accel=True` sends 18-bit deltas (ids 1-100) with an
    accelerometer byte instead. Firmware 3: the samples' top 18 or 19 bits (ids 0-99 / 100-199).
    `sent` keeps, per sample, the true counts; `transmitted` what a receiver can rebuild.
    """

    name = "Ganglion-emulated"

    def __init__(
        self,
        address: str = "EE:EE:00:00:00:01",
        *,
        firmware: int = 2,
        accel: bool = False,
        seed: int = 3,
        speed: float = 1.0,
        scenario: str = "awake",
        faults: BleFaults | None = None,
        episodes_per_hour: float | None = 120.0,
    ) -> None:
        super().__init__(address, faults)
        self.firmware, self.accel, self.speed = firmware, accel, speed
        self.sim_config = SimulatorConfig(
            scenario=scenario,
            fs=gp.FS,
            channels=4,
            seed=seed,
            chunk_s=0.01,
            duration_s=24 * 3600,
            episodes_per_hour=episodes_per_hour,
        )
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

    async def write(self, uuid: str, data: bytes) -> None:
        await super().write(uuid, data)
        if uuid != gp.SEND_UUID:
            return
        if data == gp.START and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._stream())
        elif data == gp.STOP:
            self.stop_streaming()
        elif data[:1] == b"z":
            for k, ohms in enumerate((4500, 5200, 180_000, 7100, 3900)):
                self.notify(
                    gp.RECEIVE_UUID, bytes([201 + k]) + f"{ohms}Z".encode().ljust(19, b"\0")
                )

    def stop_streaming(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _stream(self) -> None:
        """The board after `b`: it resets its counters and streams until `s` or a drop."""
        source = self._wearer()  # the jaw goes on; only the board restarts
        pending = np.zeros((4, 0), dtype=np.int64)
        counter = 0  # the firmware's sampleCounter
        last = np.zeros(4, dtype=np.int64)  # the firmware's lastChannelData
        rebuilt = np.zeros(4, dtype=np.int64)  # what a receiver rebuilds
        half: list[int] = []
        started = asyncio.get_running_loop().time()
        produced = 0
        while True:
            while pending.shape[1] < 2:
                chunk = next(source)
                new = np.clip(np.rint(chunk.samples / gp.UV_PER_COUNT), -(2**23), 2**23 - 1)
                pending = np.concatenate((pending, new.astype(np.int64)), axis=1)
            sample, pending = pending[:, 0], pending[:, 1:]
            packet = self._encode(counter, sample, last, rebuilt, half)
            self.sent.append(sample.copy())
            self.transmitted.append(rebuilt.copy())
            last = sample
            counter = (counter + 1) % (gp.CYCLE_FW2 if self.firmware == 2 else gp.CYCLE_FW3)
            produced += 1
            if packet is None:
                continue
            if not await self._send(gp.RECEIVE_UUID, packet, produced / gp.FS, started):
                return

    def _encode(self, counter, sample, last, rebuilt, half) -> bytes | None:
        """Firmware behaviour for one new sample; returns a packet when one is complete."""
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
            body += bytes([(counter * 7) & 0xFF])  # an accelerometer byte
        return bytes([pid]) + body


# ---------------------------------------------------------------- bruxwatch BLE board
class BleEmgPeripheral(FakePeripheral):
    """The bruxwatch BLE EMG board (hardware/README.md, "BLE protocol"): reads its info
    characteristic, streams sample frames (the serial frame without the sync word) after
    "start", answers "vibrate ms strength" with "#ok vibrate ..." and logs it in
    `vibrations`. Counts are 12-bit (ESP32 ADC), the MyoWare RAW output centred at mid-rail."""

    name = "bruxwatch-EMG"

    def __init__(
        self,
        address: str = "EE:EE:00:00:00:02",
        *,
        fs: float = 1000.0,
        frame_samples: int = 20,
        seed: int = 4,
        speed: float = 1.0,
        scenario: str = "awake",
        faults: BleFaults | None = None,
        episodes_per_hour: float | None = 120.0,
    ) -> None:
        from bruxwatch.devices import ble_emg

        super().__init__(address, faults)
        self.fs, self.frame_samples, self.speed = fs, frame_samples, speed
        self.sim_config = SimulatorConfig(
            scenario=scenario,
            fs=fs,
            channels=2,
            seed=seed,
            chunk_s=frame_samples / fs,
            duration_s=24 * 3600,
            episodes_per_hour=episodes_per_hour,
        )
        self.uuids = ble_emg
        self.gatt = {
            ble_emg.SERVICE_UUID: {
                ble_emg.DATA_UUID: ["notify"],
                ble_emg.COMMAND_UUID: ["write", "write-without-response"],
                ble_emg.INFO_UUID: ["read"],
            }
        }
        self.values = {
            ble_emg.INFO_UUID: f"fw=1.0.0 fs={fs:g} bits=12 channels=2 kind=raw".encode()
        }
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
        for chunk in self._wearer():
            counts = np.clip(np.rint(2048 + chunk.samples * (2048 / 1500.0)), 0, 4095)
            counts = counts.astype(np.uint16)
            frame = encode_frame(index, counts)[2:]  # BLE: no sync word
            self.sent.append(counts)
            index += counts.shape[1]
            if not await self._send(self.uuids.DATA_UUID, frame, index / self.fs, started):
                return
