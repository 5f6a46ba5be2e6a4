"""Audio endpoints without devices: a tone, a WAV file, an echo loop, a WAV sink, a null sink.

Sources here never wait: the media layer paces them (the livekit ``AudioSource`` queue plays out
in real time). File access runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import math
import wave
from pathlib import Path

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE, Frame, silence
from voip_app.audio.base import AudioOutput as AudioOutputLike


class ToneSource:
    """A continuous sine at ``hz``, ``level_dbfs`` below full scale (peak)."""

    def __init__(self, hz: float, level_dbfs: float = -12.0) -> None:
        if not 0 < hz < SAMPLE_RATE / 2:
            raise ValueError(f"tone frequency must be between 0 and {SAMPLE_RATE // 2} Hz")
        self.hz = hz
        self.amplitude = 32767 * 10 ** (level_dbfs / 20)
        self._n = 0

    async def start(self) -> None:
        return None

    async def read(self) -> Frame:
        t = (np.arange(FRAME_SAMPLES) + self._n) / SAMPLE_RATE
        # keep the phase counter small so float precision never drifts over long calls
        self._n = (self._n + FRAME_SAMPLES) % (SAMPLE_RATE * 1000)
        return (self.amplitude * np.sin(2 * math.pi * self.hz * t)).astype(np.int16)

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class SilenceSource:
    """Digital silence (a bot that only listens)."""

    async def start(self) -> None:
        return None

    async def read(self) -> Frame:
        return silence()

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class WavFileSource:
    """A WAV file (any rate, mono or stereo, 16-bit), then silence; ``loop`` repeats it."""

    def __init__(self, path: str | Path, *, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        self._pcm: Frame | None = None
        self._pos = 0

    async def start(self) -> None:
        if self._pcm is None:
            self._pcm = await asyncio.to_thread(read_wav, self.path)

    async def read(self) -> Frame:
        pcm = self._pcm
        if pcm is None or len(pcm) == 0:
            return silence()
        if self._pos >= len(pcm):
            if not self.loop:
                return silence()
            self._pos = 0
        chunk = pcm[self._pos : self._pos + FRAME_SAMPLES]
        self._pos += FRAME_SAMPLES
        if len(chunk) < FRAME_SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(FRAME_SAMPLES - len(chunk), np.int16)])
        return chunk

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        self._pcm = None


class EchoLoop:
    """Both ends at once: what is written comes back out of ``read`` (an echo-test bot).

    ``read`` waits for the next written frame; at most ``max_frames`` (2 s) are kept, the oldest
    dropped first, so a stalled reader cannot grow memory.
    """

    def __init__(self, max_frames: int = 200) -> None:
        self._frames: collections.deque[Frame] = collections.deque(maxlen=max_frames)
        self._ready = asyncio.Event()

    async def start(self) -> None:
        return None

    def write(self, frame: Frame) -> None:
        self._frames.append(frame)
        self._ready.set()

    async def read(self) -> Frame:
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        self._frames.clear()


class NullSink:
    """Discards what it hears."""

    async def start(self) -> None:
        return None

    def write(self, frame: Frame) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class WavFileSink:
    """Records what it hears to a 48 kHz mono 16-bit WAV file, flushed about once a second."""

    def __init__(self, path: str | Path, *, flush_frames: int = 100) -> None:
        self.path = Path(path)
        self._flush_frames = flush_frames
        self._pending: list[Frame] = []
        self._writer: wave.Wave_write | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.frames_written = 0

    async def start(self) -> None:
        if self._writer is None:
            self._writer = await asyncio.to_thread(_open_wav, self.path)

    def write(self, frame: Frame) -> None:
        if self._writer is None:
            return
        self._pending.append(frame)
        if len(self._pending) >= self._flush_frames:
            task = asyncio.get_running_loop().create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        await self._flush()

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()
        async with self._lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                await asyncio.to_thread(writer.close)

    async def _flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, []
            writer = self._writer
            if writer is None or not pending:
                return
            data = np.concatenate(pending).astype("<i2").tobytes()
            await asyncio.to_thread(writer.writeframes, data)
            self.frames_written += len(pending)


def _open_wav(path: Path) -> wave.Wave_write:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = wave.open(str(path), "wb")  # noqa: SIM115 -- closed in WavFileSink.aclose
    writer.setnchannels(1)
    writer.setsampwidth(2)
    writer.setframerate(SAMPLE_RATE)
    return writer


def read_wav(path: str | Path) -> Frame:
    """A 16-bit WAV file as mono int16 at :data:`SAMPLE_RATE` (averaged, linearly resampled)."""
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
        channels = reader.getnchannels()
        rate = reader.getframerate()
        raw = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    mono = raw.reshape(-1, channels).mean(axis=1) if channels > 1 else raw.astype(np.float64)
    if rate != SAMPLE_RATE and len(mono) > 1:
        n_out = round(len(mono) * SAMPLE_RATE / rate)
        positions = np.linspace(0, len(mono) - 1, n_out)
        mono = np.interp(positions, np.arange(len(mono)), mono)
    clipped: Frame = np.clip(mono, -32768, 32767).astype(np.int16)
    return clipped


class TeeOutput:
    """Writes every frame to several outputs (an echo bot that also records)."""

    def __init__(self, *outputs: AudioOutputLike) -> None:
        self.outputs = outputs

    async def start(self) -> None:
        for output in self.outputs:
            await output.start()

    def write(self, frame: Frame) -> None:
        for output in self.outputs:
            output.write(frame)

    async def stop(self) -> None:
        for output in self.outputs:
            await output.stop()

    async def aclose(self) -> None:
        for output in self.outputs:
            await output.aclose()
