"""Test tones through the ``livekit`` SDK: publish a generated sine, measure what arrives.

Shared by devsfu's media tests and ``bench/media.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable

import numpy as np
from livekit import rtc

SAMPLE_RATE = 48_000
FRAME_MS = 10
SAMPLES_PER_FRAME = SAMPLE_RATE * FRAME_MS // 1000
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.3  # of full scale: an RMS of about -13.5 dBFS


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dB relative to full scale (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768.0) ** 2)))
    return 20 * math.log10(rms) if rms > 1e-6 else -120.0


def expected_tone_dbfs(amplitude: float = TONE_AMPLITUDE) -> float:
    return 20 * math.log10(amplitude / math.sqrt(2))


def dominant_hz(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """The strongest frequency in ``samples`` (Hann-windowed FFT)."""
    x = samples.astype(np.float64) * np.hanning(samples.size)
    spectrum = np.abs(np.fft.rfft(x))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(samples.size, 1.0 / sample_rate)[int(np.argmax(spectrum))])


class ToneSource:
    """An ``rtc.AudioSource`` fed in real time with a sine (or silence while ``gate`` says so)."""

    def __init__(
        self,
        hz: float = TONE_HZ,
        amplitude: float = TONE_AMPLITUDE,
        gate: Callable[[int], bool] | None = None,
        frame_ms: int = FRAME_MS,
        name: str = "tone",
    ) -> None:
        self.source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=max(100, 2 * frame_ms))
        self.track = rtc.LocalAudioTrack.create_audio_track(name, self.source)
        self.frames_sent = 0
        self._hz = hz
        self._amplitude = amplitude
        self._gate = gate
        self._samples = SAMPLE_RATE * frame_ms // 1000
        # With whole cycles per frame and no gate every frame is the same: make it once.
        self._repeats = gate is None and (hz * self._samples / SAMPLE_RATE).is_integer()
        self._cached: rtc.AudioFrame | None = None
        self._task: asyncio.Task[None] | None = None

    def set_gate(self, gate: Callable[[int], bool] | None) -> None:
        """Choose per frame index whether the tone sounds (``None``: always)."""
        self._gate = gate
        self._repeats = False

    def frame(self, index: int) -> rtc.AudioFrame:
        """Frame ``index`` of the tone (continuous phase), or silence when gated off."""
        if self._cached is not None:
            return self._cached
        n = self._samples
        t = (np.arange(n) + index * n) / SAMPLE_RATE
        on = self._gate is None or self._gate(index)
        wave = np.sin(2 * np.pi * self._hz * t) * (self._amplitude if on else 0.0)
        data = (wave * 32767).astype(np.int16)
        frame = rtc.AudioFrame(data.tobytes(), SAMPLE_RATE, 1, n)
        if self._repeats:
            self._cached = frame
        return frame

    async def publish(self, room: rtc.Room) -> rtc.LocalTrackPublication:
        """Publish the track as a microphone and start feeding it in real time."""
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        publication = await room.local_participant.publish_track(self.track, options)
        self._task = asyncio.get_running_loop().create_task(self._feed())
        return publication

    async def _feed(self) -> None:
        while True:
            index = self.frames_sent
            self.before_frame(index)
            await self.source.capture_frame(self.frame(index))
            self.frames_sent += 1

    def before_frame(self, index: int) -> None:
        """Called just before frame ``index`` is queued (a hook for latency measurements)."""

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.source.aclose()


async def frames_of(stream: rtc.AudioStream) -> AsyncIterator[np.ndarray]:
    """Each received frame as int16 mono samples."""
    async for event in stream:
        yield np.frombuffer(bytes(event.frame.data), dtype=np.int16)


async def record(stream: rtc.AudioStream, seconds: float) -> np.ndarray:
    """The next ``seconds`` of audio from ``stream``."""
    wanted = int(seconds * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    got = 0
    async for samples in frames_of(stream):
        chunks.append(samples)
        got += samples.size
        if got >= wanted:
            break
    return np.concatenate(chunks)[:wanted] if chunks else np.zeros(0, dtype=np.int16)
