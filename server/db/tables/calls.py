"""Calls and the transitions each one went through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, configure_mappers, mapped_column
from sqlalchemy.orm.instrumentation import manager_of_class

from server.db.tables.base import Base, UTCDateTime, new_id


class CallRow(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    caller_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    callee_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ring_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    caller_device: Mapped[str] = mapped_column(String(64))
    caller_sid: Mapped[str] = mapped_column(String(64))
    answer_device: Mapped[str | None] = mapped_column(String(64), default=None)
    answer_sid: Mapped[str | None] = mapped_column(String(64), default=None)
    room_name: Mapped[str | None] = mapped_column(String(128), unique=True, default=None)
    room_sid: Mapped[str | None] = mapped_column(String(64), default=None)
    caller_grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """Set while the caller's media is gone (``participant_left``): the call ends
    ``participant_left`` at this time unless the caller rejoins first."""
    callee_grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """The same for the callee (the answering user)."""
    context_type: Mapped[str | None] = mapped_column(String(64), default=None)
    """The CRM record the caller called from (``invite``'s ``context``): its type..."""
    context_id: Mapped[str | None] = mapped_column(String(128), default=None)
    context_label: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[str | None] = mapped_column(String(64), default=None)
    """A party's note on the call (``PUT /api/calls/{id}/note``): one of the tenant's outcomes,"""
    note: Mapped[str | None] = mapped_column(String(4000), default=None)
    note_by: Mapped[str | None] = mapped_column(String(32), default=None)
    note_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        UniqueConstraint("caller_id", "request_id", name="uq_calls_caller_request"),
        Index("ix_calls_caller_created", "caller_id", "created_at", "id"),
        Index("ix_calls_callee_created", "callee_id", "created_at", "id"),
        Index("ix_calls_status_deadline", "status", "ring_deadline"),
        Index("ix_calls_tenant_created", "tenant_id", "created_at", "id"),
    )


def call_row(values: Mapping[Any, Any]) -> CallRow:
    """A transient :class:`CallRow` holding ``values`` (columns left out read ``None``), built
    as the ORM builds a loaded one: the values put in its ``__dict__``, with no attribute
    events and no history. About 2 µs where ``CallRow(**values)`` takes 40; nothing else
    differs for a row that no session ever holds (:mod:`server.db.calls` reads calls so)."""
    if not CallRow.__mapper__.configured:  # (the attributes exist once mappers are)
        configure_mappers()
    row = manager_of_class(CallRow).new_instance()
    row.__dict__.update(values)
    return row


class CallEvent(Base):
    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    actor: Mapped[str] = mapped_column(String(64))
    """A user id, or ``system`` for timers and webhooks."""
    device: Mapped[str | None] = mapped_column(String(64), default=None)
