"""Data functions on webhook endpoints and their delivery outbox: keyword-only, no decisions;
the caller owns the session and its transaction (nothing here commits).

A call's step writes one ``webhook_deliveries`` row per enabled endpoint of its tenant that
wants the event (:data:`ENQUEUE`, one INSERT ... SELECT, in the step's own transaction). A node
sends a row only after claiming it (:func:`claim`, a conditional UPDATE on ``claimed_until``):
one attempt at a time per row, and none while an earlier event of the same call to the same
endpoint is still pending (events of a call arrive in order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import direct
from server.db import statements as st
from server.db.models import UTCDateTime
from server.db.transaction import Db

HOOKS, OUTBOX = st.HOOKS, st.HOOK_OUTBOX
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

_AT = bindparam("at", type_=UTCDateTime())
ENQUEUE = insert(OUTBOX).from_select(
    [
        "event_id",
        "endpoint_id",
        "tenant_id",
        "call_id",
        "event_type",
        "payload",
        "state",
        "due_at",
        "attempts",
        "created_at",
    ],
    select(
        bindparam("event_id", type_=String()),
        HOOKS.c.id,
        HOOKS.c.tenant_id,
        bindparam("call", type_=String()),
        bindparam("type", type_=String()),
        bindparam("payload", type_=String()),
        literal(PENDING),
        _AT,
        literal(0, type_=Integer()),
        _AT,
    ).where(
        HOOKS.c.tenant_id == bindparam("tenant"),
        HOOKS.c.enabled.is_(True),
        HOOKS.c.event_types.like(bindparam("pattern")),
    ),
)
"""One delivery of the event to every enabled endpoint of the tenant that wants its type."""
_ENQUEUE = direct.Prepared(ENQUEUE, sqlite_only=True)

_EARLIER = OUTBOX.alias("earlier")
_IN_ORDER = ~(
    select(_EARLIER.c.id)
    .where(
        _EARLIER.c.endpoint_id == OUTBOX.c.endpoint_id,
        _EARLIER.c.call_id == OUTBOX.c.call_id,
        _EARLIER.c.id < OUTBOX.c.id,
        _EARLIER.c.state == PENDING,
    )
    .exists()
)
_CLAIMABLE = and_(
    OUTBOX.c.state == PENDING,
    OUTBOX.c.due_at <= bindparam("now"),
    or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < bindparam("now")),
    _IN_ORDER,
)
"""Pending, due, claimed by no live attempt, and the first pending event of its call for its
endpoint."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed delivery and where it goes."""

    id: int
    event_id: str
    endpoint_id: str
    call_id: str
    payload: str
    attempts: int
    """Including this one."""
    created_at: datetime
    url: str
    secret: str


_NO_ENDPOINTS = "webhooks: tenants without endpoints"
"""``session.info`` key: the tenants a SELECT of this session found without an enabled
endpoint (:func:`note_endpoints`)."""


def note_endpoints(session: Db, *, tenant_id: str, any_enabled: bool) -> None:
    """What a SELECT of the step's own transaction read: whether ``tenant_id`` has an enabled
    endpoint. :func:`may_deliver` then spares the step its INSERT when it has none."""
    if not any_enabled:
        session.info.setdefault(_NO_ENDPOINTS, set()).add(tenant_id)


def may_deliver(session: Db, *, tenant_id: str) -> bool:
    """Whether an event of ``tenant_id`` may have an endpoint to go to: not when this session
    read that it has none (once: the note is used up, a later step reads again)."""
    noted: set[str] | None = session.info.get(_NO_ENDPOINTS)
    if noted is None or tenant_id not in noted:
        return True
    noted.discard(tenant_id)
    return False


def noted_none(session: Db, *, tenant_id: str) -> bool:
    """Whether this session read that ``tenant_id`` has no enabled endpoint (and has not used
    the note yet): a step may then know beforehand that it writes no delivery."""
    noted: set[str] | None = session.info.get(_NO_ENDPOINTS)
    return noted is not None and tenant_id in noted


async def enqueue(
    session: Db,
    *,
    tenant_id: str,
    call_id: str,
    event_id: str,
    event_type: str,
    payload: str,
    at: datetime,
) -> bool:
    """The event, to every endpoint of ``tenant_id`` that wants ``event_type``; whether any
    endpoint wants it."""
    params = {
        "tenant": tenant_id,
        "call": call_id,
        "event_id": event_id,
        "type": event_type,
        "payload": payload,
        "at": at,
        "pattern": f"%,{event_type},%",
    }
    return bool((await direct.execute(session, _ENQUEUE, params)).rowcount)


async def due_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Up to ``limit`` deliveries a node may claim at ``now``, the longest due first."""
    query = select(OUTBOX.c.id).where(_CLAIMABLE).order_by(OUTBOX.c.due_at, OUTBOX.c.id)
    return list(await session.scalars(query.limit(limit), {"now": now}))


async def claim(
    session: AsyncSession, *, delivery_id: int, node: str, now: datetime, until: datetime
) -> bool:
    """Claim one delivery for ``node`` until ``until``, counting an attempt; whether this node
    won it (of nodes racing for it, one's UPDATE changes the row)."""
    claimed = await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == delivery_id, _CLAIMABLE)
        .values(claimed_by=node, claimed_until=until, attempts=OUTBOX.c.attempts + 1),
        {"now": now},
    )
    return bool(getattr(claimed, "rowcount", 0))


async def attempts_of(session: AsyncSession, *, ids: list[int]) -> list[Attempt]:
    """The claimed deliveries with their endpoints' URL and secret."""
    if not ids:
        return []
    query = (
        select(
            OUTBOX.c.id,
            OUTBOX.c.event_id,
            OUTBOX.c.endpoint_id,
            OUTBOX.c.call_id,
            OUTBOX.c.payload,
            OUTBOX.c.attempts,
            OUTBOX.c.created_at,
            HOOKS.c.url,
            HOOKS.c.secret,
        )
        .join(HOOKS, HOOKS.c.id == OUTBOX.c.endpoint_id)
        .where(OUTBOX.c.id.in_(ids))
        .order_by(OUTBOX.c.id)
    )
    return [Attempt(*row) for row in await session.execute(query)]


async def record(session: AsyncSession, *, delivery_id: int, values: dict[str, Any]) -> None:
    """What an attempt came to (its state, response, next due time); its claim ends."""
    values = {**values, "claimed_until": None}
    await session.execute(update(OUTBOX).where(OUTBOX.c.id == delivery_id).values(**values))


async def endpoint_failing(session: AsyncSession, *, endpoint_id: str, at: datetime) -> datetime:
    """Mark the endpoint failing since ``at`` unless it already was; since when it is."""
    await session.execute(
        update(HOOKS)
        .where(HOOKS.c.id == endpoint_id, HOOKS.c.failing_since.is_(None))
        .values(failing_since=at)
    )
    since = await session.scalar(select(HOOKS.c.failing_since).where(HOOKS.c.id == endpoint_id))
    return since if isinstance(since, datetime) else at


async def endpoint_ok(session: AsyncSession, *, endpoint_id: str) -> None:
    await session.execute(
        update(HOOKS)
        .where(HOOKS.c.id == endpoint_id, HOOKS.c.failing_since.is_not(None))
        .values(failing_since=None)
    )


async def disable_endpoint(
    session: AsyncSession, *, endpoint_id: str, reason: str, at: datetime
) -> None:
    """Stop delivering to the endpoint (its pending deliveries fail), saying why."""
    await session.execute(
        update(HOOKS)
        .where(HOOKS.c.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason[:500])
    )
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.endpoint_id == endpoint_id, OUTBOX.c.state == PENDING)
        .values(state=FAILED, finished_at=at, claimed_until=None)
    )
