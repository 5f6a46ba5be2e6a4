"""The session leaves the SDK source queue's standing frame out (``voip_app.audio.source_trim``).

Specification: the livekit SDK's ``AudioSource`` with a 10 ms queue sends one 10 ms frame per
tick of its own clock; a burst of two frames at the start leaves one frame standing in it, and a
microphone's frames, one per 10 ms, keep it there: every ``capture_frame`` then waits for the
next tick. The session's capture loop must notice (a whole window of captures that waited),
leave one microphone frame out, and from then on the captures return at once (the queue holds no
standing frame). The real SDK source (no room is needed for its queue); the microphone is a
stand-in that gives a frame every 10 ms, 2 ms after the SDK's tick (a real microphone's phase
is chance; this one is chosen so that the waits are long enough to tell, 8 ms).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from livekit import rtc

from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip_app.audio.source_trim import SourceTrim
from voip_app.audio.sources import NullSink
from voip_app.media.livekit_session import LiveKitMediaSession

WINDOW_FRAMES = 20


class NotedTrim(SourceTrim):
    """The session's trim, noting each wait it is told of."""

    def __init__(self) -> None:
        super().__init__(WINDOW_FRAMES)
        self.waits: list[float] = []
        self.skipped_at: int | None = None

    def note(self, wait_s: float) -> None:
        self.waits.append(wait_s)
        super().note(wait_s)

    def skip(self) -> bool:
        skip = super().skip()
        if skip and self.skipped_at is None:
            self.skipped_at = len(self.waits)
        return skip


class Microphone:
    """Frames at real time: two at once, then one every 10 ms, 2 ms after the SDK's tick (the
    third read comes right after a tick: the capture before it waited for one)."""

    def __init__(self) -> None:
        self.source_trim = NotedTrim()
        self.source_queue_ms = 10
        self._reads = 0
        self._due: float | None = None

    async def read(self) -> Frame:
        self._reads += 1
        if self._reads == 3:
            self._due = time.monotonic() + 0.002
        if self._due is not None:
            await asyncio.sleep(max(0.0, self._due - time.monotonic()))
            self._due += FRAME_SAMPLES / SAMPLE_RATE
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)


async def test_the_standing_frame_is_left_out_once_and_the_captures_then_return_at_once() -> None:
    mic = Microphone()
    session = LiveKitMediaSession(audio_input=mic, audio_output=NullSink())
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=10)
    capture = asyncio.ensure_future(session._capture(source))
    try:
        await asyncio.sleep(3 * WINDOW_FRAMES * 0.01 + 0.3)
    finally:
        capture.cancel()
        await asyncio.gather(capture, return_exceptions=True)
        await source.aclose()
    trim = mic.source_trim
    assert trim.skipped == 1
    assert trim.skipped_at is not None
    before = trim.waits[2 : trim.skipped_at]
    after = trim.waits[trim.skipped_at :]
    # before: every capture waited for the tick; after: (almost) every one returned at once
    assert min(before) >= trim.returned_at_once_s
    assert len(after) >= WINDOW_FRAMES
    at_once = sum(1 for w in after if w < trim.returned_at_once_s)
    assert at_once >= 0.9 * len(after)
