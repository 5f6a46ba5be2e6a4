"""Access taken away: sign-out revokes the session on the server (no renewal, its sockets
closed, the device's push registration gone), a user's sessions are listed and revoked one by
one, and a disabled user (``voip-server disable-user``) is refused everywhere at once: HTTP,
renewal, sign-in, sockets, ringing calls."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import socketio
from sqlalchemy import select

from server.db.engine import make_engine, make_sessionmaker
from server.db.models import PushDevice
from tests.server.harness import PASSWORD, Person, Recorder, Stack

DISCONNECT_WAIT_S = 10.0


async def _login(stack: Stack, person: Person, device_id: str | None = None) -> str:
    body: dict[str, Any] = {"email": person.email, "password": PASSWORD}
    if device_id is not None:
        body["device_id"] = device_id
    response = await stack.http.post("/api/auth/login", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _socket(stack: Stack, token: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        stack.url, auth={"token": token}, namespaces=["/call"], transports=["websocket"]
    )
    return client


async def _closed(client: socketio.AsyncClient) -> bool:
    """Whether the server closes ``client`` within :data:`DISCONNECT_WAIT_S`."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(client.wait(), DISCONNECT_WAIT_S)
    return not client.connected


async def _push_devices(stack: Stack, user_id: str) -> set[str]:
    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(PushDevice.device_id).where(PushDevice.user_id == user_id)
            )
            return set(rows)
    finally:
        await engine.dispose()


async def test_sign_out_revokes_the_session_its_sockets_and_its_push(stack: Stack) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"]
    phone, laptop = await _login(stack, alice, "phone-1"), await _login(stack, alice, "laptop")
    for device, token in (("phone-1", phone), ("laptop", laptop)):
        put = await stack.http.put(
            f"/api/devices/{device}/push",
            json={"provider": "fcm", "token": f"fcm-{device}-{alice.id}"},
            headers=_bearer(token),
        )
        assert put.status_code == 204, put.text
    on_phone, on_laptop = await _socket(stack, phone), await _socket(stack, laptop)

    out = await stack.http.post("/api/auth/logout", headers=_bearer(phone))

    assert out.status_code == 204, out.text
    assert await _closed(on_phone)
    assert (await stack.http.get("/api/me", headers=_bearer(phone))).status_code == 401
    refresh = await stack.http.post("/api/auth/refresh", headers=_bearer(phone))
    assert (refresh.status_code, refresh.json()["error"]["code"]) == (401, "unauthorized")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await _socket(stack, phone)
    assert await _push_devices(stack, alice.id) == {"laptop"}
    # The other session is untouched.
    assert on_laptop.connected
    assert (await stack.http.get("/api/me", headers=_bearer(laptop))).status_code == 200
    await on_laptop.disconnect()


async def test_sessions_are_listed_and_revoked_one_by_one(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob", with_password=True)
    alice, bob = people["alice"], people["bob"]
    first, second = await _login(stack, alice, "phone-1"), await _login(stack, alice)
    bobs = await _login(stack, bob)

    listed = await stack.http.get("/api/auth/sessions", headers=_bearer(second))

    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert len(items) == 2
    assert [i["current"] for i in items].count(True) == 1
    other = next(i for i in items if not i["current"])
    assert other["device_id"] == "phone-1"
    bobs_id = (await stack.http.get("/api/auth/sessions", headers=_bearer(bobs))).json()
    # Nobody revokes another user's session: it is as unknown as a made-up one.
    for foreign in (bobs_id["items"][0]["id"], "0" * 32, "x" * 300):
        gone = await stack.http.delete(f"/api/auth/sessions/{foreign}", headers=_bearer(second))
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "not_found")
    assert (await stack.http.get("/api/me", headers=_bearer(bobs))).status_code == 200

    revoked = await stack.http.delete(f"/api/auth/sessions/{other['id']}", headers=_bearer(second))

    assert revoked.status_code == 204, revoked.text
    assert (await stack.http.get("/api/me", headers=_bearer(first))).status_code == 401
    assert (await stack.http.get("/api/me", headers=_bearer(second))).status_code == 200
    left = (await stack.http.get("/api/auth/sessions", headers=_bearer(second))).json()
    assert [i["current"] for i in left["items"]] == [True]


async def test_a_disabled_user_is_refused_everywhere_at_once(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob", with_password=True)
    alice, bob = people["alice"], people["bob"]
    signed_in = await _login(stack, bob)
    async with stack.clients(alice, bob) as (caller, callee):
        own = await _socket(stack, signed_in)
        call = await caller.invite(bob)
        await callee.next("incoming")

        await asyncio.to_thread(stack.server.cli, "disable-user", bob.email.upper())

        ended = await caller.next_matching("ended", call_id=call["id"])
        assert ended["status"] == "DECLINED"
        assert await _closed(callee.sio)
        assert await _closed(own)
        for token in (bob.token, signed_in):
            me = await stack.http.get("/api/me", headers=_bearer(token))
            assert (me.status_code, me.json()["error"]["code"]) == (401, "unauthorized")
            refresh = await stack.http.post("/api/auth/refresh", headers=_bearer(token))
            assert refresh.status_code == 401
        login = await stack.http.post(
            "/api/auth/login", json={"email": bob.email, "password": PASSWORD}
        )
        assert login.status_code == 401
        with pytest.raises(socketio.exceptions.ConnectionError):
            await Recorder(stack.url, bob).connect()
        # Alice is not touched, and bob's line is free again for nobody to ring.
        assert (await stack.http.get("/api/me", headers=alice.auth)).status_code == 200

    await asyncio.to_thread(stack.server.cli, "enable-user", bob.email)
    again = await stack.http.post(
        "/api/auth/login", json={"email": bob.email, "password": PASSWORD}
    )
    assert again.status_code == 200, again.text
    # Sessions revoked by disabling stay revoked.
    assert (await stack.http.get("/api/me", headers=_bearer(signed_in))).status_code == 401
