"""Every HTTP route has a body limit, checked while the body is read: a ``Content-Length`` over
it is answered 413 before the body is sent, and a chunked body is cut off where it passes it.
The LiveKit webhook has its own, larger limit (``VOIP_MAX_WEBHOOK_BODY_BYTES``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import HOST, CallServer

LIMIT = 4096
WEBHOOK_LIMIT = 16384


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CallServer]:
    env = {"VOIP_MAX_BODY_BYTES": str(LIMIT), "VOIP_MAX_WEBHOOK_BODY_BYTES": str(WEBHOOK_LIMIT)}
    with CallServer.start(Path(tmp_path_factory.mktemp("bodylimit")), env=env) as running:
        yield running


def _is_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "invalid_payload"
    assert "bytes" in response.json()["error"]["message"]


async def _chunks(total: int, size: int = 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    server: CallServer,
) -> None:
    # Only the headers go out: a server that waited for 100 MiB would never answer.
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413"), head

    async with httpx.AsyncClient(base_url=server.url) as http:
        _is_too_large(await http.post("/api/auth/login", content=b"{" + b" " * LIMIT + b"}"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/auth/login"),
        ("PUT", "/api/devices/phone-1/push"),
        ("POST", "/api/livekit/webhook"),
    ],
)
async def test_a_chunked_body_growing_past_the_limit_is_cut_off(
    server: CallServer, method: str, path: str
) -> None:
    limit = WEBHOOK_LIMIT if path.endswith("webhook") else LIMIT
    async with httpx.AsyncClient(base_url=server.url) as http:
        _is_too_large(await http.request(method, path, content=_chunks(limit + 2048)))


async def test_bodies_within_the_limits_are_served(server: CallServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        login = await http.post(
            "/api/auth/login",
            content=_chunks_of(json.dumps({"email": "nobody@x.test", "password": "p"}).encode()),
            headers={"Content-Type": "application/json"},
        )
        assert login.status_code == 401, login.text
        # The webhook takes more than other routes (refused for its signature, not its size).
        hook = await http.post("/api/livekit/webhook", content=b" " * (LIMIT * 2))
        assert hook.status_code != 413, hook.text
        assert (await http.get("/healthz")).status_code == 200


async def _chunks_of(body: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(body), 8):
        yield body[at : at + 8]
