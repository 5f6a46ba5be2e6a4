"""Two server processes sharing one port (``VOIP_REUSE_PORT``), a real redis-server between
them: the kernel spreads the sockets over both, and a call between people on different
processes rings and ends as on one node. The clients use the websocket transport, as the app
does (long-polling's separate requests could land on the other process)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.engine import make_engine, make_sessionmaker
from server.db.tables import Connection
from tests.server.harness import Recorder, Stack
from tests.support.servers import CallServer, RedisServer, free_port

pytestmark = pytest.mark.redis

SOCKETS = 24  # all on one process by chance: 2 × 2^-24


@pytest.fixture(scope="module")
def shared_port(redis: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("shared-port")
    database = f"sqlite+aiosqlite:///{workdir / 'shared.db'}"
    port = free_port()
    env = {
        "VOIP_REDIS_URL": redis.url,
        "VOIP_REUSE_PORT": "true",
        "VOIP_JWT_SECRET": "shared-port-test-secret-00000000000000000000",
    }
    with (
        CallServer.start(
            workdir / "a", env={**env, "VOIP_NODE_ID": "node-a"}, database_url=database, port=port
        ) as first,
        CallServer.start(
            workdir / "b", env={**env, "VOIP_NODE_ID": "node-b"}, database_url=database, port=port
        ) as second,
    ):
        # /readyz on the shared port may be answered by the first: wait for each one's word.
        deadline = time.monotonic() + 30
        while not all("call server ready" in s.log() for s in (first, second)):
            assert time.monotonic() < deadline, second.log()[-2000:]
            time.sleep(0.05)
        yield Stack(second, None)


@pytest.fixture
async def stack(shared_port: Stack) -> AsyncIterator[Stack]:
    yield shared_port
    await shared_port.aclose()


async def nodes_of(stack: Stack, recorders: list[Recorder]) -> dict[str, str]:
    """The node each socket is connected to, by the ``connections`` rows (socket id -> node)."""
    engine = make_engine(stack.settings().db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = await session.execute(select(Connection.sid, Connection.node_id))
            by_sid: dict[str, str] = dict(rows.all())
    finally:
        await engine.dispose()
    return {r.sid: by_sid[r.sid] for r in recorders}


async def test_sockets_spread_over_both_processes_and_calls_cross_them(stack: Stack) -> None:
    names = [f"rep{i}" for i in range(SOCKETS)]
    people = await stack.tenant(*names)
    async with stack.clients(*people.values()) as recorders:
        nodes = await nodes_of(stack, recorders)
        assert set(nodes.values()) == {"node-a", "node-b"}
        caller = next(r for r in recorders if nodes[r.sid] == "node-a")
        callee = next(r for r in recorders if nodes[r.sid] == "node-b")
        call = await caller.invite(callee.person)
        assert (await callee.next("incoming"))["call"]["id"] == call["id"]
        assert (await callee.call("decline", {"call_id": call["id"]}))["ok"]
        ended = await caller.next_matching("ended", call_id=call["id"])
        assert ended["status"] == "DECLINED"


def test_a_shared_port_needs_each_process_named(tmp_path: Path) -> None:
    env = {
        "VOIP_REUSE_PORT": "true",
        "VOIP_VAR_DIR": str(tmp_path),
        "VOIP_JWT_SECRET": "shared-port-test-secret-00000000000000000000",
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert "give each its own VOIP_NODE_ID" in run.stderr
