"""Presence: the call server nodes alive and the sockets connected to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.tables.base import Base, UTCDateTime


class Node(Base):
    """A call server process that holds sockets; it refreshes ``last_seen`` while it runs."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class Connection(Base):
    """A connected Socket.IO client on some node; presence is derived from these rows. A
    connection is live while its node is (``nodes.last_seen``): a node's heartbeat writes one
    row, not one per socket."""

    __tablename__ = "connections"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str] = mapped_column(String(64))
    node_id: Mapped[str] = mapped_column(String(32), index=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    session_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    """The sign-in session whose token the socket presented (none for identity-provider
    tokens): revoking it closes the socket."""
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """When the socket's token expires; the socket is closed then unless it presented a
    renewed one (``renew_token``)."""
