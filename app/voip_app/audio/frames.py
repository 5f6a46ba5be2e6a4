"""Whole 10 ms frames out of callback blocks of any size: :class:`Reframer`."""

from __future__ import annotations

import numpy as np

from voip_app.audio.base import FRAME_SAMPLES, Frame


class Reframer:
    """Cuts a stream of blocks (a 5 ms capture callback's, half a frame each) into the 10 ms
    frames the echo canceller and the SDK take; a frame begun in one block ends in the next.
    One thread only (a stream's callback: the microphone's, or the speaker's for the echo
    canceller's far end)."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, pcm: Frame) -> list[tuple[int, Frame]]:
        """The frames ``pcm`` completes, each with its first sample's offset from ``pcm``'s
        start (negative: it began in an earlier block), for its converter time."""
        data = np.concatenate((self._pending, pcm)) if len(self._pending) else pcm
        whole = len(data) // FRAME_SAMPLES
        first = -len(self._pending)
        frames = [
            (first + i * FRAME_SAMPLES, data[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES].copy())
            for i in range(whole)
        ]
        self._pending = data[whole * FRAME_SAMPLES :].copy()
        return frames
