"""Recordings of calls by LiveKit Egress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.tables.base import Base, UTCDateTime, new_id


class RecordingRow(Base):
    """A recording of a call by LiveKit Egress, written in the transaction that starts it
    (before the egress is asked for): ``starting -> active -> complete | failed``."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    room_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    egress_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    filename: Mapped[str] = mapped_column(String(200))
    """Relative to the recordings directory (the egress's ``filepath``)."""
    location: Mapped[str | None] = mapped_column(String(1024), default=None)
    """Where the egress says it wrote the file (a path, or an S3 URL in production)."""
    started_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        Index("ix_recordings_status_created", "status", "created_at"),
        # one running recording per call: two parties starting at once (any nodes) get one
        Index(
            "uq_recordings_running_call",
            "call_id",
            unique=True,
            sqlite_where=text("status IN ('starting', 'active')"),
            postgresql_where=text("status IN ('starting', 'active')"),
        ),
    )
