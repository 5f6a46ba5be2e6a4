"""What devsfu knows about rooms, participants and tracks, as LiveKit describes them.

Plain data with its protobuf views (``info()``), the refusals a room operation can meet
(:class:`RoomError`), and the two interfaces the registry talks through: :class:`ParticipantLink`
(one connected client, implemented by :mod:`devsfu.session`) and :class:`EventSink` (webhooks).
The rules that change this state live in :mod:`devsfu.rooms`.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Protocol

from livekit.protocol import models, rtc, webhook

_SID_ALPHABET = string.ascii_letters + string.digits


def new_sid(prefix: str) -> str:
    """A LiveKit-shaped id: ``RM_``, ``PA_``, ``TR_`` or ``EV_`` and 12 random characters."""
    return prefix + "".join(secrets.choice(_SID_ALPHABET) for _ in range(12))


class RoomError(Exception):
    """A room operation was refused; ``code`` is a Twirp error code, ``status`` its HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def room_not_found() -> RoomError:
    return RoomError("not_found", "requested room does not exist", 404)


def participant_not_found() -> RoomError:
    return RoomError("not_found", "participant not found", 404)


def room_full() -> RoomError:
    # LiveKit answers a join into a full room with 500 and this message.
    return RoomError("resource_exhausted", "room has exceeded its max participants", 500)


class ParticipantLink(Protocol):
    """How the room talks to one connected client (implemented by :mod:`devsfu.session`)."""

    async def send_participant_updates(self, infos: list[models.ParticipantInfo]) -> None: ...

    async def track_available(self, publisher: Participant, track: PublishedTrack) -> None: ...

    async def send_connection_quality(self, infos: list[rtc.ConnectionQualityInfo]) -> None: ...

    async def disconnect(self, reason: models.DisconnectReason) -> None: ...


class EventSink(Protocol):
    """Where webhook events go (the webhook notifier, or a list in unit tests)."""

    def emit(self, event: webhook.WebhookEvent) -> None: ...


@dataclass
class PublishedTrack:
    """A track a participant announced with ``AddTrackRequest``."""

    sid: str
    cid: str
    name: str
    type: models.TrackType
    source: models.TrackSource
    muted: bool = False
    mid: str = ""
    mime_type: str = ""
    media: object | None = None  # what forwards it (devsfu.forward.OpusFanout), from its announce
    receiving: bool = False  # the publisher's media for it has arrived

    def info(self) -> models.TrackInfo:
        return models.TrackInfo(
            sid=self.sid,
            type=self.type,
            name=self.name,
            muted=self.muted,
            source=self.source,
            mid=self.mid,
            mime_type=self.mime_type,
            stream="camera" if self.source != models.TrackSource.SCREEN_SHARE_AUDIO else "screen",
        )


@dataclass
class Participant:
    sid: str
    identity: str
    name: str
    metadata: str
    joined_at_ms: int
    link: ParticipantLink
    can_publish: bool = True
    can_subscribe: bool = True
    hidden: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    state: models.ParticipantInfo.State = models.ParticipantInfo.JOINED
    tracks: dict[str, PublishedTrack] = field(default_factory=dict)
    version: int = 0
    disconnect_reason: models.DisconnectReason = models.UNKNOWN_REASON

    def info(self) -> models.ParticipantInfo:
        return models.ParticipantInfo(
            sid=self.sid,
            identity=self.identity,
            name=self.name,
            metadata=self.metadata,
            state=self.state,
            tracks=[t.info() for t in self.tracks.values()],
            joined_at=self.joined_at_ms // 1000,
            joined_at_ms=self.joined_at_ms,
            version=self.version,
            is_publisher=bool(self.tracks),
            permission=models.ParticipantPermission(
                can_publish=self.can_publish,
                can_subscribe=self.can_subscribe,
                can_publish_data=True,
                hidden=self.hidden,
            ),
            attributes=self.attributes,
            disconnect_reason=self.disconnect_reason,
        )

    def bump(self) -> None:
        self.version += 1

    def awaiting_media(self) -> bool:
        """An announced track's media has not arrived: the client is about to offer it."""
        return any(t.media is not None and not t.receiving for t in self.tracks.values())


@dataclass
class Room:
    sid: str
    name: str
    empty_timeout: int
    departure_timeout: int
    max_participants: int
    metadata: str
    creation_time_ms: int
    participants: dict[str, Participant] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None

    def info(self) -> models.Room:
        return models.Room(
            sid=self.sid,
            name=self.name,
            empty_timeout=self.empty_timeout,
            departure_timeout=self.departure_timeout,
            max_participants=self.max_participants,
            creation_time=self.creation_time_ms // 1000,
            creation_time_ms=self.creation_time_ms,
            metadata=self.metadata,
            num_participants=len(self.participants),
            num_publishers=sum(1 for p in self.participants.values() if p.tracks),
            enabled_codecs=[models.Codec(mime="audio/opus")],
        )

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def now_ms() -> int:
    """Wall-clock milliseconds, as LiveKit stamps ``joined_at_ms`` and ``creation_time_ms``."""
    return int(time.time() * 1000)


def webhook_event(
    event: str,
    room: Room,
    participant: Participant | None = None,
    track: PublishedTrack | None = None,
) -> webhook.WebhookEvent:
    """The ``WebhookEvent`` LiveKit posts for ``event`` (``room_started``, ``track_published``…)."""
    msg = webhook.WebhookEvent(
        event=event, room=room.info(), id=new_sid("EV_"), created_at=int(time.time())
    )
    if participant is not None:
        msg.participant.CopyFrom(participant.info())
    if track is not None:
        msg.track.CopyFrom(track.info())
    return msg
