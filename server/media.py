"""LiveKit behind one small interface: rooms, tokens and webhooks.

:class:`MediaRooms` is what the call operations (:mod:`server.calls`) need; :class:`LiveKitRooms`
is the real adapter (``livekit-api``: Twirp RoomService, ``AccessToken``, ``WebhookReceiver``).
Any failure to reach LiveKit becomes :class:`MediaUnavailable`, which the call operations turn
into a FAILED call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import aiohttp
from livekit import api
from livekit.api.twirp_client import TwirpError
from livekit.protocol import egress as egress_pb

from server.config import Settings

log = logging.getLogger(__name__)


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
    name: str
    sid: str
    num_participants: int


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
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
    return identity.split(":", 1)[0]


class LiveKitRooms:
    """The real adapter over ``livekit.api.LiveKitAPI``; opened lazily, closed by :meth:`aclose`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._api: api.LiveKitAPI | None = None
        key = settings.livekit_api_key or ""
        secret = (
            settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else ""
        )
        self._key = key
        self._secret = secret
        self._receiver = api.WebhookReceiver(api.TokenVerifier(key or "-", secret or "-"))

    @property
    def configured(self) -> bool:
        return bool(self._settings.livekit_url and self._key and self._secret)

    @property
    def client_url(self) -> str:
        return self._settings.livekit_url or ""

    def _client(self) -> api.LiveKitAPI:
        if not self.configured:
            raise MediaUnavailable(
                "LiveKit is not configured (VOIP_LIVEKIT_URL, _API_KEY, _SECRET)"
            )
        if self._api is None:
            url = self._settings.livekit_api_url or self.client_url
            timeout = aiohttp.ClientTimeout(total=self._settings.livekit_timeout_s)
            self._api = api.LiveKitAPI(
                url, self._key, self._secret, timeout=timeout, failover=False
            )
        return self._api

    async def create_room(self, name: str) -> str:
        request = api.CreateRoomRequest(
            name=name,
            max_participants=2,
            empty_timeout=self._settings.livekit_empty_timeout_s,
            departure_timeout=self._settings.livekit_empty_timeout_s,
        )
        try:
            room = await self._client().room.create_room(request)
        except MediaUnavailable:
            raise
        except Exception as exc:  # aiohttp, Twirp, timeouts: all mean "no media for this call"
            raise MediaUnavailable(f"create_room failed: {exc!r}") from exc
        return str(room.sid)

    async def delete_room(self, name: str) -> None:
        try:
            await self._client().room.delete_room(api.DeleteRoomRequest(room=name))
        except MediaUnavailable:
            raise
        except TwirpError as exc:
            if exc.code == "not_found":  # already closed (empty timeout): nothing to do
                return
            raise MediaUnavailable(f"delete_room failed: {exc!r}") from exc
        except Exception as exc:
            raise MediaUnavailable(f"delete_room failed: {exc!r}") from exc

    async def list_rooms(self, prefix: str) -> list[RoomInfo]:
        try:
            response = await self._client().room.list_rooms(api.ListRoomsRequest())
        except MediaUnavailable:
            raise
        except Exception as exc:
            raise MediaUnavailable(f"list_rooms failed: {exc!r}") from exc
        return [
            RoomInfo(r.name, r.sid, r.num_participants)
            for r in response.rooms
            if r.name.startswith(prefix)
        ]

    async def existing_rooms(self, names: Sequence[str]) -> set[str]:
        if not names:
            return set()
        try:
            response = await self._client().room.list_rooms(api.ListRoomsRequest(names=names))
        except MediaUnavailable:
            raise
        except Exception as exc:
            raise MediaUnavailable(f"list_rooms failed: {exc!r}") from exc
        return {r.name for r in response.rooms} & set(names)

    async def list_participants(self, name: str) -> list[ParticipantInfo]:
        try:
            response = await self._client().room.list_participants(
                api.ListParticipantsRequest(room=name)
            )
        except MediaUnavailable:
            raise
        except Exception as exc:
            raise MediaUnavailable(f"list_participants failed: {exc!r}") from exc
        return [ParticipantInfo(p.identity, p.name) for p in response.participants]

    def mint_token(self, *, room: str, identity: str, name: str) -> str:
        if not self.configured:
            raise MediaUnavailable("LiveKit is not configured")
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=True,
            can_subscribe=True,
            # a voice call: the microphone, nothing else (no camera, screen, data channel)
            can_publish_data=False,
            can_publish_sources=["microphone"],
        )
        return (
            api.AccessToken(self._key, self._secret)
            .with_identity(identity)
            .with_name(name)
            .with_grants(grants)
            .with_ttl(timedelta(seconds=self._settings.livekit_token_ttl_s))
            .to_jwt()
        )

    def verify_webhook(self, body: str, auth_header: str | None) -> WebhookNotice:
        if not self.configured or not auth_header:
            raise WebhookRejected("missing Authorization")
        token = auth_header.removeprefix("Bearer ").strip()
        try:
            event = self._receiver.receive(body, token)
        except Exception as exc:  # signature, hash or parse: all the same to the sender
            raise WebhookRejected(str(exc) or type(exc).__name__) from exc
        identity = event.participant.identity if event.HasField("participant") else None
        if event.HasField("egress_info"):
            egress = egress_result(event.egress_info)
            return WebhookNotice(event.event, egress.room_name, identity or None, egress)
        return WebhookNotice(event.event, event.room.name, identity or None)

    async def start_recording(self, room: str, filepath: str) -> str:
        request = api.RoomCompositeEgressRequest(
            room_name=room,
            audio_only=True,
            file_outputs=[
                api.EncodedFileOutput(file_type=api.EncodedFileType.OGG, filepath=filepath)
            ],
        )
        try:
            info = await self._client().egress.start_room_composite_egress(request)
        except MediaUnavailable:
            raise
        except Exception as exc:
            raise MediaUnavailable(f"start egress failed: {exc!r}") from exc
        return str(info.egress_id)

    async def stop_recording(self, egress_id: str) -> None:
        try:
            await self._client().egress.stop_egress(api.StopEgressRequest(egress_id=egress_id))
        except MediaUnavailable:
            raise
        except TwirpError as exc:
            if exc.code in ("not_found", "failed_precondition"):  # gone or already ended
                return
            raise MediaUnavailable(f"stop egress failed: {exc!r}") from exc
        except Exception as exc:
            raise MediaUnavailable(f"stop egress failed: {exc!r}") from exc

    async def list_recordings(self, room: str) -> list[EgressResult]:
        try:
            found = await self._client().egress.list_egress(api.ListEgressRequest(room_name=room))
        except MediaUnavailable:
            raise
        except Exception as exc:
            raise MediaUnavailable(f"list egress failed: {exc!r}") from exc
        return [egress_result(info) for info in found.items]

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None


_EGRESS_DONE = {
    egress_pb.EGRESS_COMPLETE: "complete",
    egress_pb.EGRESS_FAILED: "failed",
    egress_pb.EGRESS_ABORTED: "failed",
    egress_pb.EGRESS_LIMIT_REACHED: "failed",
}


def egress_result(info: egress_pb.EgressInfo) -> EgressResult:
    """What the server keeps of LiveKit's ``EgressInfo`` (times in nanoseconds, as LiveKit's)."""
    status = _EGRESS_DONE.get(info.status, "active")
    files = list(info.file_results) or ([info.file] if info.HasField("file") else [])
    file = files[0] if files else None
    request = info.room_composite
    outputs = list(request.file_outputs) or ([request.file] if request.HasField("file") else [])
    return EgressResult(
        egress_id=info.egress_id,
        room_name=info.room_name,
        status=status,
        filepath=outputs[0].filepath if outputs else None,
        location=(file.location or file.filename) if file else None,
        duration_s=file.duration / 1e9 if file and file.duration else None,
        size_bytes=int(file.size) if file and file.size else None,
        error=info.error or None,
    )
