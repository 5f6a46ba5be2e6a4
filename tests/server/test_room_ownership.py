"""``/api/rooms/*`` show a tenant only the rooms of its own calls: the call table decides, not
the room name's prefix (tenant ``acme``'s prefix ``acme_`` is also the start of tenant
``acme_eu``'s room names). New slugs cannot hold the separator at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from server.auth import issue_token
from server.db.engine import make_engine, make_sessionmaker
from server.db.models import Tenant
from server.seed import UserSpec, ensure_tenant, ensure_users
from tests.server.harness import Person, Stack


async def _slug(stack: Stack, person: Person) -> str:
    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            tenant = await session.get(Tenant, person.tenant_id)
            assert tenant is not None
            return tenant.slug
    finally:
        await engine.dispose()


async def _legacy_tenant(stack: Stack, slug: str) -> dict[str, Person]:
    """A tenant whose slug holds ``_`` (made before slugs were checked), with two users."""
    settings = stack.settings()
    engine = make_engine(settings.db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            tenant = Tenant(slug=slug, name=slug)
            session.add(tenant)
            await session.flush()
            specs = [UserSpec(f"{n}@{uuid.uuid4().hex[:8]}.test", n) for n in ("eve", "finn")]
            users = await ensure_users(session, tenant, specs, uuid.uuid4().hex)
            await session.commit()
    finally:
        await engine.dispose()
    now = datetime.now(UTC)
    return {
        u.display_name: Person(
            u.id, u.tenant_id, u.email, u.display_name, issue_token(settings, u, now=now)[0]
        )
        for u in users
    }


async def test_a_tenant_never_sees_the_rooms_of_a_tenant_whose_slug_extends_its_own(
    stack: Stack,
) -> None:
    alice = (await stack.tenant("alice"))["alice"]
    other = await _legacy_tenant(stack, f"{await _slug(stack, alice)}_eu")
    async with stack.clients(other["eve"], other["finn"]) as (eve, finn):
        call = await eve.invite(other["finn"])
        await finn.next("incoming")
        ack = await finn.call("accept", {"call_id": call["id"]})
        assert ack["ok"], ack
        room = ack["room_name"]
        theirs = await stack.http.get("/api/rooms/active", headers=other["eve"].auth)
        assert [r["name"] for r in theirs.json()] == [room]

        mine = await stack.http.get("/api/rooms/active", headers=alice.auth)
        peek = await stack.http.get(f"/api/rooms/{room}/participants", headers=alice.auth)

        assert (mine.status_code, mine.json()) == (200, [])
        assert (peek.status_code, peek.json()["error"]["code"]) == (404, "not_found")
        assert (await eve.call("hangup", {"call_id": call["id"]}))["ok"]


async def test_new_slugs_cannot_hold_the_separator(stack: Stack) -> None:
    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            for bad in ("acme_eu", "ACME", "", "a" * 41, "acme eu", "-acme"):
                with pytest.raises(ValueError, match="slug"):
                    await ensure_tenant(session, bad, "Bad")
            assert (await ensure_tenant(session, "acme-eu2", "Good")).slug == "acme-eu2"
            await session.rollback()
    finally:
        await engine.dispose()
