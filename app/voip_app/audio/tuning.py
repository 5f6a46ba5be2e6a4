"""The buffering of the desktop's device path (:class:`AudioTuning`), ``VOIP_AUDIO_TUNING``."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class AudioTuning:
    """The buffering of the device path, each part of the mouth-to-ear delay (``bench.client``,
    docs/benchmarks.md *Client*: the parts and the A/B runs behind these defaults).
    ``VOIP_AUDIO_TUNING`` overrides any of them, e.g. ``block_frames=2,latency=high``.
    """

    block_frames: int = 1
    """10 ms frames per PortAudio callback; capture waits for a whole block (2: 10 ms more on
    each side, no fewer losses measured)."""
    speaker_block_ms: int = 5
    """The speaker's PortAudio callback, ms (0: :attr:`block_frames`' 10 ms frames). Through
    ALSA's PulseAudio plugin the stream's buffer follows its period: 5 ms periods keep 15 ms in
    PulseAudio's playback buffer and report 10 ms, 10 ms periods 30 and 20 ms, with no
    underruns either way (``bench.speaker_rate``). ``PULSE_LATENCY_MSEC`` reaches the same
    15 ms behind the plugin's back, and then the plugin's ring and PulseAudio's disagree: it
    underran and dropped samples where this did not (docs/benchmarks.md, *Client*)."""
    mic_block_ms: int = 5
    """The microphone's PortAudio callback, ms (0: :attr:`block_frames`' 10 ms frames; frames
    are cut whole from the blocks). Smaller periods make PulseAudio's record stream, and the
    source it reads, deliver in smaller pieces: the microphone's parts 14-20 -> 10-15 ms, the
    whole path's 129 -> 108-128 ms (medians, docs/benchmarks.md, *Client*)."""
    latency: str | float = "low"
    """PortAudio's suggested latency (``"low"``, ``"high"`` or seconds): the ALSA buffer, and
    through it PulseAudio's (``"high"``: about 20 ms more on each side)."""
    pulse_latency_ms: int = 0
    """PulseAudio's buffer for this process's streams (``PULSE_LATENCY_MSEC``; 0: its own
    choice: the ALSA plugin's buffer, 15 ms with 5 ms callbacks). Off by default: set, it
    overrides the plugin's buffer behind its back, and the stream underran (ALSA reported it,
    PulseAudio played silence, samples were lost), so the app dropped 1.5-2 times as many
    frames (gaps); :attr:`speaker_block_ms` gets the 15 ms without that."""
    start_frames: int = 2
    """Playout backlog gathered before the speaker starts."""
    max_playout_frames: int = 8
    """Past this backlog the speaker drops to half of it at once (a long stall's arrivals)."""
    trim_window_ms: int = 500
    """Every this long the speaker drops the backlog it never needed in that time, but
    :attr:`playout_spare_frames` (0: never; :mod:`voip_app.audio.playout`); without it the
    backlog a burst of arrivals built stayed all call (20-40 ms)."""
    playout_spare_frames: int = 1
    """The margin the whole-frame trim leaves (:attr:`playout_spare_ms` 0). A trade-off: 0 saves
    10 ms and underruns more often."""
    playout_spare_ms: int = 5
    """The margin in ms instead, kept to the sample after every callback (0:
    :attr:`playout_spare_frames`): half a frame against the arrivals' jitter, 7-8 ms less
    backlog than one frame (``B5th``, docs/benchmarks.md); a stream that underruns keeps a
    whole frame from then on (:class:`~voip_app.audio.playout.PlayoutBuffer`)."""
    max_capture_frames: int = 4
    """The capture queue's cap (oldest dropped): a burst of callbacks on a loaded machine must
    not delay the rest of the call."""
    source_queue_ms: int = 10
    """The SDK source's queue behind the microphone. It holds up to twice this (the SDK waits
    only past it), and what a burst of frames puts there stays: 60 ms held 26-33 ms. 0 sends
    each frame to the encoder as it comes, and the far side's jitter buffer then grew to
    400 ms and more: the queue is what paces the packets."""
    source_trim_window_ms: int = 500
    """Behind the microphone: when no ``capture_frame`` in this long returned at once, the SDK
    source's queue holds a standing frame (10 ms more for every frame, all call) and one
    microphone frame is left out (0: never; :mod:`voip_app.audio.source_trim`)."""

    @classmethod
    def from_env(cls, value: str | None = None) -> AudioTuning:
        """The defaults with ``value``'s settings (default: ``VOIP_AUDIO_TUNING``) over them;
        ``ValueError`` for a setting it does not know."""
        text = value if value is not None else os.environ.get("VOIP_AUDIO_TUNING", "")
        tuning = cls()
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, _, raw = item.partition("=")
            if key == "latency":
                tuning = replace(tuning, latency=raw if raw in ("low", "high") else float(raw))
            elif key in (
                "block_frames",
                "start_frames",
                "max_playout_frames",
                "max_capture_frames",
            ):
                tuning = replace(tuning, **{key: max(1, int(raw))})
            elif key in (
                "trim_window_ms",
                "playout_spare_frames",
                "playout_spare_ms",
                "speaker_block_ms",
                "mic_block_ms",
                "source_queue_ms",
                "pulse_latency_ms",
                "source_trim_window_ms",
            ):
                number = max(0, int(raw))
                if key == "source_queue_ms":
                    number -= number % 10  # the SDK takes whole 10 ms frames
                tuning = replace(tuning, **{key: number})
            else:
                raise ValueError(f"VOIP_AUDIO_TUNING: unknown setting {key!r}")
        return tuning

    def speaker_block_samples(self, frame_samples: int) -> int:
        """Samples per speaker callback (``frame_samples``: one 10 ms frame's)."""
        return self._block(self.speaker_block_ms, frame_samples)

    def mic_block_samples(self, frame_samples: int) -> int:
        """Samples per microphone callback (``frame_samples``: one 10 ms frame's)."""
        return self._block(self.mic_block_ms, frame_samples)

    def _block(self, ms: int, frame_samples: int) -> int:
        return frame_samples * ms // 10 if ms > 0 else frame_samples * self.block_frames
