"""Sending the push outbox: each node claims due pushes and sends them to FCM, after the commit
that wrote them, a bounded number at a time, never on a request's path.

The invite (or the step that stops a call ringing) writes its pushes in its own transaction and
then :meth:`PushSender.kick` s this node's loop, which claims them (one conditional UPDATE each:
of several nodes, one wins) and sends them on tasks of its own, at most
``VOIP_PUSH_CONCURRENCY`` at once. Every node also looks every ``VOIP_PUSH_POLL_S`` for pushes
nobody sent: another node's that died after its commit, retries whose backoff ran out.

A failure that may pass (429, 5xx, timeouts, FCM or its token endpoint unreachable) is retried
after FCM's ``Retry-After`` or an exponential backoff, only while the call still rings (an
``incoming``) or its ring would have (a ``cancel``). A dead token is deleted. FCM down or slow
changes nothing else; it is logged once when it starts failing and once when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.db import push as push_data
from server.db.push import DROPPED, INCOMING, PENDING, SENT, OutboxItem
from server.push import messages
from server.push.capability import DeclineGrant, mint_decline
from server.push.fcm import SendOutcome, retry_after_s

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 16.0
FORGET_AFTER = timedelta(minutes=10)
"""Outbox rows are deleted this long after their call's ring deadline."""


class Messenger(Protocol):
    """Sends one FCM message (:class:`server.push.fcm.FcmClient`)."""

    async def send(self, message: dict[str, object]) -> SendOutcome: ...

    async def aclose(self) -> None: ...


def backoff_s(attempts: int, retry_after: float | None) -> float:
    """How long to wait before attempt ``attempts + 1``: FCM's ``Retry-After`` when it gave one,
    else 1 s doubling per attempt up to 16 s."""
    if retry_after is not None:
        return retry_after
    return float(min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, attempts - 1)))


class PushSender:
    """This node's sender of the push outbox (``deps.push``)."""

    enabled = True

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        messenger: Messenger,
    ) -> None:
        self._settings, self._sessions, self._clock = settings, sessions, clock
        self._messenger = messenger
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._failing_since: datetime | None = None
        self._lease = timedelta(seconds=3 * settings.push_timeout_s + 5)

    def kick(self) -> None:
        """Pushes were committed: look for them now (never waits)."""
        self._wake.set()

    async def run(self) -> None:
        """Send due pushes whenever kicked, and every ``VOIP_PUSH_POLL_S``, until cancelled."""
        while True:
            self._wake.clear()  # before looking: a kick while looking means "look again"
            try:
                await self.send_due()
            except Exception:
                log.exception("push round failed")
            await self._wait(self._settings.push_poll_s)

    async def _wait(self, seconds: float) -> None:
        woken = asyncio.ensure_future(self._wake.wait())
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait((woken, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (woken, timer):
                waiter.cancel()
            await asyncio.gather(woken, timer, return_exceptions=True)

    async def send_due(self) -> int:
        """Claim what is due now (as many as there are free slots) and start sending it; how
        many this node claimed."""
        free = self._settings.push_concurrency - len(self._inflight)
        if free <= 0:
            return 0
        items = await self._claim(free)
        for item in items:
            task = asyncio.create_task(self._deliver(item))
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return len(items)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self.kick()  # a slot is free: there may be more to claim

    async def idle(self) -> None:
        """Wait until every send started so far has finished."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def drain(self) -> None:
        """At shutdown: finish what is in flight (unclaimed pushes stay for the other nodes)."""
        await self.idle()
        await self._messenger.aclose()

    async def _claim(self, limit: int) -> list[OutboxItem]:
        now = self._clock.now()
        async with self._sessions() as session:
            ids = await push_data.due_ids(session, now=now, limit=limit)
            mine = [
                push_id
                for push_id in ids
                if await push_data.claim(
                    session,
                    push_id=push_id,
                    node=self._settings.node,
                    now=now,
                    until=now + self._lease,
                )
            ]
            await session.commit()
            return await push_data.claimed_items(session, ids=mine)

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            if item.token is None:  # the device unregistered since
                await self._settle(item, DROPPED)
                return
            outcome = await self._messenger.send(self._message(item))
            await self._after(item, outcome)
        except Exception:
            log.exception("push not sent", extra={"call": item.call_id, "kind": item.kind})

    def _message(self, item: OutboxItem) -> dict[str, object]:
        now = self._clock.now()
        if item.kind == INCOMING:
            grant = DeclineGrant(item.call_id, item.user_id, item.device_id)
            capability = mint_decline(self._settings, grant, expires_at=item.expires_at)
            data = messages.incoming_data(
                item, decline_capability=capability, with_context=self._settings.push_context
            )
        else:
            data = messages.cancel_data(item)
        return messages.fcm_message(item, data, now=now)

    async def _after(self, item: OutboxItem, outcome: SendOutcome) -> None:
        """Record what became of ``item``: sent, retried later, or given up (its token too)."""
        if outcome.kind == "retry":
            self._failing(outcome.detail)
            now = self._clock.now()
            wait = backoff_s(item.attempts, retry_after_s(outcome.retry_after, now=now))
            await self._settle(item, PENDING, retry_at=now + timedelta(seconds=wait))
            return
        self._reachable()
        if outcome.kind == "sent":
            await self._settle(item, SENT, late_cancel=item.kind == INCOMING)
            return
        if outcome.kind == "token_gone":
            log.info("push token pruned", extra={"device": item.device_id, "why": outcome.detail})
            async with self._sessions() as session:
                assert item.token is not None
                await push_data.drop_token(session, token=item.token)
                await session.commit()
        else:
            log.warning("push refused", extra={"call": item.call_id, "why": outcome.detail})
        await self._settle(item, DROPPED)

    async def _settle(
        self,
        item: OutboxItem,
        state: str,
        *,
        retry_at: datetime | None = None,
        late_cancel: bool = False,
    ) -> None:
        async with self._sessions() as session:
            await push_data.settle_item(session, push_id=item.id, state=state, retry_at=retry_at)
            if late_cancel:
                await push_data.cancel_if_stopped(session, item=item, at=self._clock.now())
            await session.commit()
        if late_cancel:
            self.kick()

    def _failing(self, detail: str) -> None:
        """Log the start of an outage once, not once per push."""
        if self._failing_since is None:
            self._failing_since = self._clock.now()
            log.warning(
                "FCM unavailable; pushes are retried while calls ring", extra={"error": detail}
            )

    def _reachable(self) -> None:
        if self._failing_since is not None:
            down = (self._clock.now() - self._failing_since).total_seconds()
            self._failing_since = None
            log.info("FCM reachable again", extra={"down_s": round(down, 1)})

    async def forget_old(self) -> None:
        """Delete outbox rows of calls that stopped ringing long ago."""
        async with self._sessions() as session:
            await push_data.forget_old(session, before=self._clock.now() - FORGET_AFTER)
            await session.commit()
