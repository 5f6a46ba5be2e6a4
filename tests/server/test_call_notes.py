"""The CRM in the call, against a real server (SQLite and PostgreSQL) with real Socket.IO
clients and a real webhook receiver: an invite's ``context`` reaches the callee, history and
every webhook; a party's outcome and note on a finished call (the tenant's outcomes), and its
``call.note`` webhook; bad input changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests.server.harness import Stack
from tests.server.test_admin_users import make_admin
from tests.server.test_webhooks import add_endpoint, of_call, receiver, stack_process, until
from tests.support.webhook_receiver import WebhookReceiver

__all__ = ["receiver", "stack_process"]  # the fixtures, shared with test_webhooks
DEAL = {"object_type": "deal", "object_id": "D-1042", "label": "ACME renewal"}


async def test_context_reaches_callee_history_and_webhooks(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    people = await stack.tenant("alice", "bob")
    alice, bob = people["alice"], people["bob"]
    make_admin(stack, alice)
    await add_endpoint(stack, alice, receiver)
    async with stack.clients(alice, bob) as (a, b):
        too_long = {**DEAL, "label": "x" * 201}
        refused = await a.call(
            "invite", {"callee_id": bob.id, "request_id": "r0", "context": too_long}
        )
        assert refused["error"]["code"] == "invalid_payload"
        ack = await a.call(
            "invite", {"callee_id": bob.id, "request_id": uuid.uuid4().hex, "context": DEAL}
        )
        call = ack["call"]
        assert call["context"] == DEAL
        incoming = await b.next("incoming")
        assert incoming["call"]["context"] == DEAL
        assert incoming["call"]["caller"]["display_name"] == alice.display_name
        assert (await b.call("decline", {"call_id": call["id"]}))["ok"]
        await a.next_matching("ended", call_id=call["id"])
    history = (await stack.http.get("/api/calls", headers=bob.auth)).json()["items"]
    assert [(c["id"], c["context"]) for c in history] == [(call["id"], DEAL)]
    await until(lambda: len(receiver.delivered()) == 2)
    assert [h.call["context"] for h in receiver.delivered()] == [DEAL, DEAL]


async def test_a_party_notes_a_finished_call(stack: Stack, receiver: WebhookReceiver) -> None:
    people = await stack.tenant("alice", "bob", "carol")
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    make_admin(stack, alice)
    await add_endpoint(stack, alice, receiver, ["call.note"])
    outcomes = (await stack.http.get("/api/outcomes", headers=bob.auth)).json()["outcomes"]
    assert outcomes == ["connected", "left_voicemail", "no_answer", "follow_up"]
    async with stack.clients(alice, bob) as (a, b):
        call = await a.invite(bob)
        await b.next("incoming")
        path = f"/api/calls/{call['id']}/note"
        early = await stack.http.put(path, headers=a.person.auth, json={"outcome": "connected"})
        assert early.status_code == 409
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        await b.next_matching("ended", call_id=call["id"])

    async def put(who: Any, body: dict[str, Any]) -> Any:
        return await stack.http.put(path, headers=who.auth, json=body)

    assert (await put(carol, {"outcome": "connected"})).status_code == 404
    assert (await put(alice, {"outcome": "sold_a_boat"})).status_code == 422
    assert (await put(alice, {})).status_code == 422
    assert (await put(alice, {"text": "x" * 2001})).status_code == 422
    assert (await stack.get_call(alice, call["id"]))["note"] is None
    noted = await put(alice, {"outcome": "no_answer", "text": "try again Monday"})
    assert noted.status_code == 200, noted.text
    note = noted.json()["note"]
    assert (note["outcome"], note["text"], note["by"]) == (
        "no_answer",
        "try again Monday",
        alice.id,
    )
    seen_by_bob = await stack.get_call(bob, call["id"])
    assert seen_by_bob["note"]["text"] == "try again Monday"

    # The tenant's own outcomes (admins only).
    custom = {"outcomes": ["booked_demo", "not_interested"]}
    member = await stack.http.put("/api/admin/outcomes", headers=bob.auth, json=custom)
    assert member.status_code == 403
    set_ = await stack.http.put("/api/admin/outcomes", headers=alice.auth, json=custom)
    assert set_.json() == custom
    assert (await put(bob, {"outcome": "no_answer"})).status_code == 422
    assert (await put(bob, {"outcome": "booked_demo"})).status_code == 200
    await until(lambda: len(receiver.delivered()) == 2)
    assert of_call(receiver.hits, call["id"]) == [("call.note", 200), ("call.note", 200)]
    first, second = (h.call["note"] for h in receiver.delivered())
    assert (first["outcome"], first["text"], first["by"]) == (
        "no_answer",
        "try again Monday",
        alice.id,
    )
    assert (second["outcome"], second["by"]) == ("booked_demo", bob.id)
    assert receiver.delivered()[1].call["status"] == "CANCELED"
