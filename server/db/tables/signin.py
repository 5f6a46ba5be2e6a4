"""Password sign-in: the sessions it opens and the wrong passwords it counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.tables.base import Base, UTCDateTime, new_id


class AuthSession(Base):
    """One password sign-in (``sid`` of its tokens): renewable until ``expires_at``, unless
    revoked (sign-out, revoked from the sessions list, the user disabled)."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)
    address: Mapped[str] = mapped_column(String(64), default="", index=True)
    """Where the sign-in came from (successful sign-ins are limited per address too)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class SignInFailure(Base):
    """A wrong password, counted to slow down guessing (:mod:`server.signin_guard`); rows older
    than the counting window are deleted."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    """The client's IP address as the server sees it (behind a proxy: see docs/server.md)."""
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        Index("ix_sign_in_failures_email_at", "email", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )
