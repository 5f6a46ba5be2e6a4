"""``/api/admin/calls`` and ``/api/admin/calls.csv`` against a real server (SQLite and
PostgreSQL): the tenant's calls only, the filters, paging, and the same calls as CSV (cells a
spreadsheet would run as formulas quoted)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from tests.server.harness import Person, Recorder, Stack
from tests.server.test_admin_users import make_admin

TRAP = '=HYPERLINK("http://evil.test")'


async def place(caller: Recorder, callee: Person, context: dict[str, str] | None = None) -> str:
    payload: dict[str, Any] = {"callee_id": callee.id, "request_id": uuid.uuid4().hex}
    if context:
        payload["context"] = context
    ack = await caller.call("invite", payload)
    assert ack["ok"], ack
    call_id: str = ack["call"]["id"]
    return call_id


async def admin_calls(stack: Stack, admin: Person, **params: Any) -> list[dict[str, Any]]:
    """Every page of ``/api/admin/calls`` with these filters, two calls a page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await stack.http.get("/api/admin/calls", headers=admin.auth, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


async def test_admin_calls_filters_pages_and_csv(stack: Stack) -> None:
    people = await stack.tenant("alice", "bob", "carol")
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    outsider = await stack.tenant("eve", "fay")
    make_admin(stack, alice)
    async with stack.clients(alice, bob, outsider["eve"]) as (a, b, e):
        missed = await place(a, carol)  # carol is offline
        declined = await place(a, bob, {"object_type": "deal", "object_id": "1", "label": TRAP})
        await b.next("incoming")
        assert (await b.call("decline", {"call_id": declined}))["ok"]
        canceled = await place(b, alice)
        assert (await b.call("cancel", {"call_id": canceled}))["ok"]
        await place(e, outsider["fay"])
    member = await stack.http.get("/api/admin/calls", headers=bob.auth)
    assert member.status_code == 403
    assert (await stack.http.get("/api/admin/calls.csv", headers=bob.auth)).status_code == 403

    everything = await admin_calls(stack, alice)
    assert [c["id"] for c in everything] == [canceled, declined, missed]
    assert [c["status"] for c in everything] == ["CANCELED", "DECLINED", "MISSED"]
    assert everything[2]["callee"] == {"id": carol.id, "display_name": carol.display_name}
    assert [c["id"] for c in await admin_calls(stack, alice, user=carol.id)] == [missed]
    assert [c["id"] for c in await admin_calls(stack, alice, status="DECLINED")] == [declined]
    middle = everything[1]["created_at"]
    since = await admin_calls(stack, alice, **{"from": middle})
    assert [c["id"] for c in since] == [canceled, declined]
    assert [c["id"] for c in await admin_calls(stack, alice, to=middle)] == [missed]
    naive = await stack.http.get(
        "/api/admin/calls", headers=alice.auth, params={"from": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422
    bad = await stack.http.get("/api/admin/calls", headers=alice.auth, params={"status": "X"})
    assert bad.status_code == 422

    response = await stack.http.get("/api/admin/calls.csv", headers=alice.auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [canceled, declined, missed]
    assert rows[1]["context_label"] == "'" + TRAP
    assert rows[1]["caller_name"] == alice.display_name
    assert rows[2]["status"] == "MISSED"
    only_bob = await stack.http.get(
        "/api/admin/calls.csv", headers=alice.auth, params={"user": bob.id, "status": "CANCELED"}
    )
    assert [r["id"] for r in csv.DictReader(io.StringIO(only_bob.text))] == [canceled]
