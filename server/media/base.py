"""What the call server asks of the media server (:class:`MediaRooms`), the values it gets back,
its two errors, and the LiveKit identity of a user's device in a call room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class MediaUnavailable(Exception):
    """LiveKit could not be reached or refused the request."""


class WebhookRejected(Exception):
    """A webhook whose signature, body hash or format is wrong."""


@dataclass(frozen=True, slots=True)
class EgressResult:
    """An egress as LiveKit reports it (``EgressInfo``): its state and, once complete, its file."""

    egress_id: str
    room_name: str
    status: str
    """``active`` (starting, active or ending), ``complete`` or ``failed`` (failed, aborted,
    limit reached)."""
    filepath: str | None = None
    """The file it was asked to write (the request's ``filepath``)."""
    location: str | None = None
    duration_s: float | None = None
    size_bytes: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookNotice:
    """The part of a LiveKit webhook the call operations act on."""

    event: str
    room_name: str
    identity: str | None
    egress: EgressResult | None = None


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room LiveKit has open."""

    name: str
    sid: str
    num_participants: int


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    """Someone in a room."""

    identity: str
    name: str


class MediaRooms(Protocol):
    """What the call server asks of the media server."""

    @property
    def client_url(self) -> str: ...

    async def create_room(self, name: str) -> str:
        """Create the room (at most two participants); return its sid."""
        ...

    async def delete_room(self, name: str) -> None: ...

    async def list_rooms(self, prefix: str) -> list[RoomInfo]: ...

    async def list_participants(self, name: str) -> list[ParticipantInfo]: ...

    async def existing_rooms(self, names: Sequence[str]) -> set[str]:
        """Which of these rooms LiveKit has open now."""
        ...

    def mint_token(self, *, room: str, identity: str, name: str) -> str: ...

    async def start_recording(self, room: str, filepath: str) -> str:
        """Start an audio-only room composite egress to ``filepath`` (Ogg/Opus); its id."""
        ...

    async def stop_recording(self, egress_id: str) -> None:
        """Stop it (an egress that already ended is not an error)."""
        ...

    async def list_recordings(self, room: str) -> list[EgressResult]:
        """Every egress LiveKit knows of the room (``ListEgress``)."""
        ...

    def verify_webhook(self, body: str, auth_header: str | None) -> WebhookNotice: ...

    async def aclose(self) -> None: ...


def participant_identity(user_id: str, device_id: str) -> str:
    """The LiveKit identity of one user's device in a call room."""
    return f"{user_id}:{device_id}"


def user_of_identity(identity: str) -> str:
    """The user id in a :func:`participant_identity`."""
    return identity.split(":", 1)[0]
