"""The signaling contract against a real server process, with real Socket.IO clients.

Runs once on SQLite and once on PostgreSQL (``postgres`` marker); the LiveKit endpoint is a real
``voip-devsfu`` process. Each test makes its own tenant, so the tests share one server.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import jwt
import pytest
import socketio

from tests.server.conftest import IDP_AUDIENCE, IDP_ISSUER, IDP_SECRET
from tests.server.harness import (
    PASSWORD,
    Person,
    Recorder,
    Stack,
    call_events,
    grace_of,
    post_webhook,
    race_invites,
    signed_webhook,
    webhook_body,
)


async def ring(caller: Recorder, callee: Person, *ringers: Recorder) -> dict[str, Any]:
    """Invite ``callee``; wait until every one of ``ringers`` got ``incoming`` for it."""
    call = await caller.invite(callee)
    assert call["status"] == "RINGING", call
    for r in ringers:
        incoming = await r.next_matching("incoming")
        assert incoming["call"]["id"] == call["id"]
    await caller.next_matching("ringing", call_id=call["id"])
    return call


async def answer(stack: Stack, caller: Recorder, callee: Recorder) -> tuple[dict[str, Any], ...]:
    """Ring and accept; return (call, callee's ack, caller's ``accepted``)."""
    call = await ring(caller, callee.person, callee)
    ack = await callee.call("accept", {"call_id": call["id"]})
    assert ack["ok"], ack
    accepted = await caller.next_matching("accepted", call_id=call["id"])
    return call, ack, accepted


async def test_whole_lifecycle_and_history(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob")
    alice, bob = people["alice"], people["bob"]
    async with stack.clients(alice, bob) as (a, b):
        call, ack, accepted = await answer(stack, a, b)
        assert ack["room_name"] == accepted["room_name"]
        assert ack["room_name"].startswith(f"{(await _slug(stack, alice))}_")
        assert ack["livekit_url"] == stack.sfu.url if stack.sfu else True
        assert ack["token"] != accepted["token"]
        assert (await stack.get_call(alice, call["id"]))["status"] == "IN_PROGRESS"
        rooms = await stack.http.get("/api/rooms/active", headers=alice.auth)
        assert [r["name"] for r in rooms.json()] == [ack["room_name"]]
        inside = await stack.http.get(
            f"/api/rooms/{ack['room_name']}/participants", headers=alice.auth
        )
        assert (inside.status_code, inside.json()) == (200, [])  # nobody joined the media
        outsider = (await stack.tenant("olga"))["olga"]
        hidden = await stack.http.get("/api/rooms/active", headers=outsider.auth)
        assert hidden.json() == []
        foreign = await stack.http.get(
            f"/api/rooms/{ack['room_name']}/participants", headers=outsider.auth
        )
        assert foreign.status_code == 404

        assert (await a.call("hangup", {"call_id": call["id"]})) == {"ok": True}
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("COMPLETED", "hangup")
    mine = await stack.get_call(bob, call["id"])
    assert mine["direction"] == "incoming"
    assert mine["status"] == "COMPLETED"
    assert mine["answered_at"]
    assert mine["ended_at"]
    assert mine["duration_s"] is not None
    assert mine["duration_s"] >= 0
    await _await_no_rooms(stack, alice)


async def _slug(stack: Stack, person: Person) -> str:
    return person.email.split("@")[1].removesuffix(".test")


async def _await_no_rooms(stack: Stack, person: Person) -> None:
    """The room is deleted in the background after the end: poll, bounded."""
    for _ in range(100):
        rooms = await stack.http.get("/api/rooms/active", headers=person.auth)
        if rooms.json() == []:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"room still there: {rooms.json()}")


async def test_decline(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call = await ring(a, p["bob"], b)
        assert (await b.call("decline", {"call_id": call["id"]}))["ok"]
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("DECLINED", "declined")
        # a final status never changes again
        again = await a.call("cancel", {"call_id": call["id"]})
        assert again["error"]["code"] == "invalid_state"


async def test_cancel_and_roles(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call = await ring(a, p["bob"], b)
        assert (await a.call("accept", {"call_id": call["id"]}))["error"]["code"] == "forbidden"
        assert (await b.call("cancel", {"call_id": call["id"]}))["error"]["code"] == "forbidden"
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("CANCELED", "canceled")


async def test_busy_offline_self_unknown(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol", "erin")
    async with stack.clients(p["alice"], p["bob"], p["carol"]) as (a, b, c):
        await answer(stack, a, b)
        busy = await c.invite(p["bob"])
        assert (busy["status"], busy["reason"]) == ("BUSY", "callee_busy")
        assert b.pending("incoming") == 0
        offline = await c.invite(p["erin"])
        assert (offline["status"], offline["reason"]) == ("MISSED", "callee_offline")
        own = await c.call("invite", {"callee_id": p["carol"].id, "request_id": "r"})
        assert own["error"]["code"] == "self_call"
        nobody = await c.call("invite", {"callee_id": uuid.uuid4().hex, "request_id": "r2"})
        assert nobody["error"]["code"] == "not_found"


async def test_simultaneous_invites_ring_one_call_only(stack: Stack) -> None:
    """One line per user is a database fact: of invites racing for the same line, exactly one
    claims it; the line is free again once that call ends."""
    p = await stack.tenant("alice", "bob", "carol", "erin")
    async with stack.clients(p["alice"], p["bob"], p["carol"], p["erin"]) as (a, b, c, e):
        for _ in range(3):
            # two callers, one idle callee, the same instant: the other call ends BUSY
            _, race = await race_invites((a, e), (c, e))
            busy = next(x["call"] for x in race["acks"] if x["call"]["status"] != "RINGING")
            assert (busy["status"], busy["reason"]) == ("BUSY", "callee_busy")
            # alice calls bob while bob calls alice: one rings, the other caller is in it
            _, crossed = await race_invites((a, b), (b, a))
            assert sorted(crossed["outcomes"]) == ["RINGING", "invalid_state"]
        contacts = await stack.http.get("/api/contacts", headers=p["alice"].auth)
        assert {x["presence"] for x in contacts.json()["items"]} == {"online"}


async def test_two_devices_one_answers(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], (p["bob"], "phone"), (p["bob"], "desktop")) as (
        a,
        phone,
        desktop,
    ):
        call = await ring(a, p["bob"], phone, desktop)
        ack = await desktop.call("accept", {"call_id": call["id"]})
        assert ack["ok"], ack
        assert (await phone.next("answered_elsewhere"))["call_id"] == call["id"]
        assert desktop.pending("answered_elsewhere") == 0
        identity = jwt.decode(ack["token"], options={"verify_signature": False})["sub"]
        assert identity == f"{p['bob'].id}:desktop"
        late = await phone.call("accept", {"call_id": call["id"]})
        assert late["error"]["code"] == "invalid_state"
        assert "token" not in str(phone.events)


async def test_two_concurrent_accepts_exactly_one_wins(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], (p["bob"], "phone"), (p["bob"], "desktop")) as (
        a,
        phone,
        desktop,
    ):
        call = await ring(a, p["bob"], phone, desktop)
        acks = await asyncio.gather(
            phone.call("accept", {"call_id": call["id"]}),
            desktop.call("accept", {"call_id": call["id"]}),
        )
        assert sorted(ack["ok"] for ack in acks) == [False, True]
        loser = next(ack for ack in acks if not ack["ok"])
        assert loser["error"]["code"] == "invalid_state"
        await a.next_matching("accepted", call_id=call["id"])
        assert a.pending("accepted") == 0


async def test_reconnect_while_ringing_rings_again(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"]) as (a,):
        async with stack.clients((p["bob"], "phone")) as (b,):
            call = await ring(a, p["bob"], b)
        async with stack.clients((p["bob"], "phone")) as (b2,):
            again = await b2.next("incoming")
            assert again["call"]["id"] == call["id"]
            assert again["call"]["status"] == "RINGING"
            synced = await b2.call("sync", {})
            assert [c["id"] for c in synced["calls"]] == [call["id"]]
            assert (await b2.call("accept", {"call_id": call["id"]}))["ok"]


async def test_idempotent_invite(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    async with stack.clients(p["alice"], p["bob"], p["carol"]) as (a, b, c):
        first = await a.invite(p["bob"], request_id="same")
        second = await a.invite(p["bob"], request_id="same")
        assert first["id"] == second["id"]
        await b.next("incoming")
        assert (await a.call("sync"))["calls"][0]["id"] == first["id"]
        assert b.pending("incoming") == 0
        assert b.names().count("incoming") == 1
        # the same request_id for someone else is not a retry: refused, not the old call
        reused = await a.call("invite", {"callee_id": p["carol"].id, "request_id": "same"})
        assert (reused["ok"], reused["error"]["code"]) == (False, "invalid_payload")
        assert "incoming" not in c.names()


async def test_rate_limit(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], p["bob"]) as (a, _b):
        for _ in range(8):  # VOIP_INVITE_LIMIT_PER_MIN=8 on this server
            call = await a.invite(p["bob"])
            assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        limited = await a.call("invite", {"callee_id": p["bob"].id, "request_id": "ninth"})
        assert limited["error"]["code"] == "rate_limited"
        assert (await a.call("sync"))["calls"] == []
        history = await stack.http.get("/api/calls?limit=50", headers=p["alice"].auth)
        assert len(history.json()["items"]) == 8


async def test_cross_tenant_is_invisible(stack: Stack) -> None:
    acme = await stack.tenant("alice", "bob")
    globex = await stack.tenant("dave")
    async with stack.clients(globex["dave"], acme["alice"]) as (d, a):
        ack = await d.call("invite", {"callee_id": acme["alice"].id, "request_id": "x"})
        nobody = await d.call("invite", {"callee_id": uuid.uuid4().hex, "request_id": "y"})
        # another tenant's user is answered exactly as an unknown id (nothing to enumerate)
        assert ack == nobody
        assert ack["error"]["code"] == "not_found"
        assert "incoming" not in a.names()
    contacts = await stack.http.get("/api/contacts", headers=globex["dave"].auth)
    assert contacts.json() == {"items": [], "next_cursor": None}
    mine = await stack.http.get("/api/contacts", headers=acme["alice"].auth)
    assert [c["email"] for c in mine.json()["items"]] == [acme["bob"].email]


async def test_token_grant_identity_and_expiry(stack: Stack) -> None:
    assert stack.sfu is not None
    p = await stack.tenant("alice", "bob")
    async with stack.clients((p["alice"], "laptop"), (p["bob"], "phone")) as (a, b):
        call, ack, accepted = await answer(stack, a, b)
        for token, person, device in (
            (ack["token"], p["bob"], "phone"),
            (accepted["token"], p["alice"], "laptop"),
        ):
            claims = jwt.decode(
                token,
                stack.sfu.api_secret,
                algorithms=["HS256"],
                issuer=stack.sfu.api_key,
                options={"verify_aud": False},
            )
            assert claims["sub"] == f"{person.id}:{device}"
            assert claims["video"]["room"] == ack["room_name"]
            assert claims["video"]["roomJoin"] is True
            assert not claims["video"].get("roomAdmin")
            # a voice call: the microphone only, no data channel
            assert claims["video"]["canPublishSources"] == ["microphone"]
            assert claims["video"]["canPublishData"] is False
            assert not claims["video"].get("roomCreate")
            assert 0 < claims["exp"] - time.time() <= 300
        # rejoin after a network loss: a fresh token for the same room
        rejoin = await stack.http.post(
            f"/api/calls/{call['id']}/token", headers=p["bob"].auth, json={"device_id": "phone"}
        )
        assert rejoin.status_code == 200
        assert rejoin.json()["room_name"] == ack["room_name"]
        assert jwt.decode(rejoin.json()["token"], options={"verify_signature": False})["sub"] == (
            f"{p['bob'].id}:phone"
        )


async def rejoin_token(
    stack: Stack, person: Person, call_id: str, device_id: str | None
) -> tuple[int, dict[str, Any]]:
    """``POST /api/calls/{id}/token`` as ``person`` from ``device_id`` (no body if ``None``)."""
    body = None if device_id is None else {"device_id": device_id}
    response = await stack.http.post(f"/api/calls/{call_id}/token", headers=person.auth, json=body)
    answer: dict[str, Any] = response.json()
    return response.status_code, answer


async def test_only_the_device_on_the_call_may_rejoin(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    async with stack.clients(
        (p["alice"], "laptop"), (p["bob"], "phone"), (p["bob"], "desktop")
    ) as (a, phone, desktop):
        call = await ring(a, p["bob"], phone, desktop)
        for person, device in ((p["alice"], "laptop"), (p["bob"], "phone")):
            status, body = await rejoin_token(stack, person, call["id"], device)
            assert (status, body["error"]["code"]) == (409, "invalid_state"), body
        ack = await phone.call("accept", {"call_id": call["id"]})
        assert ack["ok"], ack
        await a.next_matching("accepted", call_id=call["id"])

        for person, device in ((p["alice"], "laptop"), (p["bob"], "phone")):
            status, body = await rejoin_token(stack, person, call["id"], device)
            assert status == 200, body
            assert body["room_name"] == ack["room_name"]
            claims = jwt.decode(body["token"], options={"verify_signature": False})
            assert claims["sub"] == f"{person.id}:{device}"
        for person, device in ((p["bob"], "desktop"), (p["alice"], "phone")):
            status, body = await rejoin_token(stack, person, call["id"], device)
            assert (status, body["error"]["code"]) == (403, "forbidden"), body
            assert body["error"]["message"] == "This call is on another of your devices."
        for person in (p["alice"], p["bob"]):  # a device that does not say which it is
            status, body = await rejoin_token(stack, person, call["id"], None)
            assert (status, body["error"]["code"]) == (403, "forbidden"), body
        status, body = await rejoin_token(stack, p["carol"], call["id"], "phone")
        assert (status, body["error"]["code"]) == (404, "not_found"), body

        assert (await a.call("hangup", {"call_id": call["id"]}))["ok"]
        await phone.next_matching("ended", call_id=call["id"])
        status, body = await rejoin_token(stack, p["bob"], call["id"], "phone")
        assert (status, body["error"]["code"]) == (409, "invalid_state"), body
    assert "token" not in str(desktop.events)


async def test_a_device_without_an_id_rejoins_unnamed(stack: Stack) -> None:
    # A client that connects without a device_id is its socket, whose id it does not keep:
    # it rejoins without naming itself; a named device of the same user still may not.
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call, _, _ = await answer(stack, a, b)
        for person, sid in ((p["alice"], a.sid), (p["bob"], b.sid)):
            status, body = await rejoin_token(stack, person, call["id"], None)
            assert status == 200, body
            claims = jwt.decode(body["token"], options={"verify_signature": False})
            assert claims["sub"] == f"{person.id}:{sid}"
        status, body = await rejoin_token(stack, p["bob"], call["id"], "tablet")
        assert (status, body["error"]["code"]) == (403, "forbidden"), body
        assert (await a.call("hangup", {"call_id": call["id"]}))["ok"]


async def test_accepted_follows_the_calling_device_to_its_new_socket(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["bob"]) as (b,):
        async with stack.clients((p["alice"], "laptop")) as (old,):
            call = await ring(old, p["bob"], b)
        async with stack.clients((p["alice"], "laptop"), (p["alice"], "phone")) as (new, other):
            # the phone connected last, but it did not place the call: it must not take it
            ack = await b.call("accept", {"call_id": call["id"]})
            assert ack["ok"], ack
            accepted = await new.next_matching("accepted", call_id=call["id"])
            assert accepted["room_name"] == ack["room_name"]
            claims = jwt.decode(accepted["token"], options={"verify_signature": False})
            assert claims["sub"] == f"{p['alice'].id}:laptop"
            assert (await new.call("hangup", {"call_id": call["id"]}))["ok"]
            await other.next_matching("ended", call_id=call["id"])
    assert "accepted" not in other.names()
    assert "token" not in str(other.events)
    assert "accepted" not in old.names()


async def test_a_retried_invite_from_a_new_socket_takes_the_accepted(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    people = (p["bob"], (p["alice"], "laptop"), (p["alice"], "phone"))
    async with stack.clients(*people) as (b, new, other):
        # The old socket's invite lands after the same device's new socket connected (the
        # link dropped while the invite was on its way); the app then sends it again.
        async with stack.clients((p["alice"], "laptop")) as (old,):
            call = await old.invite(p["bob"], request_id="r-1")
            await b.next_matching("incoming")
        assert (await new.invite(p["bob"], request_id="r-1"))["id"] == call["id"]
        # the same request_id from another device of alice's returns the call, takes nothing
        assert (await other.invite(p["bob"], request_id="r-1"))["id"] == call["id"]
        ack = await b.call("accept", {"call_id": call["id"]})
        assert ack["ok"], ack
        accepted = await new.next_matching("accepted", call_id=call["id"])
        assert accepted["room_name"] == ack["room_name"]
        assert (await new.call("hangup", {"call_id": call["id"]}))["ok"]
        await other.next_matching("ended", call_id=call["id"])
    assert "accepted" not in other.names() + old.names()
    assert b.names().count("incoming") == 1


async def test_a_third_user_sees_no_token_and_no_foreign_call(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    async with stack.clients(p["carol"]) as (c,):
        async with stack.clients(p["alice"], p["bob"]) as (a, b):
            call, _, _ = await answer(stack, a, b)
            assert (await b.call("hangup", {"call_id": call["id"]}))["ok"]
            await a.next_matching("ended", call_id=call["id"])
        forbidden = await stack.http.get(f"/api/calls/{call['id']}", headers=p["carol"].auth)
        assert forbidden.status_code == 404
        assert forbidden.json()["error"]["code"] == "not_found"
        token = await stack.http.post(f"/api/calls/{call['id']}/token", headers=p["carol"].auth)
        assert token.status_code == 404
        assert (await c.call("hangup", {"call_id": call["id"]}))["error"]["code"] == "not_found"
        assert (await c.call("sync"))["calls"] == []
    assert set(c.names()) <= {"presence"}, c.events
    assert "token" not in str(c.events)
    assert call["id"] not in str(c.events)


async def test_presence(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"]) as (a,):
        async with stack.clients(p["bob"]) as (b,):
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            contacts = await stack.http.get("/api/contacts", headers=p["alice"].auth)
            assert contacts.json()["items"][0]["presence"] == "online"
            call = await ring(a, p["bob"], b)
            await a.next_matching("presence", user_id=p["bob"].id, presence="busy")
            assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
        await a.next_matching("presence", user_id=p["bob"].id, presence="offline")


BAD_CALL_IDS: list[Any] = [
    None,
    "a string",
    [],
    {},
    {"call_id": ""},
    {"call_id": 42},
    {"call_id": "x" * 65},
    {"call_id": "ok", "extra": 1},
    {"call_id": "y" * 60, "pad": "z" * 5000},
]
BAD_INVITES: list[Any] = [
    None,
    {},
    {"callee_id": "someone"},
    {"request_id": "r"},
    {"callee_id": "", "request_id": "r"},
    {"callee_id": "a" * 65, "request_id": "r"},
    {"callee_id": ["a"], "request_id": "r"},
    {"callee_id": "a", "request_id": "r", "caller_id": "forged"},
]


async def test_malformed_payloads_change_nothing(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call = await ring(a, p["bob"], b)
        for event in ("accept", "decline", "cancel", "hangup"):
            for bad in BAD_CALL_IDS:
                ack = await b.call(event, bad) if event != "cancel" else await a.call(event, bad)
                assert ack["ok"] is False, (event, bad)
                assert ack["error"]["code"] == "invalid_payload", (event, bad, ack)
        for bad in BAD_INVITES:
            ack = await a.call("invite", bad)
            assert ack["error"]["code"] == "invalid_payload", (bad, ack)
        for bad in ("x", [1], {"calls": []}):
            assert (await a.call("sync", bad))["error"]["code"] == "invalid_payload"
        current = await stack.get_call(p["alice"], call["id"])
        assert current["status"] == "RINGING"
        assert b.names().count("incoming") == 1
        assert not {"ended", "accepted", "answered_elsewhere"} & set(a.names() + b.names())
        assert (await a.call("sync"))["calls"][0]["id"] == call["id"]


async def test_connect_refused_without_a_valid_token(stack: Stack) -> None:
    p = await stack.tenant("alice")
    forged = jwt.encode(
        {"sub": p["alice"].id, "iss": "voip-server", "aud": "voip", "exp": time.time() + 60},
        "not-the-secret-but-long-enough-for-hs256-0000",
        algorithm="HS256",
    )
    for auth in (
        None,
        {},
        {"token": "garbage"},
        {"token": forged},
        {"token": p["alice"].token, "device_id": "d" * 65},
    ):
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                stack.url, auth=auth, namespaces=["/call"], transports=["websocket"], wait_timeout=5
            )
        await client.disconnect()


async def test_http_auth_login_and_idp_tokens(stack: Stack) -> None:
    p = await stack.tenant("alice", with_password=True)
    alice = p["alice"]
    assert (await stack.http.get("/api/me")).status_code == 401
    wrong = await stack.http.post(
        "/api/auth/login", json={"email": alice.email, "password": "nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    login = await stack.http.post(
        "/api/auth/login", json={"email": alice.email, "password": PASSWORD}
    )
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["id"] == alice.id
    me = await stack.http.get(
        "/api/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["email"] == alice.email
    bad = await stack.http.post("/api/auth/login", json={"email": "x"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_payload")

    subject = alice.email.replace("alice@", "idp|").removesuffix(".test") + "|alice"
    claims = {
        "sub": subject,
        "iss": IDP_ISSUER,
        "aud": IDP_AUDIENCE,
        "role": "authenticated",
        "exp": int(time.time()) + 300,
    }
    idp_token = jwt.encode(claims, IDP_SECRET, algorithm="HS256")
    me = await stack.http.get("/api/me", headers={"Authorization": f"Bearer {idp_token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == alice.id
    for wrong_claims in (
        {**claims, "aud": "other"},
        {**claims, "iss": "https://evil.test"},
        {**claims, "exp": int(time.time()) - 10},
    ):
        token = jwt.encode(wrong_claims, IDP_SECRET, algorithm="HS256")
        denied = await stack.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert denied.status_code == 401
    # the IdP token opens a socket too
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        stack.url,
        auth={"token": idp_token},
        namespaces=["/call"],
        transports=["websocket"],
        wait_timeout=5,
    )
    await client.disconnect()


async def test_history_pagination_newest_first_only_mine(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    ids = []
    async with stack.clients(p["alice"], p["bob"], p["carol"]) as (a, _b, c):
        for _ in range(5):
            call = await a.invite(p["bob"])
            assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
            ids.append(call["id"])
        other = await c.invite(p["bob"])
        assert (await c.call("cancel", {"call_id": other["id"]}))["ok"]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "/api/calls?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await stack.http.get(query, headers=p["alice"].auth)).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        assert all(item["direction"] == "outgoing" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    bobs = (await stack.http.get("/api/calls?limit=50", headers=p["bob"].auth)).json()
    assert [i["id"] for i in bobs["items"]] == [other["id"], *reversed(ids)]
    bad = await stack.http.get("/api/calls?cursor=%%%", headers=p["alice"].auth)
    assert bad.status_code == 422
    contacts_page = (await stack.http.get("/api/contacts?limit=1", headers=p["alice"].auth)).json()
    assert len(contacts_page["items"]) == 1
    rest = (
        await stack.http.get(
            f"/api/contacts?limit=1&cursor={contacts_page['next_cursor']}", headers=p["alice"].auth
        )
    ).json()
    assert [x["email"] for x in contacts_page["items"] + rest["items"]] == [
        p["bob"].email,
        p["carol"].email,
    ]
    found = (await stack.http.get("/api/contacts?q=CAROL", headers=p["alice"].auth)).json()
    assert [x["email"] for x in found["items"]] == [p["carol"].email]


async def test_webhooks_verified_and_participant_left_starts_a_rejoin_grace(
    stack: Stack,
) -> None:
    p = await stack.tenant("alice", "bob")
    async with stack.clients(p["alice"], p["bob"]) as (a, b):
        call, ack, _ = await answer(stack, a, b)
        room, bob_identity = ack["room_name"], f"{p['bob'].id}:x"
        body = webhook_body("participant_left", room, bob_identity)
        forged = await stack.http.post(
            "/api/livekit/webhook",
            content=body,
            headers={**signed_webhook(stack, body.replace("participant_left", "room_finished"))},
        )
        assert forged.status_code == 401
        unsigned = await stack.http.post(
            "/api/livekit/webhook", content=body, headers={"Authorization": "Bearer nonsense"}
        )
        assert unsigned.status_code == 401
        assert await grace_of(stack, call["id"]) == (None, None)

        await post_webhook(stack, "participant_left", room, bob_identity)
        caller_grace, callee_grace = await grace_of(stack, call["id"])
        assert caller_grace is None
        assert callee_grace is not None  # bob has 20 s to come back
        assert (await stack.get_call(p["alice"], call["id"]))["status"] == "IN_PROGRESS"
        # any device of bob's coming back ends the grace; a stranger's join does not
        await post_webhook(stack, "participant_joined", room, f"{uuid.uuid4().hex}:y")
        assert (await grace_of(stack, call["id"]))[1] is not None
        await post_webhook(stack, "participant_joined", room, f"{p['bob'].id}:phone")
        assert await grace_of(stack, call["id"]) == (None, None)
        token = await stack.http.post(f"/api/calls/{call['id']}/token", headers=p["bob"].auth)
        assert token.status_code == 200, token.text
        assert a.pending("ended") == b.pending("ended") == 0

        # the room finishing still ends the call at once
        await post_webhook(stack, "room_finished", room, None)
        for r in (a, b):
            ended = await r.next_matching("ended", call_id=call["id"])
            assert (ended["status"], ended["reason"]) == ("COMPLETED", "room_finished")
    events = await call_events(stack, call["id"])
    assert [(e[0], e[2]) for e in events] == [
        ("invite", "RINGING"),
        ("accept", "IN_PROGRESS"),
        ("participant_left", "IN_PROGRESS"),
        ("participant_joined", "IN_PROGRESS"),
        ("room_finished", "COMPLETED"),
    ]


async def test_health_and_readiness(stack: Stack) -> None:
    assert (await stack.http.get("/healthz")).json() == {"status": "ok"}
    assert (await stack.http.get("/readyz")).status_code == 200
    assert (await stack.http.get("/openapi.json")).status_code == 200
