"""`ganglion:<address or name>`: the OpenBCI Ganglion over BLE (bleak), 4 channels at 200 Hz.

On connect the firmware version is read from the Software Revision characteristic (0x2A28;
"3..." means firmware 3, otherwise 2; `?firmware=2|3` overrides), notifications are switched
on and `b` starts the stream; `s` stops it on close. Lost notifications become exact gaps from
the packet counter (see ganglion_protocol). The Ganglion resets when a BLE connection opens,
so after a drop it starts afresh: that gap is measured with the host clock. Options:
`channels=1,2` (1-based) picks the channels scored; default all four. `accel=1` switches the
board's accelerometer on (`n` before every `b`: the board forgets it on a disconnect) and
delivers it as `aux_streams["accel"]`, X, Y, Z in g at 10 Hz. It is off by default, as in
OpenBCI's own software: while it is on the board sends 18-bit instead of 19-bit values, which
on firmware 2 halves the largest sample-to-sample step it can carry (about 245 µV).

At 200 Hz the band-pass tops out at 90 Hz (0.45 x fs): masseter EMG has most of its power
below that, but the Cyton (250 Hz) or the bruxwatch boards (1 kHz) see more of it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from bruxwatch.devices import ganglion_protocol as gp
from bruxwatch.devices.ble_link import BleLink, Notification, NotifyingBoard, Piece
from bruxwatch.stream import ACCEL, AuxClock, Chunk, StreamInfo, accelerometer_info

CYCLE_SLACK_S = 0.15
"""How much less than a whole packet-id cycle of host time still counts as a lost cycle (s)."""


class GanglionBoard(NotifyingBoard):
    def __init__(
        self,
        target: str,
        *,
        channels: tuple[int, ...] = (1, 2, 3, 4),
        firmware: int | None = None,
        accel: bool = False,
        backend: type | None = None,
        scanner=None,
    ) -> None:
        if not target:
            raise ValueError("give the Ganglion's address or name, e.g. ganglion:AA:BB:CC:DD:EE:FF")
        if any(not 1 <= c <= gp.CHANNELS for c in channels):
            raise ValueError(f"Ganglion channels are 1-{gp.CHANNELS}")
        self.picked = np.asarray([c - 1 for c in channels])
        self.forced_firmware = firmware
        self.firmware = firmware or 2
        self.decoder = gp.GanglionDecoder(self.firmware)
        self.messages: list[str] = []
        self.accel = accel
        self.link = BleLink(
            target,
            gp.RECEIVE_UUID,
            gp.SEND_UUID,
            start=gp.START,
            stop=gp.STOP,
            on_connect=self._on_connect,
            backend=backend,
            scanner=scanner,
        )
        self.info = StreamInfo(
            fs=gp.FS,
            channels=tuple(f"ch{c}" for c in channels),
            units="uV",
            kind="raw",
            device=f"Ganglion {target}",
            steps=(gp.UV_PER_COUNT,) * len(channels),
        )
        if accel:
            self.aux_streams = {
                ACCEL: accelerometer_info(gp.ACCEL_FS, f"Ganglion {target}: LIS2DH accelerometer")
            }

    async def _on_connect(self, client) -> None:
        if self.forced_firmware is None:
            try:
                revision = await client.read_gatt_char(gp.SOFTWARE_REVISION_UUID)
                self.firmware = (
                    3 if bytes(revision).decode("ascii", "replace").startswith("3") else 2
                )
            except Exception:  # noqa: BLE001 - older boards lack the characteristic
                self.firmware = 2
        self.decoder = gp.GanglionDecoder(self.firmware)  # the board restarts its counters
        if self.accel:  # before `b`, on every connection
            await client.write_gatt_char(gp.SEND_UUID, gp.ACCEL_ON, response=False)

    def chunks(self) -> Iterator[Chunk]:
        self.link.open()
        self.info = StreamInfo(
            fs=gp.FS,
            channels=self.info.channels,
            units="uV",
            kind="raw",
            device=f"{self.info.device} (firmware {self.firmware})",
            steps=self.info.steps,
        )
        self._index = 0  # the stream index of the next sample
        self._last_time: float | None = None
        self._accel_clock = AuxClock(gp.ACCEL_FS, gp.FS)
        yield from self.notified_chunks()

    def pieces(self, item: Notification) -> Iterator[Piece]:
        """The samples of one packet, placed after what the packet counter (or, after a
        reconnect, the host clock) says was lost before them, and the accelerometer reading
        the packet completes, placed by its first sample (`AuxClock`)."""
        decoded = self.decoder.feed(item.data)
        if decoded.message:
            self.messages.append(decoded.message)
        n = decoded.samples.shape[1]
        if n == 0:
            return
        missing = decoded.missing_before
        last_time = self._last_time
        if self.restarted and last_time is not None:  # the board restarted: host clock
            missing += max(1, round((item.at - last_time) * gp.FS) - n)
        elif last_time is not None:  # whole counter cycles the packet id cannot show
            missing += self._cycles_missed(item.at - last_time, n, missing)
        self.restarted = False
        self._index += missing
        yield Piece(self._index, decoded.samples[self.picked], missing)
        if self.accel and decoded.accel is not None:
            g = np.asarray(decoded.accel, dtype=np.float32) * np.float32(gp.ACCEL_G_PER_COUNT)
            for slot, reading, lost in self._accel_clock.place(self._index, g):
                yield Piece(slot, reading, lost, ACCEL)
        self._index += n
        self._last_time = item.at

    def _cycles_missed(self, elapsed_s: float, n: int, counted: int) -> int:
        """Samples in whole packet-id cycles (about 1 s each) lost without a disconnect: the
        id says `counted` were lost before these n, the host clock may say a cycle more.
        Only a whole cycle of host time, less `CYCLE_SLACK_S` of jitter, counts: a
        notification delivered half a second late (a busy host, a stack that delivers in
        bursts) has lost nothing, and must not make the night a second longer."""
        cycle = gp.CYCLE_FW2 if self.firmware == 2 else gp.CYCLE_FW3
        behind = elapsed_s * gp.FS - n - counted
        return cycle * max(0, int((behind + CYCLE_SLACK_S * gp.FS) // cycle))

    def impedance(self) -> dict[str, int]:
        """The last impedance readings (ohms) the board sent, by channel name."""
        return dict(self.decoder.impedance)

    def close(self) -> None:
        self.link.close()
