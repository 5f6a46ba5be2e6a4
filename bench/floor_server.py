"""The floor of this design: a bare Socket.IO relay on the call server's stack (issue 16).

    VOIP_JWT_SECRET=... .venv/bin/python -m bench.floor_server --port 8100
        [--ws auto|websockets|websockets-sansio|wsproto] [--sync-handlers]

The same transport as ``voip-server serve`` (:func:`server.cli.serve`, :mod:`server.app`):
uvicorn with uvloop and httptools, python-socketio's ``AsyncServer`` as the ASGI app, websocket
frames of at most 64 KiB, no permessage-deflate, no uvicorn ping (Engine.IO's ping every 20 s,
timeout 20 s), the collector tuned as the server's defaults tune it
(:func:`server.loopwatch.tune_gc`: ``threshold0`` 20,000, start-up frozen; ``VOIP_GC_REFREEZE``
is off by default, so :mod:`server.gcpolicy` does not run) and each socket's environ slimmed
(:func:`server.sio.environ.slim_environ`). It does only what ``shared/loadgen``'s generator
exercises on ``/call``, as its Node peer (``peer.js``) does: the access token (HS256, the
claims ``server/tokens.py`` issues, in ``auth.token``) verified at connect, one room per user,
``invite`` -> ack, ``incoming`` to the callee and ``ringing`` to the caller, ``decline`` or
``cancel`` -> ack and ``ended`` to both; calls in a dict. No database, no presence, no payload
models, no rate limits: what the design costs before any of the server's own work.
"""

from __future__ import annotations

import argparse
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import socketio
import uvicorn

from server.loopwatch import tune_gc
from server.sio.environ import slim_environ
from server.tokens import AUDIENCE, ISSUER, MAX_TOKEN_CHARS, hs256_decoder

NAMESPACE = "/call"
RING_S = 30
GC_THRESHOLD0 = 20_000
"""``VOIP_GC_THRESHOLD0``'s default (:class:`server.config_fields.TransportSettings`)."""
Payload = dict[str, Any]


class TokenReader:
    """Verifies the call server's access tokens: HS256, its issuer and audience, ``exp``,
    ``iat`` and ``sub`` required, ``exp`` checked on the wall clock."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._decoder = hs256_decoder()

    def user_id(self, token: object) -> str | None:
        """The token's ``sub`` if it is a valid token of ours; ``None`` otherwise."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            claims = self._decoder.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        sub = claims.get("sub")
        return sub if isinstance(sub, str) else None


@dataclass(slots=True)
class RingingCall:
    """A call that rings: who called whom, and the caller's request id (invite is idempotent)."""

    id: str
    caller_id: str
    callee_id: str
    request_id: str
    created_at: str


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def _party(user_id: str) -> Payload:
    return {"id": user_id, "display_name": f"user {user_id[:8]}"}


def call_view(call: RingingCall, viewer_id: str) -> Payload:
    """The call as ``viewer_id`` sees it, in the contract's ``Call`` shape."""
    return {
        "id": call.id,
        "caller": _party(call.caller_id),
        "callee": _party(call.callee_id),
        "direction": "outgoing" if viewer_id == call.caller_id else "incoming",
        "status": "RINGING",
        "reason": None,
        "created_at": call.created_at,
        "answered_at": None,
        "ended_at": None,
        "duration_s": None,
        "context": None,
        "note": None,
        "recording": None,
    }


def refused(code: str, message: str) -> Payload:
    """An ack that refuses, as the contract's: ``{"ok": false, "error": {code, message}}``."""
    return {"ok": False, "error": {"code": code, "message": message}}


# decline: the callee may; cancel: the caller may (the generator cancels a call it gave up on)
ENDINGS = {
    "decline": ("callee_id", "DECLINED", "declined"),
    "cancel": ("caller_id", "CANCELED", "canceled"),
}


class FloorNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """``/call``'s invite and decline path, and nothing else (module doc)."""

    def __init__(self, tokens: TokenReader) -> None:
        super().__init__(NAMESPACE)
        self._tokens = tokens
        self._users: dict[str, str] = {}
        """sid -> user id, for this process's sockets."""
        self._calls: dict[str, RingingCall] = {}
        self._by_request: dict[tuple[str, str], str] = {}

    async def on_connect(self, sid: str, environ: Payload, auth: Any = None) -> None:
        slim_environ(environ)
        user_id = self._tokens.user_id(auth.get("token") if isinstance(auth, dict) else None)
        if user_id is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: invalid token")
        self._users[sid] = user_id
        await self.enter_room(sid, user_room(user_id))

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._users.pop(sid, None)

    async def on_invite(self, sid: str, data: Any) -> Payload:
        me = self._users.get(sid)
        if me is None:
            return refused("unauthorized", "not connected")
        callee, request = (
            (data.get("callee_id"), data.get("request_id"))
            if isinstance(data, dict)
            else (None, None)
        )
        if not isinstance(callee, str) or not isinstance(request, str):
            return refused("invalid_payload", "callee_id and request_id are required")
        again = self._calls.get(self._by_request.get((me, request), ""))
        if again is not None:
            return {"ok": True, "call": call_view(again, me)}
        if callee == me:
            return refused("self_call", "cannot call yourself")
        now = datetime.now(UTC)
        call = RingingCall(str(uuid.uuid4()), me, callee, request, now.isoformat())
        self._calls[call.id] = call
        self._by_request[(me, request)] = call.id
        ring_end = (now + timedelta(seconds=RING_S)).isoformat()
        incoming = {
            "call": call_view(call, callee),
            "ring_expires_at": ring_end,
            "recording": False,
        }
        await self.emit("incoming", incoming, to=user_room(callee))
        await self.emit("ringing", {"call_id": call.id}, to=user_room(me))
        return {"ok": True, "call": call_view(call, me)}

    async def on_decline(self, sid: str, data: Any) -> Payload:
        return await self._end(sid, data, "decline")

    async def on_cancel(self, sid: str, data: Any) -> Payload:
        return await self._end(sid, data, "cancel")

    async def _end(self, sid: str, data: Any, event: str) -> Payload:
        """A party ends a ringing call: ack, and ``ended`` to both parties' rooms."""
        who, status, reason = ENDINGS[event]
        call_id = data.get("call_id") if isinstance(data, dict) else None
        if not isinstance(call_id, str):
            return refused("invalid_payload", "call_id is required")
        call = self._calls.get(call_id)
        if call is None:
            return refused("not_found", "no such ringing call")
        if getattr(call, who) != self._users.get(sid):
            return refused("forbidden", f"only the {who.removesuffix('_id')} may {event}")
        del self._calls[call_id]
        self._by_request.pop((call.caller_id, call.request_id), None)
        ended = {"call_id": call.id, "status": status, "reason": reason, "recording": None}
        await self.emit("ended", ended, to=[user_room(call.caller_id), user_room(call.callee_id)])
        return {"ok": True}


def create_app(secret: str, *, async_handlers: bool = True) -> socketio.ASGIApp:
    """The floor as one ASGI app, with ``server.app``'s Socket.IO settings."""
    sio = socketio.AsyncServer(
        async_mode="asgi",
        async_handlers=async_handlers,
        cors_allowed_origins=[],
        max_http_buffer_size=64 * 1024,
        ping_interval=20,
        ping_timeout=20,
    )
    sio.register_namespace(FloorNamespace(TokenReader(secret)))

    def started() -> None:
        tune_gc(GC_THRESHOLD0, freeze=True)  # as the server's lifespan does, once it is up

    return socketio.ASGIApp(sio, socketio_path="socket.io", on_startup=started)


def config(app: socketio.ASGIApp, host: str, port: int, ws: str = "auto") -> uvicorn.Config:
    """``server.cli.serve``'s uvicorn settings (uvloop and httptools explicitly)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws=ws,
        log_config=None,
        ws_max_size=64 * 1024,
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
    )


def main() -> None:
    """Serve the floor until SIGTERM or SIGINT."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--ws", default="auto", help="uvicorn's websocket implementation")
    p.add_argument("--sync-handlers", action="store_true", help="async_handlers=False")
    args = p.parse_args()
    app = create_app(os.environ["VOIP_JWT_SECRET"], async_handlers=not args.sync_handlers)
    uvicorn.Server(config(app, args.host, args.port, args.ws)).run()


if __name__ == "__main__":
    main()
