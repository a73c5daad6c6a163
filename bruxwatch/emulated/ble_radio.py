"""The air between emulated BLE boards and the host: `FakeBleakBackend` subclasses bleak's
`BaseBleakClient`, so `BleakClient(address, backend=radio(peripheral))` runs bleak's real
client code (service resolution, notification callbacks, writes) against the emulated
peripherals that `radio(...)` puts within its reach. `FakePeripheral` is the GATT server
the boards of `ble_boards.py` build on, with its faults (`BleFaults`): dropped
notifications, a disconnect after some seconds, notifications that stop, a board that is
switched off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from bruxwatch.emulated.simulator import Simulator
from bruxwatch.stream import EMG


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
        """The simulated wearer's EMG, one iterator for the peripheral's whole life (the
        wearer's simulator is `self.simulator`)."""
        if getattr(self, "_source", None) is None:
            self.simulator = Simulator(self.sim_config)
            self._source = (c for c in self.simulator.chunks() if c.stream == EMG)
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
