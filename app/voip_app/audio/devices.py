"""The desktop's microphone and speaker through sounddevice (PortAudio).

Capture and playback run in PortAudio's threads; frames cross to the event loop through
``call_soon_threadsafe`` and a small locked buffer, so nothing blocks the loop. With
``echo_cancellation`` (the default) both directions go through one livekit
``AudioProcessingModule`` (:mod:`voip_app.audio.echo`): what the speaker plays is fed to its
reverse stream, so the microphone frames come out with the far end's echo removed (plus noise
suppression and gain control).

A device that is missing, busy or gone never fails the call: each direction is a
:class:`~voip_app.audio.stream_endpoint.StreamEndpoint`, which runs without its device, tries
again, and opens a stalled stream anew.

Device ids are PortAudio device indices as strings (``None``: the system default).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import numpy as np

from voip_app.audio.base import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Frame,
    level_of,
    silence,
)
from voip_app.audio.echo import EchoCanceller
from voip_app.audio.frames import Reframer
from voip_app.audio.playout import PlayoutBuffer
from voip_app.audio.portaudio import list_devices
from voip_app.audio.source_trim import SourceTrim
from voip_app.audio.stream_endpoint import StreamEndpoint
from voip_app.audio.trace import TRACE
from voip_app.audio.tuning import AudioTuning
from voip_app.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.2
"""A microphone that stops delivering gives silence after this, so capture goes on."""

__all__ = ["AudioTuning", "DeviceAudio", "DeviceInput", "DeviceOutput", "list_devices"]


class DeviceInput(StreamEndpoint):
    """A sounddevice input stream delivering 10 ms frames (silence while there is no device)."""

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
        super().__init__(device_id, apm, tuning, clock=clock)
        self._queue: asyncio.Queue[Frame] = asyncio.Queue(maxsize=50)
        self._silence_due = 0.0
        self.dropped = 0
        """Frames dropped from the capture queue past its cap."""
        self.source_trim = SourceTrim(self.tuning.source_trim_window_ms // 10)
        """The SDK source queue's standing frame, left out by the session that captures."""

    @property
    def source_queue_ms(self) -> int:
        """The SDK source queue this microphone wants behind it (it paces itself)."""
        return self.tuning.source_queue_ms

    def _callback_for(self, loop: asyncio.AbstractEventLoop) -> Any:
        queue, apm, cap = self._queue, self._apm, self.tuning.max_capture_frames

        def put(frame: Frame) -> None:
            while queue.qsize() >= cap:
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(frame)

        reframer = Reframer()  # a new stream starts with no half frame

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()  # the trace's clock
            self._called_back(frames)
            delay = float(time_info.currentTime - time_info.inputBufferAdcTime)
            for offset, frame in reframer.push(np.asarray(indata[:, 0], dtype=np.int16)):
                if TRACE is not None:
                    TRACE.mark("mic_adc", frame, now - delay + offset / SAMPLE_RATE)
                    TRACE.mark("mic_callback", frame, now)
                if apm is not None:
                    frame = apm.near(frame, delay)
                if TRACE is not None:
                    TRACE.mark("mic_processed", frame, now)
                loop.call_soon_threadsafe(put, frame)

        return callback

    def _block_samples(self) -> int:
        return self.tuning.mic_block_samples(FRAME_SAMPLES)

    def stats(self) -> dict[str, float]:
        return {**super().stats(), "dropped": self.dropped, "trimmed": self.source_trim.skipped}

    async def read(self) -> Frame:
        if self._stream is not None:
            self._backlog_sum += self._queue.qsize()
            self._backlog_n += 1
            try:
                frame = await asyncio.wait_for(self._queue.get(), READ_TIMEOUT_S)
            except TimeoutError:
                frame = silence()
        else:
            # No device: silence in real time, as a device would give it (the SDK's source
            # may have no queue to pace it: ``source_queue_ms``); late reads do not catch up.
            now = time.monotonic()
            due = max(self._silence_due, now)
            await asyncio.sleep(due - now)
            self._silence_due = due + FRAME_SAMPLES / SAMPLE_RATE
            frame = silence()
        self.level = level_of(frame)
        if TRACE is not None:
            TRACE.mark("mic_read", frame)
        return frame


class DeviceOutput(StreamEndpoint):
    """A sounddevice output stream fed 10 ms frames from the event loop (dropped without one)."""

    kind = "output"
    what = "speaker"

    def __init__(
        self,
        device_id: str | None,
        apm: EchoCanceller | None,
        tuning: AudioTuning | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(device_id, apm, tuning, clock=clock)
        self._buffer = PlayoutBuffer(self.tuning)

    def _block_samples(self) -> int:
        return self.tuning.speaker_block_samples(FRAME_SAMPLES)

    def _callback_for(self, loop: asyncio.AbstractEventLoop) -> Any:
        apm, buffer = self._apm, self._buffer
        buffer.reset()
        played = Reframer()  # what the echo canceller has not had yet, in whole frames

        def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
            now = time.monotonic()  # the trace's clock
            self._called_back(frames)
            pcm, begun = buffer.read(frames)
            dac = now + float(time_info.outputBufferDacTime - time_info.currentTime)
            if TRACE is not None:
                for offset, chunk in begun:
                    TRACE.mark("speaker_callback", chunk, now)
                    TRACE.mark("speaker_dac", chunk, dac + offset / SAMPLE_RATE)
            outdata[:, 0] = pcm
            if apm is not None:
                # the canceller takes whole 10 ms frames; a 5 ms block gives one every other time
                apm.output_delay_s = dac - now
                for _, frame in played.push(pcm):
                    apm.far(frame)

        return callback

    def write(self, frame: Frame) -> None:
        self.level = level_of(frame)
        if self._stream is not None:
            self._buffer.push(frame)

    def stats(self) -> dict[str, float]:
        return {
            **super().stats(),
            "backlog_ms": round(self._buffer.mean_backlog_frames() * 10, 1),
            "underruns": self._buffer.underruns,
            "dropped": self._buffer.dropped,
            "pushed": self._buffer.pushed,
            "played": self._buffer.played,
            "taken": self._buffer.takes,
        }


class DeviceAudio:
    """A microphone + speaker pair for one call, echo-cancelled together."""

    def __init__(
        self,
        *,
        input_device: str | None = None,
        output_device: str | None = None,
        echo_cancellation: bool = True,
        noise_suppression: bool = True,
        auto_gain_control: bool = True,
        tuning: AudioTuning | None = None,
    ) -> None:
        tuning = tuning or AudioTuning.from_env()
        apm = (
            EchoCanceller(noise_suppression=noise_suppression, auto_gain_control=auto_gain_control)
            if echo_cancellation
            else None
        )
        self.input = DeviceInput(input_device, apm, tuning)
        self.output = DeviceOutput(output_device, apm, tuning)
