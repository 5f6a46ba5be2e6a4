"""The livekit SDK's own platform audio (WebRTC's audio device module) as a media session.

:class:`PlatformAudioMediaSession` publishes the microphone through ``rtc.PlatformAudio``: the
SDK captures and plays in its native threads, with WebRTC's echo canceller, noise suppression
and gain control, and plays every remote track itself. It is the alternative that
``bench.client`` measures against the sounddevice path (``voip-softphone --platform-audio``);
the app keeps the sounddevice path by default: on PulseAudio the device module stops playing for
good when its only speaker is unplugged (a new ``PlatformAudio`` brings it back but stops the
published microphone), and asking it for its devices after that hangs and then crashes the
process (``python -m bench.platform_hotplug``; ``docs/benchmarks.md``, *Client*).
A platform audio that cannot start leaves the call on a silent source: a device never fails
the call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from livekit import rtc

from voip_app.audio.sources import NullSink, SilenceSource
from voip_app.media.livekit_session import LiveKitMediaSession

log = logging.getLogger(__name__)


class PlatformAudioMediaSession(LiveKitMediaSession):
    """A :class:`LiveKitMediaSession` whose devices are the SDK's (``rtc.PlatformAudio``)."""

    def __init__(self, *, input_device: str | None = None, output_device: str | None = None):
        # Remote audio also reaches the null sink, which keeps the level meter working.
        super().__init__(audio_input=SilenceSource(), audio_output=NullSink())
        self._input_device, self._output_device = input_device, output_device
        self._platform: Any = None
        self.platform_ok = False

    def _new_source(self, loop: asyncio.AbstractEventLoop) -> Any:
        try:
            platform = rtc.PlatformAudio()
            if self._input_device:
                platform.set_recording_device(self._input_device)
            if self._output_device:
                platform.set_playout_device(self._output_device)
            source = platform.create_audio_source(rtc.PlatformAudioOptions())
        except Exception as exc:  # PlatformAudioError, or no such device: keep the call
            log.warning("audio device: platform audio unavailable (%s)", exc)
            return super()._new_source(loop)
        self._platform, self.platform_ok = platform, True
        return source

    async def _close_source(self, source: Any) -> None:
        if isinstance(source, rtc.AudioSource):
            await source.aclose()
        else:
            source.close()
        platform, self._platform = self._platform, None
        if platform is not None:
            platform.close()
