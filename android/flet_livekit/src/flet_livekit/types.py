# No `from __future__ import annotations` in this package: Flet resolves an event handler's
# payload type from the *evaluated* annotation of its `on_*` field, and string annotations make
# that lookup fail when the event arrives.
"""Typed events of :class:`flet_livekit.LiveKitRoom` and the values they carry.

Each event arrives from the Dart side (``control.triggerEvent(name, data)``) as a dict that Flet
turns into one of these dataclasses. The payload keys never use ``name`` or ``data``: those are
fields of :class:`flet.Event` itself.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import flet as ft

if TYPE_CHECKING:
    from flet_livekit.push import CallPush  # noqa: F401
    from flet_livekit.room import LiveKitRoom  # noqa: F401

AudioOutputKind = Literal["speaker", "earpiece", "wired", "bluetooth"]
"""What the Dart side reports for an output; anything else is a protocol error."""

ConnectionQuality = Literal["excellent", "good", "poor", "lost", "unknown"]
"""``livekit_client``'s ``ConnectionQuality`` names."""

AUDIO_OUTPUT_KINDS: frozenset[str] = frozenset(get_args(AudioOutputKind))
CONNECTION_QUALITIES: frozenset[str] = frozenset(get_args(ConnectionQuality))


class LiveKitError(Exception):
    """The Dart side refused or failed a call (join, mute, route); ``str()`` says why."""


class LiveKitProtocolError(LiveKitError):
    """The Dart side answered with something this Python side does not understand."""


class LiveKitTimeoutError(LiveKitError):
    """The Dart side did not answer in time (a hung plugin, or a join that takes too long)."""


@dataclass(frozen=True, slots=True)
class AudioOutputInfo:
    """One place the call's audio can go, as the Dart side lists it."""

    id: str
    name: str
    kind: AudioOutputKind


@dataclass
class RoomEvent(ft.Event["LiveKitRoom"]):
    """``connected``, ``reconnecting``, ``reconnected``: no payload."""


@dataclass
class DisconnectedEvent(ft.Event["LiveKitRoom"]):
    reason: str
    """LiveKit's ``DisconnectReason`` in snake case, e.g. ``client_initiated``."""


@dataclass
class ParticipantEvent(ft.Event["LiveKitRoom"]):
    """``participant_connected`` / ``participant_disconnected`` of a remote participant."""

    identity: str


@dataclass
class TrackMutedEvent(ft.Event["LiveKitRoom"]):
    """A participant's microphone track was muted (``muted``) or unmuted."""

    identity: str
    muted: bool


@dataclass
class ConnectionQualityEvent(ft.Event["LiveKitRoom"]):
    identity: str
    quality: str
    """One of :data:`ConnectionQuality`; kept a ``str`` so an unknown value reaches the handler."""


@dataclass
class AudioOutputChangedEvent(ft.Event["LiveKitRoom"]):
    """The call's audio now goes to this output (chosen by the app, or a headset came or went)."""

    output_id: str
    output_name: str
    kind: str


@dataclass
class PushTokenEvent(ft.Event["CallPush"]):
    """FCM gave this device a new token."""

    token: str


@dataclass
class AcceptedCallEvent(ft.Event["CallPush"]):
    """The person accepted ``call_id`` on its incoming-call notification."""

    call_id: str
