"""The audio slot: where a call's microphone frames come from and its speaker frames go.

Frames are mono signed 16-bit PCM at :data:`SAMPLE_RATE`, :data:`FRAME_SAMPLES` per frame (10 ms),
as 1-D ``numpy.int16`` arrays. A media session starts and stops the endpoints it was given (once
per join, so a rejoin restarts them); whoever created them closes them with ``aclose``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 48_000
FRAME_MS = 10
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000

Frame = npt.NDArray[np.int16]


@runtime_checkable
class AudioInput(Protocol):
    """A microphone-like source."""

    async def start(self) -> None:
        """Begin producing frames (again, after :meth:`stop`)."""

    async def read(self) -> Frame:
        """The next 10 ms frame. A real-time source waits for it; a file source does not."""

    async def stop(self) -> None:
        """Pause: release the device; :meth:`start` may follow."""

    async def aclose(self) -> None:
        """Release everything for good."""


@runtime_checkable
class AudioOutput(Protocol):
    """A speaker-like sink."""

    async def start(self) -> None:
        """Begin accepting frames (again, after :meth:`stop`)."""

    def write(self, frame: Frame) -> None:
        """Queue one frame for playback; never blocks."""

    async def stop(self) -> None:
        """Pause: release the device; :meth:`start` may follow."""

    async def aclose(self) -> None:
        """Release everything for good (a file sink finishes its file here)."""


StateListener = Callable[[bool], None]
"""Told ``True`` when a device endpoint works again, ``False`` when its device is missing."""


@runtime_checkable
class DeviceEndpoint(Protocol):
    """An endpoint on a real device, which may be missing or vanish mid-call.

    ``start`` never fails for want of a device: the endpoint runs without one (silence in,
    nothing out), tries again about once a second, and tells its listener when that changes.
    """

    available: bool

    def set_state_listener(self, listener: StateListener | None) -> None:
        """Receive every change of :attr:`available` (on the event loop)."""


def silence() -> Frame:
    return np.zeros(FRAME_SAMPLES, dtype=np.int16)


def level_of(pcm: Frame) -> float:
    """A frame's RMS level, 0 (silence) to 1 (full scale)."""
    if len(pcm) == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(pcm.astype(np.float64))))) / 32768.0
