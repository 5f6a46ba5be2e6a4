"""``/api/admin/users`` and ``voip-server user`` against a real server (SQLite and PostgreSQL):
only a tenant's admins, only its own users, disabling cuts access at once, deleted users keep
their name in the calls log, and a tenant always keeps an admin."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.server.harness import PASSWORD, Person, Stack


def cli_user(stack: Stack, *args: str) -> dict[str, Any]:
    """``voip-server user ARGS``: the user it printed (its log lines go by)."""
    out = stack.server.cli("user", *args)
    found: dict[str, Any] = json.loads(next(x for x in out.splitlines() if x.startswith('{"id"')))
    return found


def make_admin(stack: Stack, person: Person) -> None:
    assert cli_user(stack, "role", person.email, "admin")["role"] == "admin"


async def login(stack: Stack, email: str, password: str = PASSWORD) -> httpx.Response:
    return await stack.http.post("/api/auth/login", json={"email": email, "password": password})


async def users(stack: Stack, admin: Person, **params: Any) -> dict[str, Any]:
    response = await stack.http.get("/api/admin/users", headers=admin.auth, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_admin_lists_creates_and_updates_only_its_own_users(stack: Stack) -> None:
    acme = await stack.tenant("alice", "bob", "carol", with_password=True)
    other = await stack.tenant("eve")
    alice, bob, eve = acme["alice"], acme["bob"], other["eve"]
    member = await stack.http.get("/api/admin/users", headers=bob.auth)
    assert member.status_code == 403
    assert member.json()["error"]["code"] == "forbidden"
    make_admin(stack, alice)

    first = await users(stack, alice, limit=2)
    second = await users(stack, alice, limit=2, cursor=first["next_cursor"])
    assert [u["email"] for u in first["items"] + second["items"]] == sorted(
        p.email for p in acme.values()
    )
    assert second["next_cursor"] is None
    assert [u["id"] for u in (await users(stack, alice, q="BOB"))["items"]] == [bob.id]

    slug = alice.email.split("@")[1]
    created = await stack.http.post(
        "/api/admin/users",
        headers=alice.auth,
        json={"email": f"Dan@{slug}", "display_name": "Dan D", "password": "dan-password"},
    )
    assert created.status_code == 201, created.text
    dan = created.json()
    assert (dan["role"], dan["disabled"], dan["email"]) == ("member", False, f"dan@{slug}")
    assert (await login(stack, f"dan@{slug}", "dan-password")).status_code == 200
    again = await stack.http.post(
        "/api/admin/users", headers=alice.auth, json={"email": f"dan@{slug}", "display_name": "X"}
    )
    assert again.status_code == 409
    bad = await stack.http.post(
        "/api/admin/users", headers=alice.auth, json={"email": "nope", "display_name": ""}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_payload"

    renamed = await stack.http.patch(
        f"/api/admin/users/{dan['id']}",
        headers=alice.auth,
        json={"display_name": "Dan Dawson", "role": "admin"},
    )
    assert renamed.json()["display_name"] == "Dan Dawson"
    assert renamed.json()["role"] == "admin"
    # Another tenant's user is not there at all, for every operation.
    for method, path in [
        ("PATCH", f"/api/admin/users/{eve.id}"),
        ("POST", f"/api/admin/users/{eve.id}/disable"),
        ("DELETE", f"/api/admin/users/{eve.id}"),
    ]:
        body = {"display_name": "pwned"} if method == "PATCH" else None
        response = await stack.http.request(method, path, headers=alice.auth, json=body)
        assert response.status_code == 404, (method, response.text)
    assert eve.id not in [u["id"] for u in (await users(stack, alice, limit=200))["items"]]
    assert (await stack.http.get("/api/me", headers=eve.auth)).json()["display_name"] != "pwned"


async def test_disabling_cuts_access_and_enabling_restores_it(stack: Stack) -> None:
    acme = await stack.tenant("alice", "bob", with_password=True)
    alice, bob = acme["alice"], acme["bob"]
    make_admin(stack, alice)
    off = await stack.http.post(f"/api/admin/users/{bob.id}/disable", headers=alice.auth)
    assert off.status_code == 200
    assert off.json()["disabled"] is True
    me = await stack.http.get("/api/me", headers=bob.auth)
    assert me.status_code == 401
    assert "disabled" in me.json()["error"]["message"]
    assert (await login(stack, bob.email)).status_code == 401
    assert (await stack.http.post("/api/auth/refresh", headers=bob.auth)).status_code == 401
    on = await stack.http.post(f"/api/admin/users/{bob.id}/enable", headers=alice.auth)
    assert on.json()["disabled"] is False
    assert (await stack.http.get("/api/me", headers=bob.auth)).status_code == 200
    assert (await login(stack, bob.email)).status_code == 200


async def test_deleted_user_keeps_its_name_in_the_calls_log(stack: Stack) -> None:
    acme = await stack.tenant("alice", "carol")
    alice, carol = acme["alice"], acme["carol"]
    make_admin(stack, alice)
    async with stack.clients(alice, carol) as (a, _c):
        call = await a.invite(carol)
        assert (await a.call("cancel", {"call_id": call["id"]}))["ok"]
        await a.next_matching("ended", call_id=call["id"])
    gone = await stack.http.delete(f"/api/admin/users/{carol.id}", headers=alice.auth)
    assert gone.status_code == 204, gone.text
    assert (await stack.http.get("/api/me", headers=carol.auth)).status_code == 401
    assert carol.id not in [u["id"] for u in (await users(stack, alice))["items"]]
    contacts = (await stack.http.get("/api/contacts", headers=alice.auth)).json()["items"]
    assert carol.id not in [c["id"] for c in contacts]
    history = (await stack.http.get("/api/calls", headers=alice.auth)).json()["items"]
    assert history[0]["callee"] == {"id": carol.id, "display_name": carol.display_name}
    # Her email is free for a new account.
    again = await stack.http.post(
        "/api/admin/users", headers=alice.auth, json={"email": carol.email, "display_name": "C2"}
    )
    assert again.status_code == 201, again.text


async def test_the_last_admin_stays(stack: Stack) -> None:
    acme = await stack.tenant("alice", "bob")
    alice, bob = acme["alice"], acme["bob"]
    make_admin(stack, alice)
    for method, path, body in [
        ("PATCH", f"/api/admin/users/{alice.id}", {"role": "member"}),
        ("POST", f"/api/admin/users/{alice.id}/disable", None),
        ("DELETE", f"/api/admin/users/{alice.id}", None),
    ]:
        response = await stack.http.request(method, path, headers=alice.auth, json=body)
        assert response.status_code == 409, response.text
        assert "last admin" in response.json()["error"]["message"]
    with pytest.raises(RuntimeError, match="last admin"):
        stack.server.cli("user", "disable", alice.email)
    make_admin(stack, bob)
    demoted = await stack.http.patch(
        f"/api/admin/users/{alice.id}", headers=bob.auth, json={"role": "member"}
    )
    assert demoted.json()["role"] == "member"
    assert (await stack.http.get("/api/admin/users", headers=alice.auth)).status_code == 403
    me = (await stack.http.get("/api/me", headers=alice.auth)).json()
    assert me["role"] == "member"
    assert (await stack.http.get("/api/me", headers=bob.auth)).json()["role"] == "admin"


async def test_cli_adds_disables_and_enables(stack: Stack) -> None:
    slug = "cli-" + (await stack.tenant("x"))["x"].email.split("@")[1].split(".")[0]
    email = f"first@{slug}.test"
    added = cli_user(stack, "add", email, "First Admin", "--tenant", slug, "--role", "admin")
    assert (added["role"], added["disabled"]) == ("admin", False)
    stack.server.cli("user", "add", f"second@{slug}.test", "Second", "--tenant", slug)
    assert cli_user(stack, "disable", f"second@{slug}.test")["disabled"] is True
    assert cli_user(stack, "enable", f"second@{slug}.test")["disabled"] is False
