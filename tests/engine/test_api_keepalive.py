"""The HTTP API client against a real HTTP/1.1 server on 127.0.0.1 that closes a kept-alive
connection as the next request arrives (an idle timeout racing the request): an idempotent
request is sent again on a new connection, a POST is not."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from voip_app.api import ApiClient
from voip_app.errors import ServerUnreachable

PAGE = json.dumps({"items": [], "next_cursor": None}).encode()
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(PAGE), PAGE)
)


class ClosingServer:
    """Answers the first request on each connection (an empty page of calls) and keeps the
    connection open; reads a second request on it and closes the connection unanswered, with a
    FIN or an RST (``close_with``)."""

    def __init__(self, close_with: str) -> None:
        self.close_with = close_with
        self.connections = 0
        self.unanswered: list[str] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*self._handlers)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            if await read_request(reader) is None:
                return
            writer.write(ANSWER)
            await writer.drain()
            second = await read_request(reader)
            if second is not None:
                self.unanswered.append(second)
        finally:
            if self.close_with == "rst":  # no lingering: the kernel sends an RST
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            else:
                writer.close()
                await writer.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> str | None:
    """A whole request's request line; ``None`` when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length")),
        0,
    )
    await reader.readexactly(length)
    return lines[0].rsplit(" ", 1)[0]


BROKEN = {"fin": httpx.RemoteProtocolError, "rst": httpx.ReadError}
"""What each way of closing shows the client."""


@pytest.fixture(params=sorted(BROKEN))
async def closing_server(request: pytest.FixtureRequest) -> AsyncIterator[ClosingServer]:
    server = ClosingServer(request.param)
    yield server
    await server.stop()


Request = Callable[[ApiClient], Awaitable[object]]


@pytest.mark.parametrize(
    ("request_line", "send"),
    [
        ("GET /api/calls?limit=50", lambda api: api.calls()),
        ("DELETE /api/devices/d1/push", lambda api: api.unregister_push("d1")),
    ],
    ids=["GET", "DELETE"],
)
async def test_an_idempotent_request_is_sent_again_on_a_new_connection(
    closing_server: ClosingServer, request_line: str, send: Request
) -> None:
    async with ApiClient(await closing_server.start()) as api:
        await api.calls()
        await send(api)
    assert closing_server.unanswered == [request_line]
    assert closing_server.connections == 2


async def test_a_post_is_not_sent_again(closing_server: ClosingServer) -> None:
    async with ApiClient(await closing_server.start()) as api:
        await api.calls()
        with pytest.raises(ServerUnreachable) as info:
            await api.logout()
    assert type(info.value.__cause__) is BROKEN[closing_server.close_with]
    assert closing_server.unanswered == ["POST /api/auth/logout"]
    assert closing_server.connections == 1
