"""One direction of the desktop's audio (:mod:`voip_app.audio.devices`): a PortAudio stream
that a watcher keeps open.

A device that is missing, busy or gone never fails the call: the endpoint runs without it and
its watcher tries again every :data:`RETRY_S`. A stream whose callbacks stop for
:data:`STALL_S` (its device was unplugged or its sound server's sink removed), or crawl,
covering less than :data:`CRAWL_SHARE` of real time for :data:`CRAWL_S` (seen in CI on a loaded
machine: a speaker called back once in two seconds for a whole call), is closed and opened
again, on the system default when the chosen device is gone. Whether the device is there goes
to a listener (the in-call view's "No microphone" / "No speaker").
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from voip_app.audio.base import SAMPLE_RATE, StateListener
from voip_app.audio.echo import EchoCanceller
from voip_app.audio.portaudio import close_stream, open_stream
from voip_app.audio.tuning import AudioTuning
from voip_app.clock import SYSTEM_CLOCK, Clock
from voip_app.media.base import MediaError

log = logging.getLogger(__name__)

RETRY_S = 1.0
"""A missing device is tried again this often."""
STALL_S = 3.0
"""A stream without a callback for this long has lost its device (a loaded machine can
delay callbacks by a second and more; a removed device stops them for good)."""
CRAWL_S = 5.0
"""How long a stream must crawl before it is opened again: longer than a loaded machine's
hiccup, and than a sound server's start of a new stream (PulseAudio's null sink, which the
tests play into, takes about 2 s to run a new stream at real time)."""
CRAWL_SHARE = 0.25
"""A stream whose callbacks cover less than this share of real time is crawling."""
TRIES_PER_NOTE = 10
"""A device still missing is noted in the log once every this many tries."""
SLOW_OPEN_S = 1.0
"""Opening a device that takes longer than this is noted in the log."""


class StreamEndpoint:
    """What both directions share: the stream, its watcher, and whether the device is there.

    A subclass says which direction it is (``kind``, ``what``), its callback and its block."""

    kind = "input"
    what = "microphone"

    def __init__(
        self,
        device_id: str | None,
        apm: EchoCanceller | None,
        tuning: AudioTuning | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.device_id = device_id
        self.clock = clock
        """What the watcher waits on and the callbacks are timed by (a wall clock: a jump of
        seconds forward can open a healthy stream again, once)."""
        self._apm = apm
        self.tuning = tuning or AudioTuning()
        self._backlog_sum = 0
        self._backlog_n = 0
        self.available = False
        self.level = 0.0
        """The last frame's RMS level (0..1), for meters."""
        self._stream: Any = None
        self._last_callback = 0.0
        self._samples = 0
        """Samples the callbacks have played or recorded since the stream opened."""
        self._pace: deque[tuple[float, int]] = deque()
        """(time, samples) at the watcher's last rounds, the oldest :data:`CRAWL_S` back."""
        self._listener: StateListener | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._reported: bool | None = None
        self._failed_opens = 0

    def set_state_listener(self, listener: StateListener | None) -> None:
        self._listener = listener

    async def start(self) -> None:
        if self._watcher is not None:
            return
        await self._open()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await self._close()
        self._reported = None

    async def aclose(self) -> None:
        await self.stop()

    def _callback_for(self, loop: asyncio.AbstractEventLoop) -> Any:
        raise NotImplementedError

    def _called_back(self, frames: int) -> None:
        """Note a callback of ``frames`` samples (PortAudio's thread)."""
        self._last_callback = self._seconds()
        self._samples += frames

    def _seconds(self) -> float:
        return self.clock.now().timestamp()

    def _block_samples(self) -> int:
        raise NotImplementedError

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        began = self._seconds()
        try:
            stream = await asyncio.to_thread(
                open_stream,
                self.kind,
                self.device_id,
                self._callback_for(loop),
                block_samples=self._block_samples(),
                latency=self.tuning.latency,
                pulse_latency_ms=self.tuning.pulse_latency_ms,
            )
        except MediaError as exc:
            self._failed_opens += 1
            if self._reported is not False or self._failed_opens % TRIES_PER_NOTE == 0:
                # said once, then now and then, so that the log shows the retries go on
                log.warning("audio device: no %s (%s, try %d)", self.what, exc, self._failed_opens)
            self._set_available(False)
            return
        self._failed_opens = 0
        self._last_callback = self._seconds()
        self._samples = 0
        self._pace = deque([(self._last_callback, 0)])
        if self._last_callback - began > SLOW_OPEN_S:
            log.info(
                "audio device: opening the %s took %.1f s", self.what, self._last_callback - began
            )
        self._stream = stream
        self._set_available(True)

    def stats(self) -> dict[str, float]:
        """Where this endpoint's share of the delay goes: PortAudio's reported latency and the
        mean backlog of 10 ms frames waiting in this process (capture queue, speaker buffer)."""
        stream = self._stream
        latency = float(stream.latency) * 1000 if stream is not None else 0.0
        backlog = self._backlog_sum / self._backlog_n * 10 if self._backlog_n else 0.0
        return {
            "portaudio_ms": round(latency, 1),
            "backlog_ms": round(backlog, 1),
            "block_ms": self._block_samples() * 1000 / SAMPLE_RATE,
        }

    async def _close(self) -> None:
        stream, self._stream = self._stream, None
        self.available = False
        if stream is not None:
            await asyncio.to_thread(close_stream, stream)

    async def _watch(self) -> None:
        while True:
            await self.clock.sleep(RETRY_S)
            try:
                await self._check()
            except Exception:  # the watcher is what brings a device back: it must outlive faults
                log.exception("audio device: watching the %s failed; trying again", self.what)

    async def _check(self) -> None:
        """One round of the watcher: open a missing device, or open again one whose stream
        stopped or crawls."""
        if self._stream is None:
            await self._open()
        elif (fault := self._fault()) is not None:
            log.warning("audio device: the %s %s; opening it again", self.what, fault)
            await self._close()
            self._set_available(False)
            await self._open()

    def _fault(self) -> str | None:
        """What is wrong with the open stream, if anything; notes this round's mark (time,
        samples) for the crawl's window."""
        if not self._stream.active:
            return "stopped (its stream is no longer active)"
        now, pace = self._seconds(), self._pace
        if (gap := now - self._last_callback) > STALL_S:
            return f"stopped (no callback for {gap:.1f} s)"
        pace.append((now, self._samples))
        while len(pace) > 1 and now - pace[1][0] >= CRAWL_S:
            pace.popleft()  # keep the newest mark at least CRAWL_S old
        since, samples = pace[0]
        span = now - since
        if span < CRAWL_S:
            return None
        share = (self._samples - samples) / SAMPLE_RATE / span
        if share >= CRAWL_SHARE:
            return None
        return f"crawls ({share:.0%} of real time for {span:.1f} s)"

    def _set_available(self, available: bool) -> None:
        self.available = available
        if available == self._reported:
            return
        self._reported = available
        log.info("audio device: %s %s", self.what, "ready" if available else "missing")
        if self._listener is not None:
            try:
                self._listener(available)
            except Exception:  # a listener's bug must not stop the watcher
                log.exception("audio device listener failed")
