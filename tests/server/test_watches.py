"""Who watches whose presence (:mod:`server.sio.watches`): on one node, and across nodes over a
real redis-server. The specification, written here:

- a user is watched while at least one socket watches them, on any node;
- a socket's watch set is replaced whole, and a socket that goes watches nobody;
- another node sees a watch as soon as ``replace`` has returned (the watch is counted before
  the snapshot is read, so no change falls between);
- a node's counts that Redis lost come back with the node's next refresh, which also gives them
  a time to live (a dead node's watches go);
- a node whose counts Redis lost (listed, its hash gone) counts every user as watched until
  its next write, which finds the loss in Redis's replies and rewrites the hash at once;
- a node not heard from within its time to live (on the injected clock) counts for nobody;
- when Redis cannot be read, every user counts as watched (more work, never a lost event), and
  a new watch that cannot be written fails (``unavailable``), so the client tries again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from server.errors import ServiceError
from server.sio.redis_wire import Client, address
from server.sio.watches import RedisWatches, Watches
from tests.server.fakes import FakeClock
from tests.support.servers import RedisServer, free_port
from voip_contract import ErrorCode

TTL_S = 30.0


async def test_one_node_counts_each_socket() -> None:
    watches = Watches()
    await watches.replace("s1", ["bob", "carol"])
    await watches.replace("s2", ["bob"])
    assert await watches.watched_among(["alice", "bob", "carol"]) == ["bob", "carol"]
    await watches.replace("s1", ["dave"])  # replaced whole: carol no longer
    assert await watches.watched_among(["bob", "carol", "dave"]) == ["bob", "dave"]
    await watches.forget("s2")
    assert await watches.watched_among(["bob", "dave"]) == ["dave"]
    await watches.forget("s1")
    await watches.forget("never-watched")
    assert await watches.watched_among(["bob", "dave"]) == []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


OWN_DB = 9
"""The Redis database these tests' registries use: the servers of other test files on the same
worker write their nodes' counts into database 0, on the fake clock's terms alive."""


def own_db(redis: RedisServer) -> Redis:
    """A redis-py client of :data:`OWN_DB` (what the tests read and break behind the nodes)."""
    return Redis.from_url(f"{redis.url.rsplit('/', 1)[0]}/{OWN_DB}")


def node(redis: RedisServer, name: str, clock: FakeClock) -> RedisWatches:
    now = lambda: clock.now().timestamp()  # noqa: E731
    where = address(f"{redis.url.rsplit('/', 1)[0]}/{OWN_DB}")
    assert where is not None
    return RedisWatches(Client(where, timeout_s=2), name, ttl_s=TTL_S, now=now)


@pytest.fixture
async def cluster(
    redis: RedisServer, clock: FakeClock
) -> AsyncIterator[tuple[RedisWatches, RedisWatches]]:
    """Two nodes' registries on one Redis (node names of this test alone), one clock."""
    tag = uuid.uuid4().hex[:8]
    one, two = node(redis, f"one-{tag}", clock), node(redis, f"two-{tag}", clock)
    async with own_db(redis) as raw:
        await raw.flushdb()  # (what an earlier test of this file left)
    yield one, two
    await one.aclose()
    await two.aclose()


@pytest.mark.redis
async def test_a_watch_on_one_node_is_seen_by_the_other(
    cluster: tuple[RedisWatches, RedisWatches],
) -> None:
    one, two = cluster
    assert await one.watched_among(["bob"]) == []
    await two.replace("s-on-two", ["bob", "carol"])
    assert await one.watched_among(["alice", "bob", "carol"]) == ["bob", "carol"]
    await one.replace("s-on-one", ["bob"])
    await two.forget("s-on-two")  # bob is still watched on node one; carol by nobody
    assert await two.watched_among(["bob", "carol"]) == ["bob"]
    await one.forget("s-on-one")
    assert await two.watched_among(["bob", "carol"]) == []


@pytest.mark.redis
async def test_lost_counts_mean_everyone_until_the_node_writes_again(
    redis: RedisServer, cluster: tuple[RedisWatches, RedisWatches]
) -> None:
    one, two = cluster
    await two.replace("s1", ["bob"])
    await two.replace("s2", ["bob", "carol"])
    raw = own_db(redis)
    try:
        key = RedisWatches.key(two._node)
        await raw.delete(key)  # as if Redis had lost the node's hash (a flush, an eviction)
        assert await one.watched_among(["alice", "bob"]) == ["alice", "bob"]
        await two.replace("s3", ["dave"])  # its replies disagree with its counts: rewritten
        assert await one.watched_among(["alice", "bob", "carol", "dave"]) == [
            "bob",
            "carol",
            "dave",
        ]
        assert 0 < await raw.ttl(key) <= TTL_S
    finally:
        await raw.aclose()


@pytest.mark.redis
async def test_a_refresh_writes_the_counts_again_with_a_time_to_live(
    redis: RedisServer, cluster: tuple[RedisWatches, RedisWatches]
) -> None:
    one, two = cluster
    await two.replace("s1", ["bob"])
    raw = own_db(redis)
    try:
        key = RedisWatches.key(two._node)
        await raw.hset(key, "bob", 0)  # a count gone wrong
        await two.refresh()
        assert await one.watched_among(["bob"]) == ["bob"]
        assert await raw.hget(key, "bob") == b"1"
        assert 0 < await raw.ttl(key) <= TTL_S
    finally:
        await raw.aclose()


@pytest.mark.redis
async def test_a_node_not_heard_from_within_its_ttl_counts_for_nobody(
    redis: RedisServer, clock: FakeClock, cluster: tuple[RedisWatches, RedisWatches]
) -> None:
    one, two = cluster
    await two.replace("s1", ["bob"])
    clock.advance(TTL_S - 1)
    assert await one.watched_among(["bob"]) == ["bob"]
    clock.advance(2)  # two stopped writing and refreshing: dead, its sockets gone
    assert await one.watched_among(["bob"]) == []
    await two.refresh()  # alive after all: listed again
    assert await one.watched_among(["bob"]) == ["bob"]


async def test_unreachable_redis_fails_new_watches_and_counts_everyone(clock: FakeClock) -> None:
    nowhere = address(f"redis://127.0.0.1:{free_port()}/0")
    assert nowhere is not None
    nobody = Client(nowhere, timeout_s=1)
    now = lambda: clock.now().timestamp()  # noqa: E731
    watches = RedisWatches(nobody, "lonely", ttl_s=TTL_S, now=now)
    try:
        with pytest.raises(ServiceError) as refused:
            await watches.replace("s1", ["bob"])
        assert refused.value.code is ErrorCode.UNAVAILABLE
        await watches.forget("s1")  # taking counts away never fails
        assert await watches.watched_among(["alice", "bob"]) == ["alice", "bob"]
    finally:
        await watches.aclose()
