"""The desktop's microphone and speaker through sounddevice (PortAudio).

Capture and playback run in PortAudio's threads; frames cross to the event loop through
``call_soon_threadsafe`` and a small locked buffer, so nothing blocks the loop. With
``echo_cancellation`` (the default) both directions go through one livekit
``AudioProcessingModule``: what the speaker plays is fed to its reverse stream, so the microphone
frames come out with the far end's echo removed (plus noise suppression and gain control).

Device ids are PortAudio device indices as strings (``None``: the system default).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip_app.media.base import AudioOutput as OutputDevice
from voip_app.media.base import MediaError

log = logging.getLogger(__name__)

BLOCK_FRAMES = 2  # 20 ms PortAudio blocks
MAX_PLAYOUT_FRAMES = 8  # past 80 ms of playout backlog, drop to 40 ms: latency over completeness


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio missing (Debian: libportaudio2)
        raise MediaError("No sound system found (PortAudio is not installed).") from exc
    return sounddevice


def _device(device_id: str | None) -> int | str | None:
    if device_id is None or device_id == "":
        return None
    return int(device_id) if device_id.isdigit() else device_id


def list_devices(kind: str) -> list[OutputDevice]:
    """Input (``kind="input"``) or output devices; blocking: call it in a thread."""
    sd = _sd()
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    return [
        OutputDevice(id=str(index), name=str(info["name"]), kind="system")
        for index, info in enumerate(sd.query_devices())
        if info.get(key, 0) > 0
    ]


class _Apm:
    """One echo canceller shared by the capture and playback threads."""

    def __init__(self, *, noise_suppression: bool, auto_gain_control: bool) -> None:
        from livekit import rtc

        self._rtc = rtc
        self.apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=noise_suppression,
            high_pass_filter=True,
            auto_gain_control=auto_gain_control,
        )
        self.output_delay_s = 0.0

    def near(self, pcm: Frame, input_delay_s: float) -> Frame:
        frame = self._rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, FRAME_SAMPLES)
        try:
            self.apm.set_stream_delay_ms(int(max(input_delay_s + self.output_delay_s, 0) * 1000))
            self.apm.process_stream(frame)
        except RuntimeError:
            return pcm
        return np.frombuffer(frame.data, dtype=np.int16).copy()

    def far(self, pcm: Frame) -> None:
        frame = self._rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, FRAME_SAMPLES)
        try:
            self.apm.process_reverse_stream(frame)
        except RuntimeError:
            log.debug("APM reverse stream refused a frame")


class DeviceInput:
    """A sounddevice input stream delivering 10 ms frames."""

    def __init__(self, device_id: str | None, apm: _Apm | None) -> None:
        self.device_id = device_id
        self._apm = apm
        self._stream: Any = None
        self._queue: asyncio.Queue[Frame] = asyncio.Queue(maxsize=50)

    async def start(self) -> None:
        if self._stream is not None:
            return
        sd = _sd()
        loop = asyncio.get_running_loop()
        queue = self._queue = asyncio.Queue(maxsize=50)
        apm = self._apm

        def put(frame: Frame) -> None:
            if not queue.full():
                queue.put_nowait(frame)

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            pcm = np.asarray(indata[:, 0], dtype=np.int16)
            delay = float(time_info.currentTime - time_info.inputBufferAdcTime)
            for start in range(0, frames - FRAME_SAMPLES + 1, FRAME_SAMPLES):
                frame = pcm[start : start + FRAME_SAMPLES].copy()
                if apm is not None:
                    frame = apm.near(frame, delay)
                loop.call_soon_threadsafe(put, frame)

        self._stream = _open_stream(sd.InputStream, self.device_id, callback, what="microphone")

    async def read(self) -> Frame:
        return await self._queue.get()

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(_close_stream, stream)

    async def aclose(self) -> None:
        await self.stop()


class DeviceOutput:
    """A sounddevice output stream fed 10 ms frames from the event loop."""

    def __init__(self, device_id: str | None, apm: _Apm | None) -> None:
        self.device_id = device_id
        self._apm = apm
        self._stream: Any = None
        self._buffer: list[Frame] = []
        self._lock = threading.Lock()
        self._started = False

    async def start(self) -> None:
        if self._stream is not None:
            return
        sd = _sd()
        apm = self._apm

        def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
            with self._lock:
                need = frames // FRAME_SAMPLES
                # wait for a little backlog before starting, then play what there is
                if not self._started and len(self._buffer) < 2:
                    chunks: list[Frame] = []
                else:
                    self._started = True
                    chunks, self._buffer = self._buffer[:need], self._buffer[need:]
            pcm = np.zeros(frames, dtype=np.int16)
            for i, chunk in enumerate(chunks):
                pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES] = chunk
            outdata[:, 0] = pcm
            if apm is not None:
                apm.output_delay_s = float(time_info.outputBufferDacTime - time_info.currentTime)
                for i in range(need):
                    apm.far(pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])

        self._stream = _open_stream(sd.OutputStream, self.device_id, callback, what="speaker")

    def write(self, frame: Frame) -> None:
        with self._lock:
            self._buffer.append(frame)
            if len(self._buffer) > MAX_PLAYOUT_FRAMES:
                del self._buffer[: len(self._buffer) - MAX_PLAYOUT_FRAMES // 2]

    async def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(_close_stream, stream)
        with self._lock:
            self._buffer.clear()
            self._started = False

    async def aclose(self) -> None:
        await self.stop()


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
    ) -> None:
        apm = (
            _Apm(noise_suppression=noise_suppression, auto_gain_control=auto_gain_control)
            if echo_cancellation
            else None
        )
        self.input = DeviceInput(input_device, apm)
        self.output = DeviceOutput(output_device, apm)


def _open_stream(kind: Any, device_id: str | None, callback: Any, *, what: str) -> Any:
    """Open and start a mono 48 kHz int16 sounddevice stream of ``kind`` (input or output)."""
    sd = _sd()
    try:
        stream = kind(
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="int16",
            blocksize=FRAME_SAMPLES * BLOCK_FRAMES,
            device=_device(device_id),
            callback=callback,
        )
        stream.start()
    except (sd.PortAudioError, ValueError) as exc:
        raise MediaError(f"Cannot open the {what}: {exc}") from exc
    return stream


def _close_stream(stream: Any) -> None:
    try:
        stream.stop()
    finally:
        stream.close()
