"""Media: one small interface (:class:`MediaSession`) with two implementations.

- desktop and every test: the ``livekit`` Python SDK;
- Android: a Flet extension around LiveKit's Flutter SDK (``android/``).
"""

from __future__ import annotations

from voip_app.media.base import (
    AudioDevicesChanged,
    AudioOutput,
    AudioOutputChanged,
    Connected,
    ConnectionQuality,
    ConnectionQualityChanged,
    Disconnected,
    MediaError,
    MediaEvent,
    MediaListener,
    MediaSession,
    ParticipantConnected,
    ParticipantDisconnected,
    Reconnected,
    Reconnecting,
    TrackMuted,
)

__all__ = [
    "AudioDevicesChanged",
    "AudioOutput",
    "AudioOutputChanged",
    "Connected",
    "ConnectionQuality",
    "ConnectionQualityChanged",
    "Disconnected",
    "MediaError",
    "MediaEvent",
    "MediaListener",
    "MediaSession",
    "ParticipantConnected",
    "ParticipantDisconnected",
    "Reconnected",
    "Reconnecting",
    "TrackMuted",
]
