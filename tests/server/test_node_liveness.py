"""Presence across nodes: a socket is live while its node says it is (one ``nodes`` row per
node, refreshed by its heartbeat), against a real SQLite database and two call services that
share it as two server processes would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from server import migrate
from server.auth import Identity
from server.calls import CallService, Device, presence_of
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.db.models import Connection, Node, utcnow
from server.seed import UserSpec, ensure_tenant, ensure_users
from tests.server.fakes import FakeRooms, Recorded


@dataclass
class TwoNodes:
    a: CallService
    b: CallService
    sessions: Any
    alice: Identity
    bob: Identity
    ttl_s: float

    async def presence(self) -> dict[str, str]:
        live_since = utcnow() - timedelta(seconds=self.ttl_s)
        async with self.sessions() as session:
            ids = [self.alice.user_id, self.bob.user_id]
            states = await presence_of(session, ids, live_since=live_since)
        return {"alice": states[ids[0]], "bob": states[ids[1]]}

    async def sockets(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Connection)) or 0)


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[TwoNodes]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'voip.db'}"
    settings = {"var_dir": tmp_path, "database_url": url}
    engine = make_engine(url)
    await migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        tenant = await ensure_tenant(session, "acme", "ACME")
        specs = [UserSpec("alice@acme.test", "Alice"), UserSpec("bob@acme.test", "Bob")]
        alice, bob = await ensure_users(session, tenant, specs, "pw")
        await session.commit()
    a = CallService(Settings(**settings, node_id="node-a"), sessions, FakeRooms(), Recorded())
    b = CallService(Settings(**settings, node_id="node-b"), sessions, FakeRooms(), Recorded())
    for service in (a, b):
        await service.heartbeat()
    ident = {u.email: Identity(u.id, u.tenant_id, u.email, u.display_name) for u in (alice, bob)}
    try:
        ttl_s = a._settings.presence_ttl_s
        yield TwoNodes(a, b, sessions, ident["alice@acme.test"], ident["bob@acme.test"], ttl_s)
    finally:
        await a.drain()
        await b.drain()
        await engine.dispose()


async def test_a_node_that_stops_its_heartbeat_takes_its_sockets_offline(nodes: TwoNodes) -> None:
    await nodes.a.connected(nodes.alice, Device("sid-a", "laptop"))
    await nodes.b.connected(nodes.bob, Device("sid-b", "phone"))
    assert await nodes.presence() == {"alice": "online", "bob": "online"}

    # node b dies: its row is no longer refreshed
    async with nodes.sessions() as session:
        stale = utcnow() - timedelta(seconds=nodes.ttl_s + 1)
        await session.execute(update(Node).where(Node.id == "node-b").values(last_seen=stale))
        await session.commit()
    assert await nodes.presence() == {"alice": "online", "bob": "offline"}  # at once

    await nodes.a.heartbeat()  # any live node sweeps the dead one's sockets
    assert await nodes.presence() == {"alice": "online", "bob": "offline"}
    assert await nodes.sockets() == 1
