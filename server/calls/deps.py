"""What every call operation works with (:class:`CallDeps`), and the socket a request came on.

One :class:`CallDeps` per server process, made by :func:`server.app.create_app`; the operations
of :mod:`server.calls` are functions that take it first. It holds no call state: the process
keeps only two caches of facts that do not change or may be a minute old (tenant slugs and
sizes) and the set of its background tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.calls.announce import Notifier
from server.clock import Clock
from server.config import Settings
from server.db import users as user_data
from server.db.transaction import Transactions
from server.media import MediaRooms

log = logging.getLogger(__name__)

TENANT_SIZE_MAX_AGE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class DeviceSocket:
    """The socket a request came on, and the device behind it (the socket id itself when the
    client named no ``device_id`` at connect)."""

    sid: str
    device_id: str


class Background:
    """Work a request starts and does not wait for (room deletions); drained at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every task started so far, and those they start."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class TenantFacts:
    """Per-process caches: a tenant's slug (it never changes) and size (read once a minute)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._slugs: dict[str, str] = {}
        self._sizes: dict[str, tuple[datetime, int]] = {}
        """``(read again after, size)`` per tenant."""

    async def slug(self, session: AsyncSession, tenant_id: str) -> str:
        """The tenant's slug (room names start with ``<slug>_``)."""
        slug = self._slugs.get(tenant_id)
        if slug is None:
            found = await user_data.tenant_slug(session, tenant_id=tenant_id)
            assert found is not None, f"no tenant {tenant_id}"
            slug = self._slugs[tenant_id] = found
        return slug

    async def size(self, sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> int:
        """How many users the tenant has, as of at most a minute ago."""
        now = self._clock.now()
        cached = self._sizes.get(tenant_id)
        if cached and now < cached[0]:
            return cached[1]
        async with sessions() as session:
            size = await user_data.tenant_size(session, tenant_id=tenant_id)
        self._sizes[tenant_id] = (now + TENANT_SIZE_MAX_AGE, size)
        return size


class PushOutbox(Protocol):
    """This node's push sender (:class:`server.push.sender.PushSender`), as the call operations
    see it: whether push is on, and a kick after a commit that wrote pushes."""

    @property
    def enabled(self) -> bool: ...

    def kick(self) -> None:
        """Pushes were committed: send them soon (never waits)."""


class NoPush:
    """Push off (``VOIP_FCM_*`` unset): no push is written, and nobody is reachable by one."""

    enabled = False

    def kick(self) -> None:
        return None


class Kick(Protocol):
    """A sender of an outbox (the webhooks'), kicked after a commit that wrote to it."""

    def kick(self) -> None: ...


class NoKick:
    """Nobody sends this node's outbox rows (another node will, or a test does)."""

    def kick(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class CallDeps:
    """The parts the call operations use: settings, database, clock, LiveKit, the notifier, and
    the push sender."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    media: MediaRooms
    notifier: Notifier
    background: Background = field(default_factory=Background)
    push: PushOutbox = field(default_factory=NoPush)
    webhooks: Kick = field(default_factory=NoKick)
    """The webhook sender (:class:`server.webhooks.sender.WebhookSender`)."""
    tenants: TenantFacts = field(init=False)
    transactions: Transactions = field(init=False)
    """The call path's units of work: direct transactions on the inline SQLite engine,
    sessions elsewhere (:mod:`server.db.transaction`); the same one-at-a-time rule as
    sessions."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenants", TenantFacts(self.clock))
        object.__setattr__(self, "transactions", Transactions(self.sessions))

    def live_since(self, now: datetime | None = None) -> datetime:
        """Nodes seen at this time or later are alive (their sockets count) at ``now``."""
        at = self.clock.now() if now is None else now
        return at - timedelta(seconds=self.settings.presence_ttl_s)
