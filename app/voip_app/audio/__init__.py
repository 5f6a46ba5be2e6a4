"""Audio I/O behind one small interface (:mod:`voip_app.audio.base`).

- :mod:`voip_app.audio.sources`: a tone, a WAV file, an echo loop, silence, a WAV sink
  (bots, tests);
- :mod:`voip_app.audio.devices`: the desktop's microphone and speaker through sounddevice
  (:mod:`voip_app.audio.portaudio`), with the livekit SDK's audio processing
  (:mod:`voip_app.audio.echo`) in between and their buffering set by
  :mod:`voip_app.audio.tuning`.

Android fills the same slot from its Flet extension.
"""

from __future__ import annotations

from voip_app.audio.base import FRAME_SAMPLES, SAMPLE_RATE, AudioInput, AudioOutput

__all__ = ["FRAME_SAMPLES", "SAMPLE_RATE", "AudioInput", "AudioOutput"]
