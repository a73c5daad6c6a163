"""The session runtime: device → Pipeline → store, feedback and subscribers, until stopped.

A reader thread pulls chunks from the device (blocking serial reads, reconnects inside the
device layer) and hands them, stamped with their arrival time, to the asyncio loop, which
scores them, decides feedback, fires actuators, writes the store (one commit about a second)
and informs subscribers. `stop()` (or SIGINT/SIGTERM, or the duration) ends it cleanly: the
pipeline's open episodes are closed, the store is finished and the file path returned.
Memory stays flat: nothing per chunk is kept beyond the store's one-second buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Callable

from bruxwatch.devices.base import Device, DeviceError
from bruxwatch.errors import StoreError
from bruxwatch.firmware_host.actuators import Actuator, deliver
from bruxwatch.firmware_host.device_reader import (
    MAX_QUEUED_CHUNKS,
    STOP,
    TICK,
    Notice,
    read_device,
    tick,
)
from bruxwatch.firmware_host.electrode_check import CheckUnderway, judge
from bruxwatch.firmware_host.feedback import (
    Decision,
    FeedbackConfig,
    FeedbackPolicy,
    FeedbackRecord,
)
from bruxwatch.firmware_host.guided_calibration import GuidedCalibration, outside
from bruxwatch.firmware_host.session_records import NightWriter, SessionResult, Status
from bruxwatch.signal import Calibration, Pipeline, ProcessedChunk, SignalConfig
from bruxwatch.signal.calibration import CalibrationProtocol
from bruxwatch.signal.electrode_check import CHECK
from bruxwatch.signal.events import EpisodeEnd, Event, QualityChanged
from bruxwatch.stream import EMG, Chunk, StreamInfo

log = logging.getLogger(__name__)
SILENT_S = 2.0
"""Seconds without a chunk after which the wall clock, not the stream, counts to --duration."""


MAX_IDLE_WINDOW_S = 0.5
"""Longest serial read at rest with feedback on (s): fewer wake-ups, less CPU all night."""
ONSET_MARGIN_S = 0.1
"""How much sooner than the onset delay a resting read must end (s), so a buzz is on time."""


def resting_read_window(onset_delay_s: float, active_window_s: float) -> float:
    """The read window (s) at rest: a clench starting just after a read is seen by the next
    one, `ONSET_MARGIN_S` before its onset delay is over, and read in short windows from then
    on; never shorter than the active window nor longer than `MAX_IDLE_WINDOW_S`."""
    return min(MAX_IDLE_WINDOW_S, max(active_window_s, onset_delay_s - ONSET_MARGIN_S))


class Session:
    """Runs one recording session. All arguments but the device are optional.

    store: called with the stream's StreamInfo once it is known; returns the night's writer
        (a NightWriter: store.night_writer.RecordingWriter).
    feedback: FeedbackConfig (mode feedback or baseline), or None for no feedback logic.
    actuators: what a fired decision drives (motor, sound, bell, ...).
    subscribers: called with every ProcessedChunk (the live plot subscribes here).
    feedback_listeners (attribute): called with every FeedbackRecord, given or held back.
    notice_listeners (attribute): called with (stream time s, text) for each notice from the
        device's link (silence, reconnecting, data again); they are stored in the night too.
    aux_listeners (attribute): called with every chunk of the device's auxiliary streams
        (`Chunk.stream` names it; `device.aux_streams` describes it), in order; the night
        stores them too.
    closing_listeners (attribute): called with the events that closing the pipeline gives
        (the episodes under way at the end), while the night's writer is still open.
    tick_listeners (attribute): called about twice a second while no data comes, and with
        every chunk otherwise (what must notice a silence, such as the lead-off alarm).
    calibrate: the guided calibration to run first; calibration_attempts: how many times it is
        led through when no clench shows clearly above rest (the wearer is told why each
        time), before scoring goes on against an adaptive background.
    on_started, on_calibrated (attributes): told the StreamInfo when the first samples have
        come, and the Calibration (or None) when the guided calibration is over.
    idle_window_s / active_window_s: with feedback, a serial device is read in windows this
        long (s) at rest / while a clench may earn a buzz. At rest by default the onset delay
        less `ONSET_MARGIN_S`, at most `MAX_IDLE_WINDOW_S`: the clench is then seen, and the
        short reads have begun, before its onset delay is over (a window that shows data, the
        live plot, passes its own).
    """

    def __init__(
        self,
        device: Device,
        *,
        config: SignalConfig | None = None,
        calibration: Calibration | None = None,
        store: Callable[[StreamInfo], NightWriter] | None = None,
        feedback: FeedbackConfig | None = None,
        actuators: list[Actuator] | None = None,
        subscribers: list[Callable[[ProcessedChunk], None]] | None = None,
        calibrate: CalibrationProtocol | None = None,
        calibration_attempts: int = 2,
        on_prompt: Callable[[str], None] | None = None,
        idle_window_s: float | None = None,
        active_window_s: float = 0.01,
    ) -> None:
        self.device = device
        self.config = config or SignalConfig()
        self.calibration = calibration
        self._store_factory = store
        self.feedback = feedback
        self.actuators = list(actuators or [])
        self.subscribers = list(subscribers or [])
        self.feedback_listeners: list[Callable[[FeedbackRecord], None]] = []
        self.notice_listeners: list[Callable[[float, str], None]] = []
        self.aux_listeners: list[Callable[[Chunk], None]] = []
        self.closing_listeners: list[Callable[[list[Event]], None]] = []
        self.tick_listeners: list[Callable[[], None]] = []
        self.feedback_enabled = True
        self.idle_window_s = idle_window_s
        self.active_window_s = active_window_s
        self.on_prompt = on_prompt or (lambda text: None)
        # told when the first samples have come (and the night's file is open)
        self.on_started: Callable[[StreamInfo], None] = lambda info: None
        # told the outcome once the guided calibration is over (after any retry)
        self.on_calibrated: Callable[[Calibration | None], None] = lambda calibration: None
        self.calibration_error: str | None = None
        self.store_error: StoreError | None = None
        self.calibration_attempts = max(1, calibration_attempts)
        # the calibration under way (None: none), and where its clenches lie (kept out of
        # the night's counts after it is over too)
        self._guide: GuidedCalibration | None = None
        self._cal_window: tuple[float, float] | None = None
        if calibrate is not None:
            self._guide_from(calibrate, 0.0, live=False)
        self._cal_request: CalibrationProtocol | None = None
        self._check_request = False
        self._check: CheckUnderway | None = None
        # told the electrode check's verdicts when one run from `start_check` is over
        self.on_check: Callable[[list], None] = lambda verdicts: None
        self.status = Status()
        self.writer: NightWriter | None = None
        self.info: StreamInfo | None = None
        self.pipeline: Pipeline | None = None
        self.policy: FeedbackPolicy | None = None
        self._stop_reason: str | None = None
        self._end_index: int | None = None  # the sample index where --duration ends
        self._last_arrival = time.monotonic()
        self._queue: asyncio.Queue | None = None
        # a closed-loop simulator (one that answers the buzz) asks to stay in step
        ahead = getattr(device, "max_ahead_chunks", None) or MAX_QUEUED_CHUNKS
        self._room = threading.Semaphore(ahead)
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---------------------------------------------------------------------- control
    def stop(self, reason: str = "stopped") -> None:
        """Ask the session to end (safe from any thread or a signal handler)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        if self._loop is not None and self._queue is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._queue.put_nowait, STOP)

    def later(self, delay_s: float, action: Callable[[], None]) -> None:
        """Run `action` in the session's loop `delay_s` from now (now, without a loop)."""
        if self._loop is None or self._loop.is_closed():
            action()
            return
        self._loop.call_later(delay_s, action)

    def calibration_countdown(self) -> tuple[float, str] | None:
        """While a guided calibration (or the electrode check) runs: (seconds until its next
        step, that step's prompt); None otherwise."""
        step = self._guide or self._check
        return None if step is None else step.next_step(self.status.seconds)

    def scored_channels(self) -> list[int]:
        """The channels scored (0-based): the pipeline's, once it runs."""
        if self.pipeline is not None:
            return list(self.pipeline.scored)
        return list(range(self.device.info.n_channels))

    def toggle_feedback(self) -> bool:
        """Pause or resume feedback (decisions are still logged while paused)."""
        self.feedback_enabled = not self.feedback_enabled
        return self.feedback_enabled

    def start_calibration(self, protocol: CalibrationProtocol | None = None) -> None:
        """Run the guided calibration from the next chunk on (e.g. the live window's button);
        scoring continues meanwhile and switches to the new thresholds when it is done."""
        from bruxwatch.signal.calibration import PROTOCOL

        self._cal_request = protocol or PROTOCOL

    def start_check(self) -> None:
        """Run the electrode check from the next chunk on (the live window's button): the
        prompts and then one verdict line per electrode go to `on_prompt`, the verdicts to
        `on_check`; scoring goes on meanwhile."""
        self._check_request = True

    def mark(self, label: str) -> None:
        """Put a marker at the current stream time (a button press in the live window)."""
        if self.writer is not None:
            self.writer.add_mark(self.status.seconds, label)

    def run(self, duration_s: float | None = None, handle_signals: bool = True) -> SessionResult:
        """Run until stopped or `duration_s` of stream time; blocking convenience wrapper."""
        return asyncio.run(self.run_async(duration_s, handle_signals))

    async def run_async(
        self, duration_s: float | None = None, handle_signals: bool = True
    ) -> SessionResult:
        loop = self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        self._queue = queue
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self.stop, f"signal {sig.name}")
        if hasattr(self.device, "on_notice"):  # in the queue, in order with the chunks
            self.device.on_notice = lambda text: loop.call_soon_threadsafe(
                queue.put_nowait, Notice(text)
            )
        reader = threading.Thread(
            target=read_device,
            args=(
                self.device,
                lambda item: loop.call_soon_threadsafe(queue.put_nowait, item),
                self._room,
                lambda: self._stop_reason is not None,
            ),
            daemon=True,
        )
        reader.start()
        failed = False
        try:
            await self._consume(queue, duration_s)
        except BaseException:
            failed = True  # what is still queued is not handled: the session is broken
            raise
        finally:
            self.stop(self._stop_reason or "stopped")
            with contextlib.suppress(Exception):
                self.device.close()
            await loop.run_in_executor(None, reader.join, 5.0)
            while not queue.empty():  # what the reader delivered while it was being stopped
                item = queue.get_nowait()
                if isinstance(item, Notice):
                    self._notice(item.text)
                elif isinstance(item, tuple) and self.info is not None and not failed:
                    self._take(*item)
            self._finish()
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                        loop.remove_signal_handler(sig)
        if self.store_error is not None:  # the end of the night could not be saved
            raise self.store_error
        return SessionResult(
            reason=self._stop_reason or "stopped",
            status=self.status,
            path=str(self.writer.path) if self.writer else None,
            info=self.pipeline.info if self.pipeline else None,
        )

    # ------------------------------------------------------------------------ threads
    async def _consume(self, queue: asyncio.Queue, duration_s: float | None) -> None:
        self._last_arrival = time.monotonic()
        ticker = asyncio.ensure_future(tick(queue, 0.5))  # wakes the loop when nothing comes
        try:
            await self._consume_items(queue, duration_s)
        finally:
            ticker.cancel()

    async def _consume_items(self, queue: asyncio.Queue, duration_s: float | None) -> None:
        while self._stop_reason is None:
            item = await queue.get()
            if item is TICK:
                self._check_silence(duration_s)
                for listener in self.tick_listeners:
                    listener()
                continue
            if item is STOP:
                break
            if isinstance(item, Notice):
                self._notice(item.text)
                continue
            if item is None:
                self.stop("the device stream ended")
                break
            if isinstance(item, BaseException):
                self.stop(f"device error: {item}")
                raise item
            chunk, received_at = item
            if chunk.stream != EMG:  # beside the EMG: not what silence or --duration count
                self._room.release()
                self._take(chunk, received_at)
                continue
            self._last_arrival = time.monotonic()
            if duration_s is not None and self._end_index is None:
                fs = self.device.info.fs
                self._end_index = chunk.first_index + round(duration_s * fs)
            self._handle_within(chunk, received_at)
            self._room.release()
            if self._end_index is not None and chunk.end_index >= self._end_index:
                self.stop("duration reached")
        # handle what the reader already delivered, so nothing received is lost
        while not queue.empty():
            item = queue.get_nowait()
            if isinstance(item, Notice):
                self._notice(item.text)
            elif isinstance(item, tuple):
                self._room.release()
                self._take(*item)

    def _take(self, chunk: Chunk, received_at: float) -> None:
        """A chunk of the EMG to score, or of an auxiliary stream the device describes,
        stored beside it (from the EMG's first sample on) and handed to its listeners; both
        up to --duration."""
        if chunk.stream == EMG:
            self._handle_within(chunk, received_at)
            return
        info = getattr(self.device, "aux_streams", {}).get(chunk.stream)
        if info is None:
            return
        if self._end_index is not None and self.info is not None:  # no further than --duration
            kept = chunk.before(math.ceil(self._end_index / self.info.fs * info.fs))
            if kept is None:
                return
            chunk = kept
        if self.writer is not None and not self.writer.closed:
            self.writer.append_aux(chunk, info)
        for listener in self.aux_listeners:
            listener(chunk)

    def _handle_within(self, chunk: Chunk, received_at: float) -> None:
        """Handle the part of a chunk before the end of --duration (all of it without one):
        a source faster than real time must not record more than asked."""
        kept = chunk.before(self._end_index)
        if kept is not None:
            self._handle(kept, received_at)

    def _check_silence(self, duration_s: float | None) -> None:
        """No chunk for a while: --duration counts on by the wall clock, so a board that
        never comes back does not keep the recorder waiting forever."""
        silent = time.monotonic() - self._last_arrival
        if duration_s is None or silent < SILENT_S:
            return
        if self.status.seconds + silent >= duration_s:
            self.stop(f"duration reached (no data from the device for the last {silent:.0f} s)")

    def _notice(self, text: str) -> None:
        """A notice from the device's link, in the loop's thread, after the chunks before it."""
        self.status.link = "" if "data again" in text else text
        log.info("%s", text)
        if self.writer is not None and not self.writer.closed:
            self.writer.add_notice(self.status.seconds, text)
        for listener in self.notice_listeners:
            listener(self.status.seconds, text)

    # ---------------------------------------------------------------------- per chunk
    def _handle(self, chunk: Chunk, received_at: float) -> None:
        if self.info is None:
            self.info = self.device.info  # complete once the first chunk has arrived
            if self._store_factory is not None:
                self.writer = self._store_factory(self.info)
            if self._guide is None:
                self._start_scoring()
            self.on_started(self.info)
        if self._cal_request is not None and self._guide is None:
            start = chunk.first_index / self.info.fs
            self._guide_from(self._cal_request, start, live=True)
            self._cal_request = None
        if self._guide is not None and not self._guide.live:
            self._calibrating(chunk)
            return
        self._checking(chunk)
        self._score(chunk, received_at)
        if self._guide is not None:
            self._calibrating(chunk)

    def _checking(self, chunk: Chunk) -> None:
        """The electrode check asked for from the window: keep its samples; at its end, say
        the verdicts."""
        assert self.info is not None
        if self._check_request and self._check is None:
            self._check_request = False
            self._check = CheckUnderway(CHECK, chunk.first_index / self.info.fs, self.on_prompt)
        if self._check is None:
            return
        raw = self._check.add(chunk.samples, chunk.end_index / self.info.fs, self.info.fs)
        if raw is None:
            return
        self._check = None
        try:
            verdicts = judge(raw, self.info, self.config)
        except ValueError as exc:
            self.on_prompt(f"Electrode check failed: {exc}")
            return
        self.on_prompt("Electrodes: " + "; ".join(v.text() for v in verdicts))
        self.on_check(verdicts)

    def _guide_from(self, protocol: CalibrationProtocol, start_s: float, live: bool) -> None:
        self._guide = GuidedCalibration(
            protocol,
            attempts=self.calibration_attempts,
            start_s=start_s,
            live=live,
            on_prompt=lambda text: self.on_prompt(text),
        )
        self._cal_window = self._guide.window

    def _start_scoring(self) -> None:
        assert self.info is not None
        try:
            self.pipeline = Pipeline(self.info, self.config, self.calibration)
        except ValueError as exc:  # settings that do not fit this stream (a rate too low ...)
            raise DeviceError(f"{self.info.device}: {exc}") from None
        if self.feedback is not None:
            self.policy = FeedbackPolicy(self.info.fs, self.feedback)
            if self.idle_window_s is None:
                self.idle_window_s = resting_read_window(
                    self.feedback.onset_delay_s, self.active_window_s
                )

    def _calibrating(self, chunk: Chunk) -> None:
        """Guided calibration: the samples are stored like any others (at the start of the
        stream; mid-stream they were, when scored), and once the sequence is over scoring
        goes on against the new levels."""
        guide = self._guide
        assert self.info is not None and guide is not None
        if not guide.live:
            if self.writer is not None:
                self.writer.append(chunk)
                self._flush()
            self.status.seconds = chunk.end_index / self.info.fs
            self.status.samples += chunk.n
        done = guide.add(chunk, self.info, self.config)
        self._cal_window, self.calibration_error = guide.window, guide.error
        if done is None:
            return
        self._guide = None
        self.on_calibrated(done.calibration)
        if guide.live:  # switch to the new thresholds from the next chunk on
            if done.calibration is not None:
                self.calibration = done.calibration
                if self.writer is not None:
                    self.writer.set_calibration(done.calibration, guide.window)
                self.pipeline = Pipeline(self.info, self.config, done.calibration)
            return
        self.calibration = done.calibration
        if self.writer is not None:
            self.writer.set_calibration(self.calibration, guide.window)
        self._start_scoring()
        for past in done.chunks:  # score the calibration stretch too; its clenches are not counted
            self._score(past, None, store=False)

    def _score(self, chunk: Chunk, received_at: float | None, store: bool = True) -> None:
        pipeline = self.pipeline
        assert pipeline is not None
        out = pipeline.process(chunk)
        if self._cal_window is not None:  # the calibration clenches are not the night's
            out.events = outside(out.events, self._cal_window)
        clench_since = pipeline.detector.clench_since_index
        self._pace(pipeline.detector.run_under_way)  # a dip may end in a clench's buzz
        if self.policy is not None and received_at is not None and self._guide is None:
            # (no buzz for the clenches a calibration asks for: none while one runs)
            # the detector has seen the samples up to pipeline.next_index (ECG removal hands
            # them on a few tens of ms late)
            decision = self.policy.update(clench_since, pipeline.next_index)
            if decision is not None:
                # the trigger sample arrived with this chunk's last byte or earlier
                waited = (chunk.end_index - 1 - decision.trigger_index) / pipeline.fs
                self._give(decision, received_at - waited)
        status = self.status
        if store:
            status.samples += chunk.n
            status.lost += chunk.missing_before
        # the calibration stretch is scored after it was stored: the clock does not go back
        status.seconds = max(status.seconds, chunk.end_index / pipeline.fs)
        if out.envelope.size:
            status.envelope = out.envelope[:, -1]
        status.thresholds = out.thresholds
        self._note(out.events)
        if self.writer is not None:
            if store:
                self.writer.append(chunk)
            self.writer.add_events(out.events)
            self._flush()
        for subscriber in self.subscribers:
            subscriber(out)

    def _pace(self, clenching: bool) -> None:
        """Read a serial device in short windows while a clench may earn feedback (for a
        quick buzz) and in long ones otherwise (fewer wake-ups, less CPU all night)."""
        if self.policy is None or not hasattr(self.device, "read_window_s"):
            return
        window = self.active_window_s if clenching else self.idle_window_s
        if self.device.read_window_s != window:
            self.device.read_window_s = window

    def _give(self, decision: Decision, received_at: float) -> None:
        assert self.pipeline is not None
        record = deliver(
            decision,
            self.actuators,
            enabled=self.feedback_enabled,
            received_at=received_at,
            fs=self.pipeline.fs,
        )
        if record.fired:
            self.status.feedback_fired += 1
            self.status.latencies_ms.append(record.latency_ms)
            del self.status.latencies_ms[:-1000]
        else:
            self.status.feedback_held += 1
        self.status.last_feedback_s = record.at_s
        if self.writer is not None:
            self.writer.add_feedback(record)
        for listener in self.feedback_listeners:
            listener(record)

    def _note(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, EpisodeEnd):
                if event.episode.artifact:
                    self.status.artifacts += 1
                else:
                    self.status.episodes += 1
            elif isinstance(event, QualityChanged):
                self.status.quality[event.channel] = event.flags

    def _flush(self) -> None:
        assert self.writer is not None
        try:
            self.writer.flush()
        except StoreError as exc:  # raised out of run(): one line for whoever called
            self.stop(f"storage error: {exc}")
            raise

    def _finish(self) -> None:
        if self._guide is not None and self.writer is not None:
            ended = "the recording ended during the calibration"
            # after a failed first try, why that one failed is what the wearer needs to hear
            self.calibration_error = self.calibration_error or ended
        if self.pipeline is not None:
            events = self.pipeline.finish()
            self._note(events)
            if self.writer is not None and not self.writer.closed:
                self.writer.add_events(events)
            for listener in self.closing_listeners:
                listener(events)
        if self.writer is not None and not self.writer.closed:
            try:
                self.writer.finish(self._stop_reason or "stopped")
            except StoreError as exc:  # what was committed before stays readable
                self.store_error = self.store_error or exc
