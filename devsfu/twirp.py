"""LiveKit's RoomService over Twirp: ``POST /twirp/livekit.RoomService/<Method>``.

Bodies are protobuf (``application/protobuf``) or JSON (``application/json``); the answer uses
the request's encoding. Errors are Twirp error bodies (``{"code", "msg"}``) with Twirp's HTTP
statuses. Grants are those LiveKit requires: ``roomCreate`` for CreateRoom and DeleteRoom,
``roomList`` for ListRooms, ``roomAdmin`` for the room named in the request for
ListParticipants and RemoveParticipant; a missing grant is Twirp ``unauthenticated`` (401), as
in LiveKit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf.json_format import MessageToJson, Parse, ParseError
from google.protobuf.message import DecodeError, Message
from livekit.protocol import room as room_pb

from devsfu.auth import Claims, TokenAuthority, TokenError
from devsfu.model import RoomError
from devsfu.rooms import RoomRegistry

log = logging.getLogger(__name__)

PREFIX = "/twirp/livekit.RoomService/"
_PROTOBUF = "application/protobuf"
_JSON = "application/json"


class TwirpError(Exception):
    def __init__(self, code: str, msg: str, status: int) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


def twirp_error_response(code: str, msg: str, status: int) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"code": code, "msg": msg}).encode(),
        content_type=_JSON,
    )


def unauthenticated(msg: str) -> TwirpError:
    return TwirpError("unauthenticated", msg, 401)


Handler = Callable[[Any, Claims], Awaitable[Message]]


@dataclass(frozen=True)
class Method:
    request: type[Message]
    handler: Handler


class TwirpService:
    """One Twirp service: ``POST <prefix><Method>``, dispatched to the handlers in ``_methods``."""

    prefix = PREFIX

    def __init__(self, authority: TokenAuthority) -> None:
        self._authority = authority
        self._methods: dict[str, Method] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", self.prefix + "{method}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(request)
        except TwirpError as exc:
            return twirp_error_response(exc.code, exc.msg, exc.status)
        except RoomError as exc:
            return twirp_error_response(exc.code, exc.message, exc.status)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            raise TwirpError("bad_route", f"unsupported method {request.method} (only POST)", 404)
        method = self._methods.get(request.match_info["method"])
        if method is None:
            raise TwirpError("bad_route", f"no handler for path {request.path}", 404)
        content_type = request.content_type
        if content_type not in (_PROTOBUF, _JSON):
            raise TwirpError("bad_route", f"unexpected Content-Type: {content_type!r}", 404)
        try:
            claims = self._authority.verify_bearer(request.headers.get("Authorization"))
        except TokenError as exc:
            raise unauthenticated(exc.message) from exc
        body = await request.read()
        message = method.request()
        try:
            if content_type == _PROTOBUF:
                message.ParseFromString(body)
            else:
                Parse(body.decode() or "{}", message, ignore_unknown_fields=True)
        except (DecodeError, ParseError, UnicodeDecodeError) as exc:
            raise TwirpError(
                "malformed", f"the request body could not be decoded: {exc}", 400
            ) from exc
        result = await method.handler(message, claims)
        if content_type == _PROTOBUF:
            return web.Response(body=result.SerializeToString(), content_type=_PROTOBUF)
        return web.Response(
            body=MessageToJson(result, preserving_proto_field_name=True, indent=None).encode(),
            content_type=_JSON,
        )


class RoomService(TwirpService):
    """The five RoomService methods devsfu implements, bound to one registry."""

    def __init__(self, registry: RoomRegistry, authority: TokenAuthority) -> None:
        super().__init__(authority)
        self._rooms = registry
        self._methods = {
            "CreateRoom": Method(room_pb.CreateRoomRequest, self._create_room),
            "ListRooms": Method(room_pb.ListRoomsRequest, self._list_rooms),
            "DeleteRoom": Method(room_pb.DeleteRoomRequest, self._delete_room),
            "ListParticipants": Method(room_pb.ListParticipantsRequest, self._list_participants),
            "RemoveParticipant": Method(room_pb.RoomParticipantIdentity, self._remove_participant),
        }

    # -- methods ---------------------------------------------------------------------------

    async def _create_room(self, req: room_pb.CreateRoomRequest, claims: Claims) -> Message:
        if not claims.video.room_create:
            raise unauthenticated("permissions denied")
        return self._rooms.create(req).info()

    async def _list_rooms(self, req: room_pb.ListRoomsRequest, claims: Claims) -> Message:
        if not claims.video.room_list:
            raise unauthenticated("permissions denied")
        return room_pb.ListRoomsResponse(rooms=[r.info() for r in self._rooms.find(req.names)])

    async def _delete_room(self, req: room_pb.DeleteRoomRequest, claims: Claims) -> Message:
        if not claims.video.room_create:
            raise unauthenticated("permissions denied")
        await self._rooms.delete(req.room)
        return room_pb.DeleteRoomResponse()

    def _require_admin(self, claims: Claims, room: str) -> None:
        if not claims.video.room_admin or claims.video.room != room:
            raise unauthenticated("permissions denied")

    async def _list_participants(
        self, req: room_pb.ListParticipantsRequest, claims: Claims
    ) -> Message:
        self._require_admin(claims, req.room)
        room = self._rooms.get(req.room)
        return room_pb.ListParticipantsResponse(
            participants=[p.info() for p in room.participants.values()]
        )

    async def _remove_participant(
        self, req: room_pb.RoomParticipantIdentity, claims: Claims
    ) -> Message:
        self._require_admin(claims, req.room)
        await self._rooms.remove(req.room, req.identity)
        return room_pb.RemoveParticipantResponse()
