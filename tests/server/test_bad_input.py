"""Bad input is refused as ``invalid_payload`` before it reaches the database, never a 500 (a
stack trace, SQL in the log, a dropped socket): a history cursor without a time zone, NUL
characters in the sign-in email, the contact search, call ids and the invite, on SQLite and
PostgreSQL (which refuses NUL in any string)."""

from __future__ import annotations

import uuid

from server.api.cursors import encode_cursor
from tests.server.harness import Stack

NUL = "\x00"


async def test_bad_http_input_is_invalid_payload(stack: Stack) -> None:
    alice = (await stack.tenant("alice", with_password=True))["alice"]
    naive = encode_cursor("2026-01-01T10:00:00", uuid.uuid4().hex)
    nul_id = encode_cursor("2026-01-01T10:00:00+00:00", f"ab{NUL}cd")
    requests = [
        ("GET", f"/api/calls?cursor={naive}", None),
        ("GET", f"/api/calls?cursor={nul_id}", None),
        ("GET", "/api/contacts?q=a%00b", None),
        ("GET", "/api/calls/ab%00cd", None),
        ("POST", "/api/calls/ab%00cd/token", None),
        ("PUT", "/api/devices/ph%00ne/push", {"provider": "fcm", "token": "t"}),
        ("POST", "/api/auth/login", {"email": f"alice{NUL}@x.test", "password": "p"}),
        ("POST", "/api/auth/login", {"email": alice.email, "password": f"p{NUL}"}),
    ]
    for method, path, body in requests:
        response = await stack.http.request(method, path, json=body, headers=alice.auth)
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "invalid_payload", path
    assert "request failed" not in stack.server.log()
    # Nothing changed: alice still signs in (no failure was counted).
    assert (await stack.http.get("/api/contacts?q=al", headers=alice.auth)).status_code == 200


async def test_bad_socket_payloads_are_invalid_payload(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob")
    alice, bob = people["alice"], people["bob"]
    async with stack.clients(alice, bob) as (caller, callee):
        payloads = [
            ("invite", {"callee_id": f"{bob.id}{NUL}", "request_id": "r1"}),
            ("invite", {"callee_id": bob.id, "request_id": f"r{NUL}1"}),
            ("accept", {"call_id": f"ab{NUL}cd"}),
            ("hangup", {"call_id": f"ab{NUL}cd"}),
            ("presence_watch", {"user_ids": [f"{bob.id}{NUL}"]}),
        ]
        for event, data in payloads:
            ack = await caller.call(event, data)
            assert (ack["ok"], ack["error"]["code"]) == (False, "invalid_payload"), (event, ack)
        assert caller.sio.connected
        assert callee.pending("incoming") == 0
        call = await caller.invite(bob)
        assert (await callee.next("incoming"))["call"]["id"] == call["id"]
        assert (await caller.call("cancel", {"call_id": call["id"]}))["ok"]
    assert "handler failed" not in stack.server.log()
