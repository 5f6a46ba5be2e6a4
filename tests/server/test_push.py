"""Push end to end: a real server process (SQLite and PostgreSQL) with devsfu, real Socket.IO
clients, and the real HTTP fake of FCM v1 and its OAuth endpoint, asserting what FCM received
and when: both of bob's devices within a second of the invite, with nothing secret; a cancel for
every way a call stops ringing; a dead, rotated or removed token never pushed again; the
registration's rules; the decline capability."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.conftest import BACKENDS, database_url, start_stack
from tests.server.harness import Person, Stack
from tests.support.fake_fcm import Answer, FakeFcm, Received, fcm_error
from voip_app.api import ApiClient
from voip_app.errors import RequestRefused
from voip_contract import ErrorCode

RING_S = 3.0


@pytest.fixture(scope="module", params=BACKENDS)
def stack_process(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_fcm: FakeFcm,
) -> Iterator[Stack]:
    """This module's server (in place of conftest's, under the ``stack`` fixture)."""
    workdir = tmp_path_factory.mktemp(f"push-{request.param}")
    credentials = fake_fcm.write_service_account(workdir / "service-account.json")
    env = {
        **fake_fcm.env(credentials),
        "VOIP_RING_TIMEOUT_S": str(RING_S),
        "VOIP_SWEEP_INTERVAL_S": "0.2",
        "VOIP_INVITE_LIMIT_PER_MIN": "30",
    }
    yield from start_stack(workdir, database=database_url(request, request.param), env=env)


async def register(stack: Stack, person: Person, device: str, token: str) -> None:
    body = {"provider": "fcm", "token": token}
    response = await stack.http.put(f"/api/devices/{device}/push", json=body, headers=person.auth)
    assert response.status_code == 204, response.text


async def unregister(stack: Stack, person: Person, device: str) -> None:
    response = await stack.http.delete(f"/api/devices/{device}/push", headers=person.auth)
    assert response.status_code == 204, response.text


async def presence_of(stack: Stack, viewer: Person, person: Person) -> str:
    response = await stack.http.get("/api/contacts", headers=viewer.auth)
    found = [c["presence"] for c in response.json()["items"] if c["id"] == person.id]
    return str(found[0])


def tokens_of(received: list[Received]) -> list[str]:
    return sorted(r.token for r in received)


async def test_a_callee_with_push_devices_only_rings_on_both_within_a_second(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob")
    alice, bob = p["alice"], p["bob"]
    phone, tablet = f"{bob.id}-phone", f"{bob.id}-tablet"
    assert await presence_of(stack, alice, bob) == "offline"
    await register(stack, bob, "phone", phone)
    await register(stack, bob, "tablet", tablet)
    assert await presence_of(stack, alice, bob) == "online"  # reachable: a call would ring
    async with stack.clients(alice) as (a,):
        invited_at = time.monotonic()
        call = await a.invite(bob)
        assert (call["status"], call["reason"]) == ("RINGING", None)
        incoming = await fake_fcm.until(call["id"], "incoming", 2)
        assert tokens_of(incoming) == [phone, tablet]
        assert all(r.at - invited_at < 1.0 for r in incoming), [r.at - invited_at for r in incoming]
        for r in incoming:
            assert_incoming_message(r, call, alice)
            assert_nothing_secret(r, stack, alice, bob)
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        cancels = await fake_fcm.until(call["id"], "cancel", 2)
    assert tokens_of(cancels) == [phone, tablet]
    assert {r.data["status"] for r in cancels} == {"CANCELED"}
    assert all(r.android["collapse_key"] == call["id"] for r in cancels)


def assert_incoming_message(r: Received, call: dict[str, Any], caller: Person) -> None:
    expires = call["created_at"]  # the ring deadline: RING_S after the call was made
    data = r.data
    assert set(data) == {
        "type",
        "call_id",
        "caller_id",
        "caller_name",
        "ring_expires_at",
        "decline_capability",
        "context_label",
    }
    assert (data["type"], data["call_id"]) == ("incoming", call["id"])
    assert data["context_label"] == ""  # called from no CRM record
    assert (data["caller_id"], data["caller_name"]) == (caller.id, caller.display_name)
    assert data["ring_expires_at"] > expires
    assert r.android["priority"] == "HIGH"
    assert r.android["collapse_key"] == call["id"]
    ttl = float(r.android["ttl"].removesuffix("s"))
    assert 1 <= ttl <= RING_S
    assert r.authorization.startswith("Bearer ya29.fake-")  # the OAuth token, to FCM only
    assert "notification" not in r.message  # data only: the app's native side shows it


def assert_nothing_secret(r: Received, stack: Stack, *people: Person) -> None:
    text = json.dumps(r.message)
    secrets = [p.token for p in people] + [stack.server.env["VOIP_JWT_SECRET"]]
    assert not [s for s in secrets if s in text]
    assert not {"token", "access_token", "livekit_url", "room_name"} & set(r.data)


async def test_the_decline_capability_is_no_access_token(stack: Stack, fake_fcm: FakeFcm) -> None:
    p = await stack.tenant("alice", "bob")
    await register(stack, p["bob"], "phone", f"{p['bob'].id}-phone")
    async with stack.clients(p["alice"]) as (a,):
        call = await a.invite(p["bob"])
        (incoming,) = await fake_fcm.until(call["id"], "incoming", 1)
        capability = incoming.data["decline_capability"]
        as_bearer = {"Authorization": f"Bearer {capability}"}
        assert (await stack.http.get("/api/me", headers=as_bearer)).status_code == 401
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]


async def test_every_way_a_call_stops_ringing_sends_a_cancel(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob")
    alice, bob = p["alice"], p["bob"]
    await register(stack, bob, "phone", f"{bob.id}-phone")
    await register(stack, bob, "tablet", f"{bob.id}-tablet")
    async with stack.clients(alice, (bob, "phone")) as (a, b):
        answered = await a.invite(bob)
        await b.next("incoming")
        await fake_fcm.until(answered["id"], "incoming", 2)
        assert (await b.call("accept", {"call_id": answered["id"]}))["ok"]
        cancels = await fake_fcm.until(answered["id"], "cancel", 2)
        assert {r.data["status"] for r in cancels} == {"IN_PROGRESS"}  # answered (elsewhere)
        assert (await b.call("hangup", {"call_id": answered["id"]}))["ok"]
        await a.next_matching("ended", call_id=answered["id"])

        declined = await a.invite(bob)
        await b.next_matching("incoming")
        await fake_fcm.until(declined["id"], "incoming", 2)
        assert (await b.call("decline", {"call_id": declined["id"]}))["ok"]
        cancels = await fake_fcm.until(declined["id"], "cancel", 2)
        assert {r.data["status"] for r in cancels} == {"DECLINED"}

        missed = await a.invite(bob)
        await fake_fcm.until(missed["id"], "incoming", 2)
        ended = await a.next_matching("ended", call_id=missed["id"])
        assert (ended["status"], ended["reason"]) == ("MISSED", "ring_timeout")
        cancels = await fake_fcm.until(missed["id"], "cancel", 2)
        assert {r.data["status"] for r in cancels} == {"MISSED"}


async def test_a_decline_from_the_notification_uses_the_capability_for_that_call_only(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    alice, bob = p["alice"], p["bob"]
    await register(stack, bob, "phone", f"{bob.id}-phone")
    async with stack.clients(alice, p["carol"]) as (a, c):
        call = await a.invite(bob)
        other = await c.invite(alice)  # another call (carol's, which finds alice busy)
        (incoming,) = await fake_fcm.until(call["id"], "incoming", 1)
        capability = incoming.data["decline_capability"]
        altered = capability[:-2] + ("AA" if not capability.endswith("AA") else "BB")
        for call_id, cap, status, code in [
            (other["id"], capability, 403, "forbidden"),  # scoped to the other call
            (call["id"], altered, 401, "unauthorized"),
            (call["id"], "", 422, "invalid_payload"),
        ]:
            refused = await decline_with(stack, call_id, cap)
            assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
        assert (await decline_with(stack, call["id"], capability)).status_code == 204
        ended = await a.next_matching("ended", call_id=call["id"])
        assert (ended["status"], ended["reason"]) == ("DECLINED", "declined")
        again = await decline_with(stack, call["id"], capability)
        assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_state")
        history = await stack.get_call(bob, call["id"])
        assert history["status"] == "DECLINED"
        cancels = await fake_fcm.until(call["id"], "cancel", 1)
        assert cancels[0].data["status"] == "DECLINED"


async def decline_with(stack: Stack, call_id: str, capability: str) -> Any:
    body = {"capability": capability}
    return await stack.http.post(f"/api/calls/{call_id}/push-decline", json=body)


async def test_an_expired_capability_is_refused(stack: Stack, fake_fcm: FakeFcm) -> None:
    p = await stack.tenant("alice", "bob")
    await register(stack, p["bob"], "phone", f"{p['bob'].id}-phone")
    async with stack.clients(p["alice"]) as (a,):
        call = await a.invite(p["bob"])
        (incoming,) = await fake_fcm.until(call["id"], "incoming", 1)
        await a.next_matching("ended", call_id=call["id"])  # the ring timed out
    refused = await decline_with(stack, call["id"], incoming.data["decline_capability"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")


async def test_a_token_fcm_forgot_is_pruned_and_never_pushed_again(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob")
    alice, bob = p["alice"], p["bob"]
    phone, tablet = f"{bob.id}-phone", f"{bob.id}-tablet"
    await register(stack, bob, "phone", phone)
    await register(stack, bob, "tablet", tablet)
    fake_fcm.forget_token(tablet)  # the app was uninstalled from the tablet
    async with stack.clients(alice) as (a,):
        first = await a.invite(bob)
        await fake_fcm.until(first["id"], "incoming", 1)
        assert (await a.call("cancel", {"call_id": first["id"]}))["ok"]
        await fake_fcm.until(first["id"], "cancel", 1)
        refused = [r for r in fake_fcm.received if r.data.get("call_id") == first["id"]]
        assert [(r.token, r.status) for r in refused if r.status != 200] == [(tablet, 404)]
        second = await a.invite(bob)
        assert tokens_of(await fake_fcm.until(second["id"], "incoming", 1)) == [phone]
        assert (await a.call("cancel", {"call_id": second["id"]}))["ok"]
        await fake_fcm.until(second["id"], "cancel", 1)
    assert not [
        r for r in fake_fcm.received if r.data.get("call_id") == second["id"] and r.token == tablet
    ]


async def test_a_rotated_or_removed_token_is_never_pushed_again(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob")
    alice, bob = p["alice"], p["bob"]
    old, new = f"{bob.id}-old", f"{bob.id}-new"
    await register(stack, bob, "phone", old)
    await register(stack, bob, "phone", new)  # the token rotated: it replaces the old one
    async with stack.clients(alice) as (a,):
        call = await a.invite(bob)
        assert tokens_of(await fake_fcm.until(call["id"], "incoming", 1)) == [new]
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        await fake_fcm.until(call["id"], "cancel", 1)
        await unregister(stack, bob, "phone")  # signed out
        assert await presence_of(stack, alice, bob) == "offline"
        gone = await a.invite(bob)
        assert (gone["status"], gone["reason"]) == ("MISSED", "callee_offline")
    assert not [r for r in fake_fcm.received if r.token == old]
    assert not fake_fcm.delivered(gone["id"])


async def test_a_token_registered_by_another_user_leaves_the_first(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    shared = f"{p['bob'].id}-handed-over"
    await register(stack, p["bob"], "phone", shared)
    await register(stack, p["carol"], "phone", shared)  # the phone went to carol
    async with stack.clients(p["alice"]) as (a,):
        to_bob = await a.invite(p["bob"])
        assert (to_bob["status"], to_bob["reason"]) == ("MISSED", "callee_offline")
        to_carol = await a.invite(p["carol"])
        (incoming,) = await fake_fcm.until(to_carol["id"], "incoming", 1)
        assert incoming.token == shared
        assert (await a.call("cancel", {"call_id": to_carol["id"]}))["ok"]


@pytest.mark.parametrize(
    ("device", "body", "status", "code"),
    [
        ("phone", {"provider": "apns", "token": "t"}, 422, "invalid_payload"),
        ("phone", {"provider": "fcm"}, 422, "invalid_payload"),
        ("phone", {"provider": "fcm", "token": ""}, 422, "invalid_payload"),
        ("phone", {"provider": "fcm", "token": "a b"}, 422, "invalid_payload"),
        ("phone", {"provider": "fcm", "token": "t" * 1025}, 422, "invalid_payload"),
        ("phone", {"provider": "fcm", "token": "t", "user_id": "x"}, 422, "invalid_payload"),
        ("d" * 65, {"provider": "fcm", "token": "t"}, 422, "invalid_payload"),
    ],
)
async def test_a_bad_registration_is_refused_and_changes_nothing(
    stack: Stack, device: str, body: dict[str, Any], status: int, code: str
) -> None:
    p = await stack.tenant("alice", "bob")
    response = await stack.http.put(f"/api/devices/{device}/push", json=body, headers=p["bob"].auth)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert await presence_of(stack, p["alice"], p["bob"]) == "offline"


async def test_registration_needs_a_signed_in_user(stack: Stack) -> None:
    body = {"provider": "fcm", "token": "t"}
    assert (await stack.http.put("/api/devices/phone/push", json=body)).status_code == 401
    assert (await stack.http.delete("/api/devices/phone/push")).status_code == 401


async def test_fcm_503_then_200_delivers_late_and_sockets_ring_at_once(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob")
    alice, bob = p["alice"], p["bob"]
    await register(stack, bob, "phone", f"{bob.id}-phone")
    later = Answer(503, fcm_error(503, "UNAVAILABLE", "busy"), {"Retry-After": "1"})
    fake_fcm.answer_next(later)
    async with stack.clients(alice, (bob, "laptop")) as (a, laptop):
        invited_at = time.monotonic()
        call = await a.invite(bob)
        assert (await laptop.next("incoming"))["call"]["id"] == call["id"]
        (incoming,) = await fake_fcm.until(call["id"], "incoming", 1)
        assert incoming.at - invited_at >= 1.0  # after Retry-After
        tries = [r for r in fake_fcm.received if r.data.get("call_id") == call["id"]]
        assert [r.status for r in tries] == [503, 200]
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        await fake_fcm.until(call["id"], "cancel", 1)


async def test_the_apps_client_registers_and_removes_its_token(
    stack: Stack, fake_fcm: FakeFcm
) -> None:
    p = await stack.tenant("alice", "bob")
    async with ApiClient(stack.url) as api:
        api.use_token(p["bob"].token)
        await api.register_push("phone", f"{p['bob'].id}-app")
        async with stack.clients(p["alice"]) as (a,):
            call = await a.invite(p["bob"])
            (incoming,) = await fake_fcm.until(call["id"], "incoming", 1)
            assert incoming.token == f"{p['bob'].id}-app"
            assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
            await api.unregister_push("phone")
            gone = await a.invite(p["bob"])
            assert (gone["status"], gone["reason"]) == ("MISSED", "callee_offline")
        with pytest.raises(RequestRefused) as bad:
            await api.register_push("phone", "with space")
        assert bad.value.code is ErrorCode.INVALID_PAYLOAD
