"""``presence_watch`` across two server nodes (one database, a real redis-server): the watcher's
socket and the watched user's socket on different nodes. The watch is a Socket.IO room, so the
node that publishes a change needs to know nothing about who watches where."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.server.harness import Stack
from tests.server.test_presence_watch import presence_of, ring_and_cancel, watch
from tests.support.servers import CallServer, RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def nodes_processes(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CallServer, CallServer]]:
    workdir: Path = tmp_path_factory.mktemp("presence-cluster")
    database = f"sqlite+aiosqlite:///{workdir / 'shared.db'}"
    env = {
        "VOIP_REDIS_URL": redis.url,
        "VOIP_PRESENCE_FANOUT_MAX": "2",
        "VOIP_JWT_SECRET": "presence-cluster-test-secret-000000000000000",
    }
    with (
        CallServer.start(workdir, env=env, database_url=database) as one,
        CallServer.start(workdir, env=env, database_url=database) as two,
    ):
        yield one, two


@pytest.fixture
async def nodes(nodes_processes: tuple[CallServer, CallServer]) -> AsyncIterator[list[Stack]]:
    stacks = [Stack(server, None) for server in nodes_processes]
    yield stacks
    for stack in stacks:
        await stack.aclose()


async def test_watchers_on_both_nodes_follow_a_user_on_either(nodes: list[Stack]) -> None:
    one, two = nodes
    p = await one.tenant("alice", "bob", "carol", "dave")
    async with (
        one.clients((p["alice"], "desktop"), p["dave"]) as (a1, d),
        two.clients((p["alice"], "phone")) as (a2,),
    ):
        assert await watch(a1, p["bob"], p["carol"]) == {
            p["bob"].id: "offline",
            p["carol"].id: "offline",
        }
        assert await watch(a2, p["bob"]) == {p["bob"].id: "offline"}
        async with two.clients(p["bob"], p["carol"]) as (b, c):
            for a in (a1, a2):
                await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            await a1.next_matching("presence", user_id=p["carol"].id, presence="online")
            await ring_and_cancel(c, b)
            for a in (a1, a2):
                await a.next_matching("presence", user_id=p["bob"].id, presence="busy")
                await a.next_matching("presence", user_id=p["bob"].id, presence="online")
            # the desktop now watches carol only; the phone still watches bob
            assert await watch(a1, p["carol"]) == {p["carol"].id: "online"}
            await b.disconnect()
            await a2.next_matching("presence", user_id=p["bob"].id, presence="offline")
        # carol left after bob, from the same node: once her event is in, bob's would be
        await a1.next_matching("presence", user_id=p["carol"].id, presence="offline")
    assert presence_of(a1, p["bob"]) == ["online", "busy", "online"]
    assert presence_of(a2, p["bob"]) == ["online", "busy", "online", "offline"]
    assert presence_of(a2, p["carol"]) == []
    assert "presence" not in d.names()
