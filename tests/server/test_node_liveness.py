"""Presence across nodes: a socket is live while its node says it is (one ``nodes`` row per
node, refreshed by its heartbeat), against a real SQLite database and the deps of two nodes that
share it as two server processes would. Time is one fake clock both nodes read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.calls import connections, presence
from server.calls.deps import CallDeps, DeviceSocket
from server.db.models import Connection
from tests.server.domain import Domain, domain

TTL_S = 90.0


@dataclass
class TwoNodes:
    a: CallDeps
    b: CallDeps
    world: Domain

    async def presence(self) -> dict[str, str]:
        ids = [self.world.people["alice"].user_id, self.world.people["bob"].user_id]
        states = await presence.snapshot(self.a, ids)
        return {"alice": states[ids[0]], "bob": states[ids[1]]}

    async def sockets(self) -> int:
        async with self.world.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Connection)) or 0)

    async def heartbeat(self, node: CallDeps) -> None:
        await connections.heartbeat(node, now=self.world.clock.now())


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[TwoNodes]:
    async with domain(tmp_path, "alice", "bob") as world:
        a = world.node("node-a", presence_ttl_s=TTL_S)
        b = world.node("node-b", presence_ttl_s=TTL_S)
        two = TwoNodes(a, b, world)
        for node in (a, b):
            await two.heartbeat(node)
        yield two


async def test_a_node_that_stops_its_heartbeat_takes_its_sockets_offline(nodes: TwoNodes) -> None:
    alice, bob = nodes.world.people["alice"], nodes.world.people["bob"]
    await connections.connected(nodes.a, alice, DeviceSocket("sid-a", "laptop"))
    await connections.connected(nodes.b, bob, DeviceSocket("sid-b", "phone"))
    assert await nodes.presence() == {"alice": "online", "bob": "online"}

    # both nodes beat just inside the ttl; then node b dies: its row is no longer refreshed
    nodes.world.clock.advance(TTL_S - 1)
    await nodes.heartbeat(nodes.a)
    await nodes.heartbeat(nodes.b)
    nodes.world.clock.advance(TTL_S)
    assert await nodes.presence() == {"alice": "online", "bob": "online"}  # b's last beat counts
    await nodes.heartbeat(nodes.a)
    nodes.world.clock.advance(0.001)
    assert await nodes.presence() == {"alice": "online", "bob": "offline"}  # at once
    assert await nodes.sockets() == 2  # not yet forgotten

    await nodes.heartbeat(nodes.a)  # any live node sweeps the dead one's sockets
    assert await nodes.presence() == {"alice": "online", "bob": "offline"}
    assert await nodes.sockets() == 1
