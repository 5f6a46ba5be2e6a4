"""Push (FCM): the devices that can be woken and the outbox of pushes for calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.tables.base import Base, UTCDateTime


class PushDevice(Base):
    """A device that can be woken by a push (FCM): one per user and device, a token held by one
    device only (registering it takes it from any other)."""

    __tablename__ = "push_devices"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The ``device_id`` the app gives at socket connect."""
    tenant_id: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(1024), unique=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PushMessage(Base):
    """A push to one device about one call, written in the transaction that made it due (the
    invite that rings, the step that stops the ringing), sent after the commit by whichever
    node claims it first (a conditional UPDATE on ``claimed_until``)."""

    __tablename__ = "push_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    """``incoming`` or ``cancel``."""
    status: Mapped[str | None] = mapped_column(String(16), default=None)
    """A cancel's: the call's status when it stopped ringing."""
    state: Mapped[str] = mapped_column(String(16))
    """``pending``, ``sent`` or ``dropped`` (the device is gone, or FCM refused for good)."""
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Not sent before (a retry's backoff)."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Not sent after: an ``incoming``'s ring deadline; a ``cancel``'s a minute after the call
    stopped ringing."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """A node sends it until then; after, another node may claim it (the first node died)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_push_outbox_state_due", "state", "due_at"),)
