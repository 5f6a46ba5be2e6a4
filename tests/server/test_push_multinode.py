"""Push with two server processes behind one database and a real redis-server, both polling
the outbox five times a second: each push of a call goes out once, whichever node took the
invite and whichever settled the call."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.server.harness import Stack
from tests.server.test_push import register
from tests.support.fake_fcm import FakeFcm
from tests.support.servers import CallServer, RedisServer, free_port

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def push_cluster(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory, fake_fcm: FakeFcm
) -> Iterator[tuple[CallServer, CallServer]]:
    workdir = tmp_path_factory.mktemp("push-cluster")
    credentials = fake_fcm.write_service_account(workdir / "service-account.json")
    env = {
        **fake_fcm.env(credentials),
        "VOIP_REDIS_URL": redis.url,
        "VOIP_RING_TIMEOUT_S": "3",
        "VOIP_SWEEP_INTERVAL_S": "0.2",
        "VOIP_PUSH_POLL_S": "0.2",
        "VOIP_JWT_SECRET": "push-cluster-shared-test-secret-000000000000",
    }
    database = f"sqlite+aiosqlite:///{workdir / 'shared.db'}"
    with (
        CallServer.start(workdir, env=env, database_url=database, port=free_port()) as one,
        CallServer.start(workdir, env=env, database_url=database, port=free_port()) as two,
    ):
        yield one, two


@pytest.fixture
async def nodes(push_cluster: tuple[CallServer, CallServer]) -> AsyncIterator[tuple[Stack, Stack]]:
    one, two = Stack(push_cluster[0], None), Stack(push_cluster[1], None)
    yield one, two
    await one.aclose()
    await two.aclose()


async def test_each_push_goes_out_once_from_two_nodes(
    nodes: tuple[Stack, Stack], fake_fcm: FakeFcm
) -> None:
    one, two = nodes
    p = await one.tenant("alice", "bob")
    await register(one, p["bob"], "phone", f"{p['bob'].id}-phone")
    await register(two, p["bob"], "tablet", f"{p['bob'].id}-tablet")
    async with one.clients(p["alice"]) as (a,):
        calls = [await a.invite(p["bob"])]
        await fake_fcm.until(calls[0]["id"], "incoming", 2)
        assert (await a.call("cancel", {"call_id": calls[0]["id"]}))["ok"]
        await fake_fcm.until(calls[0]["id"], "cancel", 2)
        calls.append(await a.invite(p["bob"]))  # this one times out, swept by either node
        await a.next_matching("ended", call_id=calls[1]["id"])
        await fake_fcm.until(calls[1]["id"], "cancel", 2)
    await asyncio.sleep(1.0)  # five polls of each node: nothing more goes out
    for call in calls:
        sent = Counter((r.token, r.data["type"]) for r in fake_fcm.delivered(call["id"]))
        assert set(sent.values()) == {1}, sent
        assert len(sent) == 4
