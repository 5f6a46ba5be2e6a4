"""Settings' sound checks outside a call: a live microphone level and a test sound.

:class:`MicCheck` reads an :class:`~voip_app.audio.base.AudioInput` (the chosen microphone, no
echo canceller: a person tests the raw device) until stopped and keeps the last frame's level.
:func:`play_test_sound` plays a short tone into an :class:`~voip_app.audio.base.AudioOutput` at
playback speed. Neither ever fails for want of a device: a missing one reads silence and plays
nowhere, which the level (flat) shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from voip_app.audio.base import FRAME_MS, AudioInput, AudioOutput, level_of
from voip_app.audio.sources import ToneSource

log = logging.getLogger(__name__)

TEST_SOUND_HZ = 660.0
TEST_SOUND_S = 1.5
TEST_SOUND_DBFS = -12.0


class MicCheck:
    """A running microphone test; :attr:`level` is the last 10 ms, 0..1."""

    def __init__(self, source: AudioInput) -> None:
        self._source = source
        self._task: asyncio.Task[None] | None = None
        self.level = 0.0

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        if self._task is None:
            await self._source.start()
            self._task = asyncio.get_running_loop().create_task(self._read())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._source.aclose()
        self.level = 0.0

    async def _read(self) -> None:
        while True:
            self.level = level_of(await self._source.read())


async def play_test_sound(
    output: AudioOutput, *, seconds: float = TEST_SOUND_S, hz: float = TEST_SOUND_HZ
) -> None:
    """Play a tone for ``seconds`` at real-time pace, then release the output."""
    tone = ToneSource(hz, TEST_SOUND_DBFS)
    loop = asyncio.get_running_loop()
    await output.start()
    try:
        started = loop.time()
        for n in range(int(seconds * 1000 / FRAME_MS)):
            output.write(await tone.read())
            # keep a few frames ahead of the device, never more (its backlog is bounded)
            delay = started + (n - 3) * FRAME_MS / 1000 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(0.1)  # let the last frames play out
    finally:
        await output.aclose()
