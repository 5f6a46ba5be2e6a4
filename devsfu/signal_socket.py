"""One participant's signal WebSocket: ``SignalResponse`` frames out, ``SignalRequest`` frames in.

What the session sends before the ``JoinResponse`` has gone (the room may speak of a participant
as soon as it joined, before its WebSocket is open) is held and sent right after it; a frame
that cannot be sent is logged and dropped (the client is gone or going). What comes in is
decoded and handed on one request at a time: a frame that does not decode, or whose handling
fails, is logged and the loop goes on. The loop ends when the client closes, is silent for
``PING_TIMEOUT_S``, or :meth:`SignalSocket.close` is called.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web
from livekit.protocol import rtc

from devsfu.join import PING_TIMEOUT_S

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4 * 1024 * 1024

RequestHandler = Callable[[rtc.SignalRequest], Awaitable[None]]


class SignalSocket:
    """The WebSocket of the participant ``who`` (an identity, for the log)."""

    def __init__(self, who: str) -> None:
        self.ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES)
        self._who = who
        self._open = False  # the JoinResponse went: frames go straight out
        self._held: list[rtc.SignalResponse] = []
        self._closed = False

    async def open(self, request: web.Request, join: rtc.SignalResponse) -> None:
        """Upgrade ``request``, send ``join``, then what was held until it went."""
        await self.ws.prepare(request)
        await self._send_now(join)
        self._open = True
        for held in self._held:
            await self._send_now(held)
        self._held.clear()

    async def send(self, response: rtc.SignalResponse) -> None:
        """Send ``response`` (held until :meth:`open`; dropped once closed)."""
        if self._closed:
            return
        if not self._open:
            self._held.append(response)
            return
        await self._send_now(response)

    async def receive(self, handle: RequestHandler) -> None:
        """Hand each request to ``handle``, in turn, until the socket's end (module docstring)."""
        while not self._closed:
            try:
                msg = await self.ws.receive(timeout=PING_TIMEOUT_S)
            except TimeoutError:
                log.info("%s: no message for %d s, dropping", self._who, PING_TIMEOUT_S)
                return
            if msg.type == WSMsgType.BINARY:
                try:
                    request = rtc.SignalRequest.FromString(msg.data)
                except Exception:
                    log.warning("%s: undecodable signal request", self._who)
                    continue
                try:
                    await handle(request)
                except Exception:
                    log.exception(
                        "%s: failed to handle %s", self._who, request.WhichOneof("message")
                    )
            elif msg.type == WSMsgType.TEXT:
                log.warning("%s: JSON signalling is not supported; ignored", self._who)
            else:
                return

    async def close(self) -> None:
        """Close the WebSocket; nothing is sent or handed on after this."""
        self._closed = True
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def _send_now(self, response: rtc.SignalResponse) -> None:
        try:
            await self.ws.send_bytes(response.SerializeToString())
        except (ConnectionError, RuntimeError) as exc:
            log.debug("%s: send failed: %s", self._who, exc)
