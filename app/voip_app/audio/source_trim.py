"""The SDK source queue's standing frame, found and dropped: :class:`SourceTrim`.

The livekit SDK's audio source (``queue_size_ms=10``) sends one 10 ms frame to the encoder per
tick of its own 10 ms clock and holds up to two; ``capture_frame`` returns at once while it holds
one frame or less, and otherwise waits for the next tick. Frames come from the microphone at the
same pace, so what the queue held after the call's first burst of frames stays all call: either
nothing (a frame waits for the next tick, 0-10 ms) or one standing frame (every frame waits
10 ms more, and every ``capture_frame`` waits for a tick). Which of the two a call gets was
chance (docs/benchmarks.md, *Client*). The app cannot read the queue, but it sees the second
state: no capture in a whole window returns at once. Then one microphone frame is not
captured, the queue runs down by one frame, and the rest of the call is 10 ms sooner; as the
speaker's trim (:mod:`voip_app.audio.playout`) does with its own standing backlog.
"""

from __future__ import annotations

RETURNED_AT_ONCE_S = 0.003
"""A ``capture_frame`` that returns within this did not wait for the queue's tick (the SDK's
answer comes back through its event thread and this event loop: about 1 ms here)."""


class SourceTrim:
    """Feed it each ``capture_frame``'s wait (:meth:`note`); it says when to leave a frame out
    (:meth:`skip`). ``window_frames`` 0: never."""

    def __init__(self, window_frames: int, returned_at_once_s: float = RETURNED_AT_ONCE_S) -> None:
        self.window_frames = window_frames
        self.returned_at_once_s = returned_at_once_s
        self._waited = 0
        self._due = False
        self.skipped = 0
        """Frames left out so far."""

    def note(self, wait_s: float) -> None:
        """One ``capture_frame`` took ``wait_s``."""
        if self.window_frames <= 0:
            return
        if wait_s < self.returned_at_once_s:
            self._waited = 0
            return
        self._waited += 1
        if self._waited >= self.window_frames:
            self._due = True
            self._waited = 0

    def skip(self) -> bool:
        """Whether to leave the next frame out (once per window that never returned at once)."""
        if not self._due:
            return False
        self._due = False
        self.skipped += 1
        return True
