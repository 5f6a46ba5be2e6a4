"""``presence_watch``: live presence in tenants above ``VOIP_PRESENCE_FANOUT_MAX``.

The server here runs with a fan-out limit of 2 users, so every tenant of three or more users is
a "large" tenant: its ``presence`` events reach only the sockets watching the user. Tenants of
two users still get the contract's tenant broadcast.

"Nothing arrived" is checked with a barrier, never a sleep: after the change that must not be
seen, a watched user changes, and once that event is in, an earlier one would be too (one
socket's events arrive in the order the server sent them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.server.conftest import start_stack
from tests.server.harness import Person, Recorder, Stack

FANOUT_MAX = 2


@pytest.fixture(scope="module")
def watch_stack_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """SQLite only: the watch adds one Core SELECT (the same statement shapes the call path
    runs on PostgreSQL in the other modules); rooms are Socket.IO's, not the database's."""
    env = {"VOIP_PRESENCE_FANOUT_MAX": str(FANOUT_MAX)}
    workdir = tmp_path_factory.mktemp("watch")
    yield from start_stack(workdir, database=None, env=env, with_sfu=False)


@pytest.fixture
async def stack(watch_stack_process: Stack) -> AsyncIterator[Stack]:
    fresh = Stack(watch_stack_process.server, None)
    yield fresh
    await fresh.aclose()


async def watch(r: Recorder, *people: Person | str) -> dict[str, str]:
    """Send ``presence_watch``; the ack's snapshot as ``{user_id: presence}``."""
    ids = [p if isinstance(p, str) else p.id for p in people]
    ack = await r.call("presence_watch", {"user_ids": ids})
    assert ack["ok"], ack
    snapshot = {item["user_id"]: item["presence"] for item in ack["presence"]}
    assert len(snapshot) == len(ack["presence"])
    return snapshot


def presence_of(r: Recorder, person: Person) -> list[str]:
    """Every ``presence`` value ``r`` has received about ``person``, in order."""
    return [d["presence"] for e, d in r.events if e == "presence" and d["user_id"] == person.id]


async def ring_and_cancel(caller: Recorder, callee: Recorder) -> None:
    call = await caller.invite(callee.person)
    assert call["status"] == "RINGING", call
    await callee.next_matching("incoming")
    assert (await caller.call("cancel", {"call_id": call["id"]}))["ok"]
    await callee.next_matching("ended", call_id=call["id"])


async def test_a_watcher_follows_watched_users_and_nobody_else(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol", "dave")
    async with stack.clients(p["alice"], p["dave"]) as (a, d):
        assert await watch(a, p["bob"]) == {p["bob"].id: "offline"}
        async with stack.clients(p["bob"], p["carol"]) as (b, c):
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            await ring_and_cancel(c, b)  # both lines busy, then free again
            await a.next_matching("presence", user_id=p["bob"].id, presence="busy")
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            assert await watch(a, p["bob"]) == {p["bob"].id: "online"}
        await a.next_matching("presence", user_id=p["bob"].id, presence="offline")
    assert presence_of(a, p["bob"]) == ["online", "busy", "online", "offline"]
    assert presence_of(a, p["carol"]) == []
    assert "presence" not in d.names()  # d watched nobody


async def test_the_ack_is_a_snapshot_of_now(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol", "dave")
    async with stack.clients(p["alice"], p["bob"], p["carol"]) as (a, b, c):
        call = await b.invite(p["carol"])
        await c.next("incoming")
        snapshot = await watch(a, p["bob"], p["carol"], p["dave"], p["alice"])
        assert snapshot == {
            p["bob"].id: "busy",
            p["carol"].id: "busy",
            p["dave"].id: "offline",
            p["alice"].id: "online",
        }
        assert list(snapshot) == [p[n].id for n in ("bob", "carol", "dave", "alice")]
        assert (await b.call("cancel", {"call_id": call["id"]}))["ok"]
        await a.next_matching("presence", user_id=p["bob"].id, presence="online")
        await a.next_matching("presence", user_id=p["carol"].id, presence="online")


async def test_a_new_watch_replaces_the_old_one(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol", "dave")
    async with stack.clients(p["alice"]) as (a,):
        await watch(a, p["bob"])
        assert await watch(a, p["carol"], p["carol"]) == {p["carol"].id: "offline"}
        async with stack.clients(p["bob"]):
            async with stack.clients(p["carol"]):
                await a.next_matching("presence", user_id=p["carol"].id, presence="online")
            await a.next_matching("presence", user_id=p["carol"].id, presence="offline")
            assert presence_of(a, p["bob"]) == []
            assert await watch(a) == {}
            async with stack.clients(p["carol"]):
                pass
            assert await watch(a, p["dave"]) == {p["dave"].id: "offline"}
            async with stack.clients(p["dave"]):
                await a.next_matching("presence", user_id=p["dave"].id, presence="online")
    assert presence_of(a, p["bob"]) == []
    assert presence_of(a, p["carol"]) == ["online", "offline"]  # not the second visit


async def test_other_tenants_and_unknown_ids_yield_no_presence(stack: Stack) -> None:
    mine = await stack.tenant("alice", "bob", "carol")
    theirs = await stack.tenant("xavier", "yolanda", "zed")
    async with stack.clients(mine["alice"], theirs["xavier"]) as (a, x):
        snapshot = await watch(a, theirs["xavier"], "no-such-user", mine["bob"], theirs["zed"])
        assert snapshot == {mine["bob"].id: "offline"}  # the rest is ignored, alike
        async with stack.clients(theirs["zed"]) as (z,):
            await ring_and_cancel(x, z)
            async with stack.clients(mine["bob"]):  # the barrier
                await a.next_matching("presence", user_id=mine["bob"].id, presence="online")
        await a.next_matching("presence", user_id=mine["bob"].id, presence="offline")
        # neither do their watchers learn about us
        assert await watch(x, mine["alice"], mine["bob"]) == {}
        assert await watch(x, theirs["yolanda"]) == {theirs["yolanda"].id: "offline"}
        async with stack.clients(mine["bob"]), stack.clients(theirs["yolanda"]):
            await x.next_matching("presence", user_id=theirs["yolanda"].id, presence="online")
    assert {d["user_id"] for e, d in a.events if e == "presence"} == {mine["bob"].id}
    assert {d["user_id"] for e, d in x.events if e == "presence"} == {theirs["yolanda"].id}


BAD_WATCHES: list[Any] = [
    None,
    "bob",
    [],
    {},
    {"user_ids": None},
    {"user_ids": "bob"},
    {"user_ids": [1]},
    {"user_ids": [None]},
    {"user_ids": [""]},
    {"user_ids": ["   "]},
    {"user_ids": ["x" * 65]},
    {"user_ids": [f"id{i}" for i in range(201)]},
    {"user_ids": [], "tenant_id": "t"},
    {"user_ids": ["x" * 64] * 250},
]


async def test_bad_watches_are_invalid_payload_and_change_nothing(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob", "carol")
    async with stack.clients(p["alice"]) as (a,):
        await watch(a, p["bob"])
        for bad in BAD_WATCHES:
            ack = await a.call("presence_watch", bad)
            assert not ack["ok"], bad
            assert ack["error"]["code"] == "invalid_payload", (bad, ack)
        assert len(await watch(a, *[f"id{i}" for i in range(199)], p["carol"])) == 1  # 200 ok
        await watch(a, p["bob"])
        for bad in BAD_WATCHES:
            assert (await a.call("presence_watch", bad))["error"]["code"] == "invalid_payload"
        async with stack.clients(p["bob"], p["carol"]):  # the watch on bob still stands
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
    assert presence_of(a, p["carol"]) == []


async def test_small_tenants_keep_the_broadcast_without_duplicates(stack: Stack) -> None:
    p = await stack.tenant("alice", "bob")  # at the limit: the whole tenant hears
    async with stack.clients(p["alice"]) as (a,):
        assert await watch(a, p["bob"], p["alice"]) == {
            p["bob"].id: "offline",
            p["alice"].id: "online",
        }
        async with stack.clients(p["bob"]) as (b,):
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            await b.next_matching("presence", user_id=p["bob"].id, presence="online")
            await ring_and_cancel(b, a)
            await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            await b.next_matching("presence", user_id=p["alice"].id, presence="online")
        await a.next_matching("presence", user_id=p["bob"].id, presence="offline")
    assert presence_of(a, p["bob"]) == ["online", "busy", "online", "offline"]
    assert presence_of(b, p["alice"]) == ["busy", "online"]  # b watched nobody
