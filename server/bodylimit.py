"""A limit on every HTTP request body, enforced while the body is read (pure ASGI); and no NUL
character in a path or query.

Without it a route that reads its body (sign-in, the LiveKit webhook: no sign-in needed) holds
the whole of it in memory before any check. This middleware sits in front of everything:

- a ``Content-Length`` over the limit is answered ``413`` before one byte is read;
- a body without one (chunked) is counted as it arrives; the chunk that takes it past the limit
  is never handed to the app, the client gets ``413`` and the app's own answer is dropped.

Both answers are the contract's ``{"error": {"code": "invalid_payload", "message"}}``.
WebSocket traffic is not touched (uvicorn's ``ws_max_size`` and Socket.IO's
``max_http_buffer_size`` bound it).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


DRAIN_MIN_BYTES = 64 * 1024


class BodyTooLarge(Exception):
    """Raised to the app from ``receive`` once its body went past the limit."""


class BodyLimit:
    """Wrap ``app`` so that no request body over ``limit`` bytes (``limits[path]`` for the
    paths named there) reaches it."""

    def __init__(self, app: ASGIApp, limit: int, limits: dict[str, int] | None = None) -> None:
        self._app = app
        self._limit = limit
        self._limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if _has_nul(scope):
            await _refuse(send, 422, "NUL characters in the path or query")
            return
        limit = self._limits.get(scope.get("path", ""), self._limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        state = _Reading(limit, receive, send)
        with contextlib.suppress(BodyTooLarge):  # the app gave up on the body: 413 below
            await self._app(scope, state.receive, state.send)
        if state.over and not state.started:
            await _too_large(send, limit)


class _Reading:
    """One request's count of body bytes, and whether the app began its answer."""

    def __init__(self, limit: int, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.seen = 0
        self.over = False
        self.started = False
        self._receive = receive
        self._send = send

    async def receive(self) -> Message:
        if self.over:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.over = True
                if message.get("more_body", False):
                    await self._drain()
                raise BodyTooLarge
        return message

    async def _drain(self) -> None:
        """Read and drop what follows, up to as much again as the limit (at least 64 KiB): a
        server that closes with unread bytes makes the client's TCP reset the connection, and
        the client never sees the 413. Anything longer is cut off."""
        budget = max(self.limit, DRAIN_MIN_BYTES)
        while budget > 0:
            message = await self._receive()
            if message["type"] != "http.request":
                return
            budget -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def send(self, message: Message) -> None:
        if self.over:
            return  # the app's answer to a body it never fully got: 413 goes instead
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_nul(scope: Scope) -> bool:
    """A NUL in the path or the query (raw or percent-encoded): no route takes one, and
    PostgreSQL would refuse it as a parameter (a 500 otherwise)."""
    query = bytes(scope.get("query_string", b"")).lower()
    return "\x00" in str(scope.get("path", "")) or b"%00" in query or b"\x00" in query


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(send, 413, f"request body over {limit} bytes")


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": {"code": "invalid_payload", "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
