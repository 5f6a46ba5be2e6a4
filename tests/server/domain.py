"""The call operations without a server process: a real, migrated SQLite database, one tenant's
users, and :class:`~server.calls.deps.CallDeps` per node with a fake LiveKit, a recording
notifier and one fake clock shared by every node (as the nodes of a cluster share the time)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server import migrate
from server.auth import Identity
from server.calls import connections
from server.calls.deps import CallDeps, DeviceSocket, NoPush, PushOutbox
from server.config import Settings
from server.db.engine import make_engine, make_sessionmaker
from server.seed import UserSpec, ensure_tenant, ensure_users
from tests.server.fakes import FakeClock, FakeRooms, Recorded


@dataclass
class Domain:
    """One database; :meth:`node` makes the deps of a server process on it."""

    path: Path
    sessions: Any
    clock: FakeClock
    people: dict[str, Identity]
    nodes: list[CallDeps] = field(default_factory=list)

    def node(
        self,
        node_id: str = "node-a",
        *,
        push: Callable[[Settings], PushOutbox] | None = None,
        **settings: Any,
    ) -> CallDeps:
        """A server process on this database (its own LiveKit fake and notifier; ``push`` makes
        its push sender from its settings)."""
        config = Settings(
            var_dir=self.path,
            database_url=f"sqlite+aiosqlite:///{self.path / 'voip.db'}",
            node_id=node_id,
            **settings,
        )
        sender = push(config) if push else NoPush()
        deps = CallDeps(config, self.sessions, self.clock, FakeRooms(), Recorded(), push=sender)
        self.nodes.append(deps)
        return deps


def rooms_of(deps: CallDeps) -> FakeRooms:
    assert isinstance(deps.media, FakeRooms)
    return deps.media


def told(deps: CallDeps) -> Recorded:
    assert isinstance(deps.notifier, Recorded)
    return deps.notifier


@asynccontextmanager
async def domain(path: Path, *names: str) -> AsyncIterator[Domain]:
    """A migrated database with tenant ``acme`` and these users (``<name>@acme.test``)."""
    engine = make_engine(f"sqlite+aiosqlite:///{path / 'voip.db'}")
    await migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        tenant = await ensure_tenant(session, "acme", "ACME")
        specs = [UserSpec(f"{n}@acme.test", n.capitalize()) for n in names]
        users = await ensure_users(session, tenant, specs, "pw")
        await session.commit()
    people = {
        n: Identity(u.id, u.tenant_id, u.email, u.display_name)
        for n, u in zip(names, users, strict=True)
    }
    made = Domain(path, sessions, FakeClock(), people)
    try:
        yield made
    finally:
        for deps in made.nodes:
            await deps.background.drain()
        await engine.dispose()


ALICE_LAPTOP = DeviceSocket(sid="s-alice", device_id="alice-laptop")
BOB_PHONE = DeviceSocket(sid="s-bob", device_id="bob-phone")


@asynccontextmanager
async def alice_and_bob_online(path: Path) -> AsyncIterator[Domain]:
    """:func:`domain` with alice and bob, and a first node holding alice's laptop
    (:data:`ALICE_LAPTOP`) and bob's phone (:data:`BOB_PHONE`)."""
    async with domain(path, "alice", "bob") as made:
        deps = made.node()
        await connections.heartbeat(deps, now=made.clock.now())
        await connections.connected(deps, made.people["alice"], ALICE_LAPTOP)
        await connections.connected(deps, made.people["bob"], BOB_PHONE)
        yield made
