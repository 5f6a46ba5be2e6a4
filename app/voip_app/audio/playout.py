"""The speaker's frames between the event loop (which writes them) and PortAudio's thread (which
plays them): :class:`PlayoutBuffer`.

Frames arrive from the remote stream at 100 a second and leave at the speaker's pace, which is
the same once the stream runs (a device's clock may differ slightly; a private PulseAudio's
idle null sink makes a new stream wait up to 2 s first: docs/benchmarks.md, *Client*), so a
backlog, once built (a burst of arrivals, a busy event loop, a stalled speaker), never drains
by itself and delays every word. The buffer therefore keeps, per
:attr:`AudioTuning.trim_window_ms`, the least backlog it had left after a callback in that
window; what was never needed in a whole window is standing delay, and all of it but
:attr:`AudioTuning.playout_spare_ms` is dropped, to the sample (5 ms: half a frame; a whole
frame once the stream has underrun; :attr:`AudioTuning.playout_spare_frames`, whole frames,
when it is 0). A backlog past
:attr:`AudioTuning.max_playout_frames` drops to half of it at once (a long stall's arrivals).
"""

from __future__ import annotations

import threading

import numpy as np

from voip_app.audio.base import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, Frame
from voip_app.audio.tuning import AudioTuning


class PlayoutBuffer:
    """10 ms frames waiting for the speaker; :meth:`push` from one thread, :meth:`take` from
    another."""

    def __init__(self, tuning: AudioTuning) -> None:
        self.tuning = tuning
        self._lock = threading.Lock()
        self._frames: list[Frame] = []
        self._started = False
        self._least_spare: int | None = None
        self._window_taken = 0
        self.backlog_sum = 0
        self.takes = 0
        self.underruns = 0
        """Takes that found fewer frames than asked for, once playing."""
        self.dropped: float = 0
        """Frames dropped as standing backlog or past the cap (parts of frames, too)."""
        self.pushed = 0
        """Frames written."""
        self.played = 0
        """Frames handed to the speaker."""
        self._rest: Frame | None = None
        self._spare_ms = tuning.playout_spare_ms

    def reset(self) -> None:
        """Empty, and wait for :attr:`AudioTuning.start_frames` again (a new stream)."""
        with self._lock:
            self._frames.clear()
            self._rest = None
            self._spare_ms = self.tuning.playout_spare_ms
            self._started = False
            self._least_spare = None
            self._window_taken = 0

    def push(self, frame: Frame) -> None:
        """Queue one frame; past the cap the oldest go, down to half of it."""
        cap = self.tuning.max_playout_frames
        with self._lock:
            self.pushed += 1
            self._frames.append(frame)
            if len(self._frames) > cap:
                excess = len(self._frames) - cap // 2
                del self._frames[:excess]
                self.dropped += excess

    def take(self, need: int) -> list[Frame]:
        """Up to ``need`` frames to play now (none until the start backlog has gathered)."""
        with self._lock:
            self.backlog_sum += len(self._frames)
            self.takes += 1
            if not self._started and len(self._frames) < self.tuning.start_frames:
                return []
            self._started = True
            if len(self._frames) < need:
                self.underruns += 1
                # this stream's arrivals jitter more than the spare: keep a whole frame
                self._spare_ms = max(self._spare_ms, FRAME_MS)
            chunks, self._frames = self._frames[:need], self._frames[need:]
            self.played += len(chunks)
            if self.tuning.playout_spare_ms <= 0:  # else read() trims, to the sample
                self._trim(need)
            return chunks

    def read(self, samples: int) -> tuple[Frame, list[tuple[int, Frame]]]:
        """``samples`` of PCM to play now, for a callback whose block is not whole frames (a
        5 ms one: :attr:`AudioTuning.speaker_block_ms`): a frame begun in one callback ends
        in the next; silence where frames are short. Also the frames begun here, with their
        offsets in the PCM (for the trace). One thread only (the speaker's)."""
        pcm = np.zeros(samples, dtype=np.int16)
        filled = 0
        if self._rest is not None:
            filled = min(len(self._rest), samples)
            pcm[:filled] = self._rest[:filled]
            self._rest = self._rest[filled:] if filled < len(self._rest) else None
        begun: list[tuple[int, Frame]] = []
        if filled < samples:
            for chunk in self.take(-(-(samples - filled) // FRAME_SAMPLES)):
                n = min(len(chunk), samples - filled)
                pcm[filled : filled + n] = chunk[:n]
                begun.append((filled, chunk))
                if n < len(chunk):
                    self._rest = chunk[n:]
                filled += n
        if self.tuning.playout_spare_ms > 0:
            self._trim_samples(samples)
        return pcm, begun

    def _trim_samples(self, samples: int) -> None:
        """:meth:`_trim` to the sample, after a read: the backlog is the half-played frame and
        the frames waiting; what a whole window never needed goes, but
        :attr:`AudioTuning.playout_spare_ms` (a whole frame once the stream has underrun),
        oldest first (part of a frame, too)."""
        window = self.tuning.trim_window_ms * SAMPLE_RATE // 1000
        if window <= 0:
            return
        with self._lock:
            playing = self._rest  # (under the lock, as reset() writes it)
            rest = len(playing) if playing is not None else 0
            spare = rest + len(self._frames) * FRAME_SAMPLES
            least = spare if self._least_spare is None else min(self._least_spare, spare)
            self._least_spare = least
            self._window_taken += samples
            if self._window_taken < window:
                return
            self._least_spare = None
            self._window_taken = 0
            excess = least - self._spare_ms * SAMPLE_RATE // 1000
            if excess <= 0:
                return
            self.dropped += excess / FRAME_SAMPLES
            if playing is not None:
                cut = min(rest, excess)
                self._rest = playing[cut:] if cut < rest else None
                excess -= cut
            del self._frames[: excess // FRAME_SAMPLES]
            excess %= FRAME_SAMPLES
            if excess:
                self._rest = self._frames.pop(0)[excess:]

    def _trim(self, need: int) -> None:
        """Drop the backlog that a whole window never needed, but the spare (lock held)."""
        window = self.tuning.trim_window_ms // FRAME_MS
        if window <= 0:
            return
        spare = len(self._frames)
        self._least_spare = spare if self._least_spare is None else min(self._least_spare, spare)
        self._window_taken += need
        if self._window_taken < window:
            return
        excess = self._least_spare - self.tuning.playout_spare_frames
        if excess > 0:
            del self._frames[:excess]
            self.dropped += excess
        self._least_spare = None
        self._window_taken = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def mean_backlog_frames(self) -> float:
        """The mean backlog each take found (what a frame waited, in frames)."""
        return self.backlog_sum / self.takes if self.takes else 0.0
