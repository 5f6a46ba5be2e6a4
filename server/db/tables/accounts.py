"""Tenants and their users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.tables.base import Base, UTCDateTime, new_id, utcnow


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    call_outcomes: Mapped[str | None] = mapped_column(String(1000), default=None)
    """The outcomes a call's note may give, comma-separated; ``None``: the default list."""
    recording_policy: Mapped[str | None] = mapped_column(String(16), default=None)
    """``off``, ``all`` or ``on_demand``; ``NULL`` follows ``VOIP_RECORDING_DEFAULT``."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    external_subject: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Set: the user may not sign in, no token of theirs is accepted (``voip-server
    disable-user``, :func:`server.calls.access.disable_user`)."""
    active_call_id: Mapped[str | None] = mapped_column(String(32), default=None)
    """The user's one line: the ringing or answered call holding it. Claimed for both parties
    by one conditional UPDATE (``... WHERE active_call_id IS NULL``) in the transaction that
    creates the call, released in the transaction that writes its final status."""
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    """``member`` or ``admin`` (of its tenant: ``/api/admin/*``)."""
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Set: deleted by an admin. The row stays (its calls keep its name), its email, password
    and external subject are cleared."""

    __table_args__ = (Index("ix_users_tenant_name", "tenant_id", "display_name", "id"),)
