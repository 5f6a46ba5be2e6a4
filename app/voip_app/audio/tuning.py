"""The buffering of the desktop's device path (:class:`AudioTuning`), ``VOIP_AUDIO_TUNING``."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class AudioTuning:
    """The buffering of the device path, each part of the mouth-to-ear delay (``bench.client``).

    ``block_frames``: 10 ms frames per PortAudio callback (capture waits for a whole block);
    ``latency``: PortAudio's suggested latency (``"low"``, ``"high"``, or seconds), which sets
    the ALSA/PulseAudio buffer under it; ``start_frames``: playout backlog gathered before the
    speaker starts; ``max_playout_frames``: past this backlog the speaker drops to half of it
    (latency over completeness); ``trim_window_ms``: every this long the speaker drops the
    backlog it never needed in that time but ``playout_spare_frames`` (0: never trimmed;
    :mod:`voip_app.audio.playout`);
    ``max_capture_frames``: the capture queue's cap (oldest dropped); ``source_queue_ms``: the
    SDK source's queue behind the microphone (0: frames go straight to the encoder).
    ``VOIP_AUDIO_TUNING`` overrides, e.g. ``block_frames=1,latency=low`` (benchmarks).
    """

    block_frames: int = 2
    latency: str | float = "high"
    start_frames: int = 2
    max_playout_frames: int = 8
    max_capture_frames: int = 4
    trim_window_ms: int = 0
    playout_spare_frames: int = 1
    source_queue_ms: int = 60

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
            elif key in ("trim_window_ms", "playout_spare_frames", "source_queue_ms"):
                number = max(0, int(raw))
                if key == "source_queue_ms":
                    number -= number % 10  # the SDK takes whole 10 ms frames
                tuning = replace(tuning, **{key: number})
            else:
                raise ValueError(f"VOIP_AUDIO_TUNING: unknown setting {key!r}")
        return tuning
