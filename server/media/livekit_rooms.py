"""The real :class:`~server.media.base.MediaRooms` adapter (:class:`LiveKitRooms`) over
``livekit-api``: Twirp RoomService and Egress, ``AccessToken``, ``WebhookReceiver``. Any failure
to reach LiveKit becomes :class:`~server.media.base.MediaUnavailable`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import aiohttp
from livekit import api
from livekit.api.twirp_client import TwirpError
from livekit.protocol import egress as egress_pb

from server.config import Settings
from server.media.base import (
    EgressResult,
    MediaUnavailable,
    ParticipantInfo,
    RoomInfo,
    WebhookNotice,
    WebhookRejected,
)


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
        """LiveKit's URL, API key and secret are all set."""
        return bool(self._settings.livekit_url and self._key and self._secret)

    @property
    def client_url(self) -> str:
        """Where the apps reach LiveKit (``VOIP_LIVEKIT_URL``)."""
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
