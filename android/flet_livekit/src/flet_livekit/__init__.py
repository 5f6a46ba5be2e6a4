"""Calls on Android for Flet apps: :class:`LiveKitRoom` drives LiveKit's Flutter SDK, and
:class:`CallPush` is the push half (FCM token, incoming-call notification).

LiveKit's Python SDK has no Android build, so on Android the call's media runs in the Flutter
client (``livekit_client`` 2.x, inside ``flutter/flet_livekit``) and Python drives it through
this Flet service.
"""

from flet_livekit.push import CallPush
from flet_livekit.room import LiveKitRoom, parse_audio_output
from flet_livekit.types import (
    AcceptedCallEvent,
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
    PushTokenEvent,
    RoomEvent,
    TrackMutedEvent,
)

__all__ = [
    "AcceptedCallEvent",
    "AudioOutputChangedEvent",
    "AudioOutputInfo",
    "AudioOutputKind",
    "CallPush",
    "ConnectionQuality",
    "ConnectionQualityEvent",
    "DisconnectedEvent",
    "LiveKitError",
    "LiveKitProtocolError",
    "LiveKitRoom",
    "LiveKitTimeoutError",
    "ParticipantEvent",
    "PushTokenEvent",
    "RoomEvent",
    "TrackMutedEvent",
    "parse_audio_output",
]
