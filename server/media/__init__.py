"""LiveKit behind one small interface: rooms, tokens, recordings and webhooks.

:class:`MediaRooms` (:mod:`server.media.base`) is what the call operations (:mod:`server.calls`)
need; :class:`LiveKitRooms` (:mod:`server.media.livekit_rooms`) is the real adapter. Any failure
to reach LiveKit becomes :class:`MediaUnavailable`, which the call operations turn into a FAILED
call.
"""

from __future__ import annotations

from server.media.base import (
    EgressResult,
    MediaRooms,
    MediaUnavailable,
    ParticipantInfo,
    RoomInfo,
    WebhookNotice,
    WebhookRejected,
    participant_identity,
    user_of_identity,
)
from server.media.livekit_rooms import LiveKitRooms, egress_result

__all__ = [
    "EgressResult",
    "LiveKitRooms",
    "MediaRooms",
    "MediaUnavailable",
    "ParticipantInfo",
    "RoomInfo",
    "WebhookNotice",
    "WebhookRejected",
    "egress_result",
    "participant_identity",
    "user_of_identity",
]
