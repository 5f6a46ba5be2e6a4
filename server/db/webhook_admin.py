"""Data functions behind a tenant admin's Webhooks screen (``/api/admin/webhooks``): the
tenant's endpoints and deliveries, a resend, a delete. Keyword-only, no decisions; every read
is within the ``tenant_id`` given, and the caller owns the session (nothing here commits).
The outbox's own work (enqueue, claim, record) is :mod:`server.db.webhooks`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import WebhookDelivery, WebhookEndpoint
from server.db.webhooks import HOOKS, OUTBOX, PENDING


async def endpoints_of(session: AsyncSession, *, tenant_id: str) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
    return list(await session.scalars(query.order_by(WebhookEndpoint.created_at)))


async def endpoint(
    session: AsyncSession, *, tenant_id: str, endpoint_id: str
) -> WebhookEndpoint | None:
    """The endpoint, if it is ``tenant_id``'s."""
    return await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant_id
        )
    )


async def deliveries_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    endpoint_id: str | None,
    before: int | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Up to ``limit`` of the tenant's deliveries, newest first, older than id ``before``."""
    query = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return list(await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


async def delivery(
    session: AsyncSession, *, tenant_id: str, delivery_id: int
) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.tenant_id == tenant_id
        )
    )


async def resend(session: AsyncSession, *, original: WebhookDelivery, at: datetime) -> int:
    """The same event (same ``webhook-id``) to the same endpoint once more, as a new delivery;
    its id."""
    values = {
        "event_id": original.event_id,
        "endpoint_id": original.endpoint_id,
        "tenant_id": original.tenant_id,
        "call_id": original.call_id,
        "event_type": original.event_type,
        "payload": original.payload,
        "state": PENDING,
        "due_at": at,
        "attempts": 0,
        "created_at": at,
    }
    made = await session.execute(insert(OUTBOX).values(**values).returning(OUTBOX.c.id))
    return int(made.scalar_one())


async def delete_endpoint(session: AsyncSession, *, endpoint_id: str) -> None:
    """The endpoint and all its deliveries."""
    await session.execute(delete(OUTBOX).where(OUTBOX.c.endpoint_id == endpoint_id))
    await session.execute(delete(HOOKS).where(HOOKS.c.id == endpoint_id))
