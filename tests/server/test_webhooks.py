"""Call-event webhooks end to end: real call servers (SQLite and PostgreSQL), real Socket.IO
clients and a real receiver on loopback that verifies every signature with the
``standardwebhooks`` package. Every event of a call arrives, in order; the admin API sets
endpoints, lists deliveries and re-sends one; kill -9 of the server right after a call ends
loses no ``call.ended``; two nodes deliver each event once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import BACKENDS, database_url, start_stack
from tests.server.harness import Stack
from tests.server.test_admin_users import make_admin
from tests.support.servers import CallServer, free_port
from tests.support.webhook_receiver import Hit, WebhookReceiver

ENV = {
    "VOIP_WEBHOOK_ALLOW_PRIVATE": "true",
    "VOIP_WEBHOOK_TIMEOUT_S": "1",
    "VOIP_WEBHOOK_POLL_S": "0.2",
}
ALL_EVENTS = ["call.ringing", "call.answered", "call.ended", "call.note"]


@pytest.fixture(scope="module", params=BACKENDS)
def stack_process(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """This module's server (in place of conftest's, under the ``stack`` fixture)."""
    workdir = tmp_path_factory.mktemp(f"hooks-{request.param}")
    yield from start_stack(workdir, database=database_url(request, request.param), env=ENV)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(wall_clock=True) as made:
        yield made


async def add_endpoint(
    stack: Stack, admin: Any, receiver: WebhookReceiver, events: list[str] | None = None
) -> dict[str, Any]:
    response = await stack.http.post(
        "/api/admin/webhooks",
        headers=admin.auth,
        json={"url": receiver.url, "event_types": events or ALL_EVENTS},
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    receiver.secret = made["secret"]
    return made


async def until(check: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def of_call(hits: list[Hit], call_id: str) -> list[tuple[str, int]]:
    return [(h.event_type, h.answered) for h in hits if h.call["id"] == call_id]


async def test_every_event_of_a_call_arrives_signed_and_in_order(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    people = await stack.tenant("alice", "bob")
    alice, bob = people["alice"], people["bob"]
    make_admin(stack, alice)
    await add_endpoint(stack, alice, receiver)
    receiver.answer_next(500)  # the ringing fails once: the rest of the call waits for it
    async with stack.clients(alice, bob) as (a, b):
        call = await a.invite(bob)
        await b.next("incoming")
        assert (await b.call("accept", {"call_id": call["id"]}))["ok"]
        await a.next_matching("accepted", call_id=call["id"])
        assert await a.call("hangup", {"call_id": call["id"]}) == {"ok": True}
        await b.next_matching("ended", call_id=call["id"])
    await until(lambda: len(receiver.delivered()) == 3)
    assert of_call(receiver.hits, call["id"]) == [
        ("call.ringing", 500),
        ("call.ringing", 200),
        ("call.answered", 200),
        ("call.ended", 200),
    ]
    assert all(h.signed for h in receiver.hits)
    ended = receiver.hits[-1].call
    assert (ended["status"], ended["reason"]) == ("COMPLETED", "hangup")
    assert ended["caller_id"] == alice.id
    assert ended["duration_s"] is not None
    assert ended["ended_at"] is not None
    assert len({h.event_id for h in receiver.delivered()}) == 3


async def test_admin_sets_endpoints_lists_deliveries_and_resends(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    people = await stack.tenant("alice", "bob")
    other = await stack.tenant("eve")
    alice, bob, eve = people["alice"], people["bob"], other["eve"]
    assert (await stack.http.get("/api/admin/webhooks", headers=bob.auth)).status_code == 403
    make_admin(stack, alice)
    make_admin(stack, eve)
    bad = await stack.http.post(
        "/api/admin/webhooks",
        headers=alice.auth,
        json={"url": "ftp://crm.test/x", "event_types": ["call.ended"]},
    )
    assert bad.status_code == 422
    unknown = await stack.http.post(
        "/api/admin/webhooks",
        headers=alice.auth,
        json={"url": receiver.url, "event_types": ["call.exploded"]},
    )
    assert unknown.status_code == 422
    made = await add_endpoint(stack, alice, receiver, ["call.ended"])
    assert made["secret"].startswith("whsec_")
    listed = (await stack.http.get("/api/admin/webhooks", headers=alice.auth)).json()
    assert [e["id"] for e in listed] == [made["id"]]
    assert "secret" not in listed[0]
    assert (await stack.http.get("/api/admin/webhooks", headers=eve.auth)).json() == []
    hidden = await stack.http.patch(
        f"/api/admin/webhooks/{made['id']}", headers=eve.auth, json={"enabled": False}
    )
    assert hidden.status_code == 404

    async with stack.clients(alice) as (a,):
        call = await a.invite(bob)  # bob is offline: MISSED at once, only call.ended wanted
    await until(lambda: len(receiver.delivered()) == 1)
    pages = (await stack.http.get("/api/admin/webhooks/deliveries", headers=alice.auth)).json()
    (delivery,) = pages["items"]
    assert (delivery["event_type"], delivery["call_id"]) == ("call.ended", call["id"])
    assert (delivery["state"], delivery["response_code"], delivery["attempts"]) == (
        "delivered",
        200,
        1,
    )
    eves = (await stack.http.get("/api/admin/webhooks/deliveries", headers=eve.auth)).json()
    assert eves["items"] == []
    stolen = await stack.http.post(
        f"/api/admin/webhooks/deliveries/{delivery['id']}/resend", headers=eve.auth
    )
    assert stolen.status_code == 404
    again = await stack.http.post(
        f"/api/admin/webhooks/deliveries/{delivery['id']}/resend", headers=alice.auth
    )
    assert again.status_code == 201, again.text
    await until(lambda: len(receiver.delivered()) == 2)
    first, second = receiver.delivered()
    assert first.event_id == second.event_id == delivery["event_id"]
    assert second.signed
    off = await stack.http.patch(
        f"/api/admin/webhooks/{made['id']}", headers=alice.auth, json={"enabled": False}
    )
    assert off.json()["enabled"] is False
    async with stack.clients(alice) as (a,):
        await a.invite(bob)
    gone = await stack.http.delete(f"/api/admin/webhooks/{made['id']}", headers=alice.auth)
    assert gone.status_code == 204
    assert len(receiver.hits) == 2


def test_kill_9_right_after_a_call_ends_still_delivers_call_ended(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    stack = Stack(CallServer.start(tmp_path, env=ENV), None)

    async def scenario() -> str:
        people = await stack.tenant("alice", "bob")
        alice, bob = people["alice"], people["bob"]
        make_admin(stack, alice)
        await add_endpoint(stack, alice, receiver)
        async with stack.clients(alice, bob) as (a, b):
            call = await a.invite(bob)
            await b.next("incoming")
            await until(lambda: len(receiver.delivered()) == 1)
            receiver.hold()  # the server's attempt at call.ended hangs...
            assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
            await until(lambda: "call.ended" in [t for t, _ in receiver.arrivals])
        await stack.aclose()
        call_id: str = call["id"]
        return call_id

    try:
        call_id = asyncio.run(scenario())
        stack.server.kill()  # ...and the server dies in the middle of it
        receiver.release()
        stack.server.launch()

        async def delivered_after_restart() -> None:
            await until(lambda: ("call.ended", 200) in of_call(receiver.hits, call_id))

        asyncio.run(delivered_after_restart())
    finally:
        stack.server.stop()
    ended = [h for h in receiver.hits if h.event_type == "call.ended"]
    assert [h.answered for h in ended] == [0, 200]
    assert ended[0].event_id == ended[1].event_id
    assert ended[1].signed
    assert ended[1].call["status"] == "CANCELED"


def test_two_nodes_deliver_each_event_once(tmp_path: Path, receiver: WebhookReceiver) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    env = {**ENV, "VOIP_WEBHOOK_POLL_S": "0.05", "VOIP_JWT_SECRET": "two-nodes-" + "0" * 40}
    with (
        CallServer.start(tmp_path, env=env, database_url=database, port=free_port()) as one,
        CallServer.start(tmp_path, env=env, database_url=database, port=free_port()) as two,
    ):
        asyncio.run(_calls_on_both(Stack(one, None), Stack(two, None), receiver))
    ids = Counter(h.event_id for h in receiver.hits)
    assert len(ids) == 12  # 6 calls x (ringing, ended)
    assert set(ids.values()) == {1}
    assert all(h.answered == 200 for h in receiver.hits)
    assert all(h.signed for h in receiver.hits)


async def _calls_on_both(one: Stack, two: Stack, receiver: WebhookReceiver) -> None:
    people = await one.tenant("alice", "bob", "carol", "dan")
    make_admin(one, people["alice"])
    await add_endpoint(one, people["alice"], receiver)
    async with (
        one.clients(people["alice"], people["bob"]) as (a, b),
        two.clients(people["carol"], people["dan"]) as (c, d),
    ):
        for _ in range(3):
            for caller, callee in ((a, b), (c, d)):
                call = await caller.call(
                    "invite", {"callee_id": callee.person.id, "request_id": uuid.uuid4().hex}
                )
                await callee.next("incoming")
                assert (await caller.call("cancel", {"call_id": call["call"]["id"]}))["ok"]
                await callee.next_matching("ended", call_id=call["call"]["id"])
    await until(lambda: len(receiver.hits) >= 12)
    await asyncio.sleep(1.0)  # time for a second delivery of anything, if there were one
    await one.aclose()
    await two.aclose()
