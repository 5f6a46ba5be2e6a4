"""Who may join, and how: the checks before a signal WebSocket is upgraded, as livekit-server does.

Two join paths, each with a validate twin that answers what the join would (``success``, or the
refusal's status and message as plain text):

- ``/rtc`` (protocol v0, two peer connections): options in the query string
  (``access_token``, ``auto_subscribe``, ``sdk``, ``protocol``…); ``/rtc/validate``.
- ``/rtc/v1`` (one peer connection for both directions): the token in ``access_token`` (or an
  ``Authorization: Bearer`` header) and everything else in ``join_request``, a URL-safe base64
  ``WrappedJoinRequest`` whose ``join_request`` is a ``JoinRequest``, plain or gzip-compressed
  (at most 1 MiB either way, as livekit-server bounds it). The ``JoinRequest`` may carry the
  client's first offer (``publisher_offer``), tracks to announce, and metadata or attributes
  (which need the ``canUpdateOwnMetadata`` grant). ``/rtc/v1/validate`` requires
  ``join_request`` too (400 without it).

An admitted client is first told :func:`join_response` (one for both paths, as livekit-server's).

Refusals, in livekit-server's order: 401 for a bad token (:mod:`devsfu.auth`), 400 for an
undecodable ``join_request``, 401 without the join grant, 404 for a room that does not exist when
rooms are not auto-created, 500 when it is full (:mod:`devsfu.rooms`), 401 for metadata without
the grant. A request that is not a WebSocket upgrade gets 404 on the join paths, before any check.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import zlib
from dataclasses import dataclass

from aiohttp import web
from google.protobuf.message import DecodeError
from livekit.protocol import models, rtc

from devsfu.auth import Claims, TokenAuthority, TokenError, require_join
from devsfu.model import Participant, Room, RoomError
from devsfu.rooms import RoomRegistry

MAX_JOIN_REQUEST_BYTES = 1 << 20  # Go's http.DefaultMaxHeaderBytes, livekit-server's bound
PING_INTERVAL_S = 5
PING_TIMEOUT_S = 15
SERVER_VERSION = "1.9.0"
PROTOCOL_VERSION = 17  # livekit-server's current protocol (the one with /rtc/v1)


class SignalPath(enum.Enum):
    """The two signal protocols: the path the client joined by decides its peer connections."""

    V0 = "/rtc"
    V1 = "/rtc/v1"

    @property
    def single_peer_connection(self) -> bool:
        return self is SignalPath.V1


class JoinRefused(Exception):
    """The join (or validate) request is refused with this HTTP status and plain-text message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> web.HTTPException:
        return _STATUS.get(self.status, web.HTTPInternalServerError)(text=self.message)


_STATUS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    500: web.HTTPInternalServerError,
}


@dataclass(frozen=True)
class Admission:
    """A join request that passed every check: who joins which room, by which path."""

    claims: Claims
    room_name: str
    path: SignalPath
    join_request: rtc.JoinRequest | None = None  # v1 only
    reconnect: bool = False  # the client asks to resume a session


def token_of(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :]
    return request.query.get("access_token", "")


def decode_join_request(value: str) -> rtc.JoinRequest:
    """The ``JoinRequest`` inside a ``join_request`` query value, or :class:`JoinRefused` (400)."""
    try:
        # URL-safe alphabet, padded (both SDKs pad); a missing padding is forgiven, a character
        # outside the alphabet is not (the default decoder would silently drop it).
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise JoinRefused(400, "cannot base64 decode wrapped join request") from exc
    wrapped = rtc.WrappedJoinRequest()
    try:
        wrapped.ParseFromString(raw)
    except DecodeError as exc:
        raise JoinRefused(400, "cannot unmarshal wrapped join request") from exc
    payload = wrapped.join_request
    if wrapped.compression == rtc.WrappedJoinRequest.GZIP:
        payload = _gunzip(payload)
    elif len(payload) > MAX_JOIN_REQUEST_BYTES:
        raise JoinRefused(400, "join request too large")
    request = rtc.JoinRequest()
    try:
        request.ParseFromString(payload)
    except DecodeError as exc:
        raise JoinRefused(400, "cannot unmarshal join request") from exc
    return request


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
    try:
        out = inflater.decompress(data, MAX_JOIN_REQUEST_BYTES + 1)
    except zlib.error as exc:
        raise JoinRefused(400, "cannot read decompressed join request") from exc
    if len(out) > MAX_JOIN_REQUEST_BYTES:
        raise JoinRefused(400, "join request too large")
    return out


class Gate:
    """Admits join and validate requests against one key pair and one room registry."""

    def __init__(self, authority: TokenAuthority, rooms: RoomRegistry) -> None:
        self._authority = authority
        self._rooms = rooms

    def admit(self, request: web.Request, path: SignalPath) -> Admission:
        """Check ``request`` as livekit-server does; raise :class:`JoinRefused` otherwise."""
        try:
            claims = self._authority.verify(token_of(request))
        except TokenError as exc:
            raise JoinRefused(exc.status, exc.message) from exc
        join_request: rtc.JoinRequest | None = None
        if path is SignalPath.V1:
            encoded = request.query.get("join_request", "")
            if not encoded:
                raise JoinRefused(400, "join_request is required")
            join_request = decode_join_request(encoded)
        try:
            room_name = require_join(claims)
        except TokenError as exc:
            raise JoinRefused(exc.status, exc.message) from exc
        try:
            self._rooms.admit(room_name, claims.identity)
        except RoomError as exc:
            raise JoinRefused(exc.status, exc.message) from exc
        if join_request is None:
            reconnect = request.query.get("reconnect") in ("1", "true")
        else:
            claims = _with_own_metadata(claims, join_request)
            reconnect = join_request.reconnect
        return Admission(claims, room_name, path, join_request, reconnect)

    async def validate(self, request: web.Request, path: SignalPath) -> web.Response:
        """``/rtc/validate`` and ``/rtc/v1/validate``: ``success``, or the join's refusal."""
        try:
            self.admit(request, path)
        except JoinRefused as exc:
            raise exc.response() from exc
        return web.Response(text="success")


def _with_own_metadata(claims: Claims, join_request: rtc.JoinRequest) -> Claims:
    """The claims with the metadata and attributes the client asked for in its join request."""
    metadata, attributes = join_request.metadata, dict(join_request.participant_attributes)
    if not metadata and not attributes:
        return claims
    if not claims.video.can_update_own_metadata:
        raise JoinRefused(401, "permissions denied")
    merged = dict(claims.attributes)
    merged.update({k: v for k, v in attributes.items() if v})  # an empty value deletes nothing
    return dataclasses.replace(claims, metadata=metadata or claims.metadata, attributes=merged)


def join_response(room: Room, me: Participant, others: list[Participant]) -> rtc.SignalResponse:
    """The first message on an admitted WebSocket: the room, who I am, who else is there."""
    return rtc.SignalResponse(
        join=rtc.JoinResponse(
            room=room.info(),
            participant=me.info(),
            other_participants=[p.info() for p in others],
            server_version=SERVER_VERSION,
            server_info=models.ServerInfo(
                edition=models.ServerInfo.Standard,
                version=SERVER_VERSION,
                protocol=PROTOCOL_VERSION,
                node_id="devsfu",
            ),
            ice_servers=[],
            subscriber_primary=False,  # the client's publisher connection is the primary one
            ping_interval=PING_INTERVAL_S,
            ping_timeout=PING_TIMEOUT_S,
            enabled_publish_codecs=[models.Codec(mime="audio/opus")],
            fast_publish=me.can_publish,
        )
    )
