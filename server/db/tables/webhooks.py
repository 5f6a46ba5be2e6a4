"""Webhooks: the tenants' endpoints and the outbox of deliveries to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.tables.base import Base, UTCDateTime, new_id, utcnow


class WebhookEndpoint(Base):
    """Where a tenant's call events go (``/api/admin/webhooks``), signed with ``secret``
    (Standard Webhooks, ``whsec_...``)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[str] = mapped_column(String(500))
    """Comma-separated, with a comma before the first and after the last (``,call.ended,``):
    one ``LIKE`` finds the endpoints of an event type."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(100))
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """The first failed attempt since the last delivered one; 24 h of that disables it."""
    disabled_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint: the outbox row, written in the transaction of the call's
    step that caused it, sent after the commit by whichever node claims it (a lease on
    ``claimed_until``)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    """``webhook-id``: the same for every endpoint and every attempt of one event."""
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    tenant_id: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    """The JSON body, as signed."""
    state: Mapped[str] = mapped_column(String(16))
    """``pending``, ``delivered`` or ``failed`` (given up after 24 h, or endpoint disabled)."""
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    response_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_webhook_deliveries_state_due", "state", "due_at"),
        Index("ix_webhook_deliveries_endpoint_call", "endpoint_id", "call_id", "id"),
    )
