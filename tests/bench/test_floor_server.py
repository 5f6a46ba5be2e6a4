"""The floor server (``bench.floor_server``) speaks the part of the ``/call`` contract the load
generator exercises, to real python-socketio clients over a real uvicorn on loopback: a token of
ours connects and a foreign one is refused; ``invite`` is acked with the call and rings the
callee (``incoming``) and the caller (``ringing``); ``decline`` is acked and ends the call for
both (``ended``, ``DECLINED``), after which the call is gone."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import socketio

from tests.support.servers import HOST, REPO, free_port, stop_process, wait_for_port

SECRET = "floor-test-secret-of-at-least-thirty-two-chars"
NAMESPACE = "/call"
WAIT_S = 10.0


def token(user_id: str, *, secret: str = SECRET) -> str:
    """An access token with the claims ``server/tokens.py`` issues."""
    now = int(time.time())
    claims = {"iss": "voip-server", "aud": "voip", "sub": user_id, "tid": "t1", "iat": now}
    claims.update(auth_time=now, exp=now + 600)
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def floor_url(tmp_path: Any) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.floor_server", "--host", HOST, "--port", str(port)]
    env = {"VOIP_JWT_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    with (tmp_path / "floor.log").open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(HOST, port, proc=proc)
            yield f"http://{HOST}:{port}"
        finally:
            # uvicorn shuts down on SIGTERM, then raises the signal again for its default action
            assert stop_process(proc) in (0, -signal.SIGTERM)


class Party:
    """One connected user: its client, and the events it got, by name."""

    def __init__(self, user_id: str) -> None:
        self.id = user_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self.queues: dict[str, asyncio.Queue[Any]] = {}
        self.sio.on("*", self._record, namespace=NAMESPACE)

    async def _record(self, event: str, data: Any = None) -> None:
        self.queues.setdefault(event, asyncio.Queue()).put_nowait(data)

    async def connect(self, url: str, auth: dict[str, str]) -> None:
        await self.sio.connect(
            url, auth=auth, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=10
        )

    async def next(self, event: str) -> Any:
        return await asyncio.wait_for(self.queues.setdefault(event, asyncio.Queue()).get(), WAIT_S)

    async def call(self, event: str, data: dict[str, Any]) -> Any:
        return await self.sio.call(event, data, namespace=NAMESPACE, timeout=WAIT_S)


async def test_invite_rings_the_callee_and_decline_ends_it_for_both(floor_url: str) -> None:
    alice, bob = Party(str(uuid.uuid4())), Party(str(uuid.uuid4()))
    await alice.connect(floor_url, {"token": token(alice.id)})
    await bob.connect(floor_url, {"token": token(bob.id)})
    try:
        ack = await alice.call("invite", {"callee_id": bob.id, "request_id": "r1"})
        assert ack["ok"]
        assert ack["call"]["callee"]["id"] == bob.id
        call_id = ack["call"]["id"]
        incoming = await bob.next("incoming")
        assert incoming["call"]["id"] == call_id
        assert incoming["call"]["caller"]["id"] == alice.id
        assert incoming["call"]["direction"] == "incoming"
        assert (await alice.next("ringing")) == {"call_id": call_id}
        again = await alice.call("invite", {"callee_id": bob.id, "request_id": "r1"})
        assert again["call"]["id"] == call_id  # the same request: the same call
        refused = await alice.call("decline", {"call_id": call_id})
        assert refused["error"]["code"] == "forbidden"  # the caller cannot decline
        assert (await bob.call("decline", {"call_id": call_id})) == {"ok": True}
        for party in (alice, bob):
            ended = await party.next("ended")
            assert (ended["call_id"], ended["status"]) == (call_id, "DECLINED")
        gone = await bob.call("decline", {"call_id": call_id})
        assert gone["error"]["code"] == "not_found"
    finally:
        await alice.sio.disconnect()
        await bob.sio.disconnect()


async def test_a_token_not_signed_with_the_secret_is_refused(floor_url: str) -> None:
    mallory = Party(str(uuid.uuid4()))
    other = "another-secret-of-at-least-thirty-two-characters"
    with pytest.raises(socketio.exceptions.ConnectionError):
        await mallory.connect(floor_url, {"token": token(mallory.id, secret=other)})
    assert not mallory.sio.connected
