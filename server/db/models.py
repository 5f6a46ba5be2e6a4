"""Tables of the call server. Alembic migrations in :mod:`server.migrations` create them.

Nothing about a call lives only in process memory: the call row holds its status, its ring
deadline, the sockets and devices involved, its room and the rejoin deadline of a party whose
media dropped; ``call_events`` records every
transition; ``connections`` holds every connected socket of every node and ``nodes`` which
nodes are alive (presence);
``sign_in_failures`` counts recent wrong passwords; ``push_devices`` holds each device's push
token and ``push_outbox`` every push to send (or sent) for a call.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite keeps no zone), always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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
