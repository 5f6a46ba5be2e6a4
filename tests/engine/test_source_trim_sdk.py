"""The session leaves the SDK source queue's standing frame out (``voip_app.audio.source_trim``).

Specification: the livekit SDK's ``AudioSource`` with a 10 ms queue sends one 10 ms frame per
tick of its own clock; a burst of two frames at the start leaves one frame standing in it, and a
microphone's frames, one per 10 ms, keep it there: every ``capture_frame`` then waits for the
next tick. The session's capture loop must notice (a whole window of captures that waited),
leave one microphone frame out, and from then on the captures return at once (the queue holds no
standing frame): most of the next window's do. Not all of them: a microphone woken late hands
over two frames close together, and the second waits for a tick (that is the SDK, not a
standing frame); on a busy machine such a burst can even stand a frame again, which the trim
then leaves out too. The real SDK source (no room is needed for its queue); the microphone is a
stand-in that gives a frame every 10 ms, 2 ms after the SDK's tick (a real microphone's phase
is chance; this one is chosen so that the waits are long enough to tell, 8 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator

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

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def read(self) -> Frame:
        self._reads += 1
        if self._reads == 3:
            self._due = time.monotonic() + 0.002
        if self._due is not None:
            await asyncio.sleep(max(0.0, self._due - time.monotonic()))
            self._due += FRAME_SAMPLES / SAMPLE_RATE
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)


ATTEMPTS = 8
"""The scenario runs in real time against the SDK's own 10 ms clock: on a loaded machine (the
whole suite on two cores) a late wake-up can drain the queue by itself or delay a capture past
the tick, so the scenario is tried again; one attempt must show all of it."""


async def one_attempt() -> NotedTrim:
    """The session's capture loop on the real SDK source for three windows and a bit."""
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
    return mic.source_trim


def what_went_wrong(trim: NotedTrim) -> str | None:
    """``None`` when the attempt shows the specification, else what it showed instead."""
    if trim.skipped_at is None:
        return "no frame left out"
    before = trim.waits[2 : trim.skipped_at]
    after = trim.waits[trim.skipped_at : trim.skipped_at + WINDOW_FRAMES]
    # before: every capture waited for the tick; after: most returned at once
    if min(before) < trim.returned_at_once_s:
        return f"a capture returned at once before the frame was left out: {min(before):.4f} s"
    if len(after) < WINDOW_FRAMES:
        return f"only {len(after)} captures after the frame was left out"
    at_once = sum(1 for w in after if w < trim.returned_at_once_s)
    if 2 * at_once <= len(after):
        return f"{at_once} of the {len(after)} captures after it returned at once"
    return None


@contextlib.contextmanager
def audio_priority(nice: int = -10) -> Iterator[None]:
    """This process's threads at an audio thread's precedence over the rest of the machine
    while the scenario runs (a phone or desktop runs its audio threads above ordinary work; here
    the rest of the suite shares the two cores). Threads started meanwhile inherit it from the
    thread that starts them, and are put back with the rest. Without the privilege (not root),
    the scenario runs as it is."""
    tasks = [int(t) for t in os.listdir("/proc/self/task")]
    before = {t: os.getpriority(os.PRIO_PROCESS, t) for t in tasks}
    try:
        for t in tasks:
            with contextlib.suppress(PermissionError, ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, t, nice)
        yield
    finally:  # every thread back, those started meanwhile too
        usual = before[os.getpid()]  # the main thread's
        for t in (int(t) for t in os.listdir("/proc/self/task")):
            with contextlib.suppress(PermissionError, ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, t, before.get(t, usual))


async def test_the_standing_frame_is_left_out_once_and_the_captures_then_return_at_once() -> None:
    with audio_priority():
        await _shows_the_specification()


async def _shows_the_specification() -> None:
    seen = []
    for _ in range(ATTEMPTS):
        wrong = what_went_wrong(await one_attempt())
        if wrong is None:
            return
        seen.append(wrong)
    raise AssertionError(f"no attempt showed the specification: {seen}")
