"""Where a sound's time goes on the device path: onset marks per stage (benchmarks only).

With ``VOIP_AUDIO_TRACE=1`` every stage of the path (the microphone's converter and callback,
the capture queue, the SDK's source, the remote stream, the speaker's callback and converter)
notes when a loud frame follows at least :data:`QUIET_S` of quiet: the onset of a sound. The
times are ``time.monotonic()``, one clock for every process of the machine, so ``bench.client``
lines up the two softphones' marks with the bursts it plays (docs/benchmarks.md, *Client*).
Off (the default) a stage costs one ``None`` test.
"""

from __future__ import annotations

import os
import threading
import time

from voip_app.audio.base import Frame, level_of

LOUD = 0.02
"""A frame above this RMS level (-34 dBFS) is loud (the benchmark's bursts peak at -15)."""
QUIET_S = 0.3
"""A loud frame after this much quiet at the same stage is an onset."""


class OnsetTrace:
    """Onset marks ``(stage, monotonic time)`` noted from any thread, taken by :meth:`drain`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_loud: dict[str, float] = {}
        self._marks: list[tuple[str, float]] = []

    def mark(self, stage: str, pcm: Frame, at: float | None = None) -> None:
        """Note ``pcm`` passing ``stage`` (at ``at``, default now) if it starts a sound."""
        if level_of(pcm) < LOUD:
            return
        when = time.monotonic() if at is None else at
        with self._lock:
            last = self._last_loud.get(stage)
            self._last_loud[stage] = when
            if last is None or when - last > QUIET_S:
                self._marks.append((stage, round(when, 4)))

    def drain(self) -> list[tuple[str, float]]:
        """The marks noted since the last call."""
        with self._lock:
            marks, self._marks = self._marks, []
        return marks


TRACE: OnsetTrace | None = OnsetTrace() if os.environ.get("VOIP_AUDIO_TRACE") == "1" else None
"""The process's trace, or ``None`` when ``VOIP_AUDIO_TRACE`` is not ``1``."""
