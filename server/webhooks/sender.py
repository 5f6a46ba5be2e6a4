"""Delivering the webhook outbox: every node claims due deliveries (a lease: one attempt at a
time per delivery, whichever node wins the conditional UPDATE) and POSTs them, after the commit
that wrote them, never on a request's path.

A 2xx delivers. Anything else (another status, a timeout, a refused destination) is retried
with exponential backoff and jitter, never sooner than the receiver's ``Retry-After``, for up to
24 h after the event; an endpoint that has failed for 24 h without one success is disabled with
the reason, and its pending deliveries fail. A node that dies mid-attempt leaves its lease to
lapse: another node (or the same one restarted) tries again. Receivers de-duplicate by
``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.db import webhooks as hook_data
from server.db.webhooks import DELIVERED, FAILED, PENDING, Attempt
from server.webhooks import signing
from server.webhooks.destination import (
    DestinationRefused,
    Resolver,
    pin_destination,
    system_resolver,
)

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(hours=24)
"""An event is retried this long; an endpoint failing this long is disabled."""
FIRST_RETRY_S = 5.0
LONGEST_WAIT_S = 3600.0


def retry_wait_s(attempts: int, retry_after_s: float | None, rng: random.Random) -> float:
    """The wait after failed attempt number ``attempts``: 5 s doubling up to an hour, the upper
    half of it picked at random (so endpoints coming back are not hit all at once), never less
    than the receiver's ``Retry-After`` (itself at most 24 h)."""
    ceiling = min(LONGEST_WAIT_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1))
    wait = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after_s is not None:
        wait = max(wait, min(retry_after_s, GIVE_UP_AFTER.total_seconds()))
    return float(wait)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def _tls_trust(settings: Settings) -> ssl.SSLContext:
    """The CA certificates httpx trusts by default (certifi's), and ``VOIP_WEBHOOK_CA_FILE``'s
    if set."""
    context = httpx.create_ssl_context(trust_env=False)
    if settings.webhook_ca_file is not None:
        context.load_verify_locations(cafile=settings.webhook_ca_file)
    return context


class WebhookSender:
    """This node's sender of the webhook outbox (``deps.webhooks``)."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        rng: random.Random | None = None,
        resolve: Resolver = system_resolver,
    ) -> None:
        self._settings, self._sessions, self._clock = settings, sessions, clock
        self._rng = rng or random.Random()
        self._resolve = resolve
        self._kicked = asyncio.Event()
        self._http = httpx.AsyncClient(
            verify=_tls_trust(settings),
            timeout=settings.webhook_timeout_s,
            follow_redirects=False,
            trust_env=False,
            # Connections are pinned to an address, and pooled by it: one kept open for one
            # host must not carry another's request because both resolve there.
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        # Longer than one attempt can take (httpx times connect, write and read apart).
        self._lease = timedelta(seconds=3 * settings.webhook_timeout_s + 1)

    def kick(self) -> None:
        """Events were committed: look for them now (never waits)."""
        self._kicked.set()

    async def run(self) -> None:
        """Deliver whatever is due, when kicked and every ``VOIP_WEBHOOK_POLL_S``, until
        cancelled."""
        while True:
            self._kicked.clear()  # before the round: a kick during it means another round
            try:
                while await self.deliver_due():
                    pass
            except Exception:
                log.exception("webhook round failed")
            napping = [
                asyncio.ensure_future(self._kicked.wait()),
                asyncio.ensure_future(self._clock.sleep(self._settings.webhook_poll_s)),
            ]
            await asyncio.wait(napping, return_when=asyncio.FIRST_COMPLETED)
            for waiter in napping:
                waiter.cancel()

    async def deliver_due(self) -> int:
        """Claim what is due now (up to ``VOIP_WEBHOOK_CONCURRENCY``), attempt it all, record
        the outcomes; how many attempts this node made."""
        claimed = await self._claim(self._settings.webhook_concurrency)
        await asyncio.gather(*(self._attempt(item) for item in claimed))
        return len(claimed)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _claim(self, limit: int) -> list[Attempt]:
        now = self._clock.now()
        node, until = self._settings.node, now + self._lease
        async with self._sessions() as session:
            won = []
            for delivery_id in await hook_data.due_ids(session, now=now, limit=limit):
                if await hook_data.claim(
                    session, delivery_id=delivery_id, node=node, now=now, until=until
                ):
                    won.append(delivery_id)
            await session.commit()
            return await hook_data.attempts_of(session, ids=won)

    async def _attempt(self, item: Attempt) -> None:
        at = self._clock.now()
        try:
            target = await pin_destination(
                item.url, allow_private=self._settings.webhook_allow_private, resolve=self._resolve
            )
            sent = signing.headers(item.secret, msg_id=item.event_id, at=at, body=item.payload)
            response = await self._http.post(
                target.url,
                content=item.payload,
                headers={**sent, "Host": target.host},
                extensions=target.extensions,
            )
        except (DestinationRefused, httpx.HTTPError) as exc:
            await self._failed(item, None, f"{type(exc).__name__}: {exc}"[:500], None)
            return
        if 200 <= response.status_code < 300:
            await self._delivered(item, response.status_code)
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=at)
        await self._failed(item, response.status_code, f"HTTP {response.status_code}", retry_after)

    async def _delivered(self, item: Attempt, code: int) -> None:
        values = {"state": DELIVERED, "response_code": code, "last_error": None}
        async with self._sessions() as session:
            await hook_data.record(
                session, delivery_id=item.id, values={**values, "finished_at": self._clock.now()}
            )
            await hook_data.endpoint_ok(session, endpoint_id=item.endpoint_id)
            await session.commit()
        self.kick()  # the call's next event may go now

    async def _failed(
        self, item: Attempt, code: int | None, error: str, retry_after: float | None
    ) -> None:
        now = self._clock.now()
        values: dict[str, Any] = {"response_code": code, "last_error": error}
        async with self._sessions() as session:
            since = await hook_data.endpoint_failing(session, endpoint_id=item.endpoint_id, at=now)
            if now - since >= GIVE_UP_AFTER:
                reason = f"failing since {since.isoformat()}; last: {error}"
                await hook_data.record(session, delivery_id=item.id, values=values)
                await hook_data.disable_endpoint(
                    session, endpoint_id=item.endpoint_id, reason=reason, at=now
                )
                log.warning("webhook endpoint disabled", extra={"endpoint": item.endpoint_id})
            elif now - item.created_at >= GIVE_UP_AFTER:
                values.update(state=FAILED, finished_at=now)
                await hook_data.record(session, delivery_id=item.id, values=values)
            else:
                wait = retry_wait_s(item.attempts, retry_after, self._rng)
                due = min(now + timedelta(seconds=wait), item.created_at + GIVE_UP_AFTER)
                values.update(state=PENDING, due_at=due)
                await hook_data.record(session, delivery_id=item.id, values=values)
            await session.commit()
        log.info(
            "webhook attempt failed",
            extra={"endpoint": item.endpoint_id, "event": item.event_id, "error": error},
        )
