"""Calls on Android for Flet apps: :class:`LiveKitRoom` drives LiveKit's Flutter SDK.

LiveKit's Python SDK has no Android build, so on Android the call's media runs in the Flutter
client (``livekit_client`` 2.x, inside ``flutter/flet_livekit``) and Python drives it through
this Flet service.
"""

from flet_livekit.room import LiveKitRoom, parse_audio_output
from flet_livekit.types import (
    AudioOutputChangedEvent,
    AudioOutputInfo,
    AudioOutputKind,
    ConnectionQuality,
    ConnectionQualityEvent,
    DisconnectedEvent,
    LiveKitError,
    LiveKitProtocolError,
    LiveKitTimeoutError,
    ParticipantEvent,
    RoomEvent,
    TrackMutedEvent,
)

__all__ = [
    "AudioOutputChangedEvent",
    "AudioOutputInfo",
    "AudioOutputKind",
    "ConnectionQuality",
    "ConnectionQualityEvent",
    "DisconnectedEvent",
    "LiveKitError",
    "LiveKitProtocolError",
    "LiveKitRoom",
    "LiveKitTimeoutError",
    "ParticipantEvent",
    "RoomEvent",
    "TrackMutedEvent",
    "parse_audio_output",
]
