"""Statements of the hot path, built once at import with bind parameters.

The call path runs Core statements on the tables: no ORM unit of work, no identity map, and no
expression building per request (profiling showed statement construction and ORM bookkeeping
costing more than SQLite itself). The data functions in :mod:`server.db.calls`,
:mod:`server.db.users` and :mod:`server.db.presence` execute them.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Exists,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from server.db.models import (
    AuthSession,
    CallEvent,
    CallRow,
    Connection,
    Node,
    PushDevice,
    PushMessage,
    Tenant,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from voip_contract import CallStatus

CALLS = cast(Table, CallRow.__table__)
USERS = cast(Table, User.__table__)
EVENTS = cast(Table, CallEvent.__table__)
CONNECTIONS = cast(Table, Connection.__table__)
NODES = cast(Table, Node.__table__)
TENANTS = cast(Table, Tenant.__table__)
PUSH_DEVICES = cast(Table, PushDevice.__table__)
PUSH_OUTBOX = cast(Table, PushMessage.__table__)
HOOKS = cast(Table, WebhookEndpoint.__table__)
HOOK_OUTBOX = cast(Table, WebhookDelivery.__table__)
AUTH_SESSIONS = cast(Table, AuthSession.__table__)

RINGING = CallStatus.RINGING.value
IN_PROGRESS = CallStatus.IN_PROGRESS.value
ACTIVE = (RINGING, IN_PROGRESS)


def live_socket_of(user: Any) -> Exists:
    """Whether ``user`` has a socket on a node that is alive (``:live_since`` or later)."""
    return (
        select(CONNECTIONS.c.sid)
        .join(NODES, NODES.c.id == CONNECTIONS.c.node_id)
        .where(CONNECTIONS.c.user_id == user, NODES.c.last_seen >= bindparam("live_since"))
        .exists()
    )


def push_device_of(user: Any) -> Exists:
    """Whether ``user`` registered a device that a push can wake (only counts with push on)."""
    return select(PUSH_DEVICES.c.device_id).where(PUSH_DEVICES.c.user_id == user).exists()


def endpoints_of(tenant: Any) -> Exists:
    """Whether ``tenant`` has an enabled webhook endpoint (else a step writes no delivery)."""
    return select(HOOKS.c.id).where(HOOKS.c.tenant_id == tenant, HOOKS.c.enabled.is_(True)).exists()


# --- calls -------------------------------------------------------------------------------------

CALL_BY_ID = select(CALLS).where(CALLS.c.id == bindparam("id"))
_CALLER, _CALLEE = USERS.alias("caller"), USERS.alias("callee")
CALL_WITH_NAMES = (
    select(CALLS, _CALLER.c.display_name, _CALLEE.c.display_name, endpoints_of(CALLS.c.tenant_id))
    .join(_CALLER, _CALLER.c.id == CALLS.c.caller_id)
    .join(_CALLEE, _CALLEE.c.id == CALLS.c.callee_id)
    .where(CALLS.c.id == bindparam("id"))
)
"""A call, its parties' display names (for views and tokens) and whether its tenant has a
webhook endpoint, in one SELECT."""
CALL_IN_ROOM = select(CALLS).where(
    CALLS.c.room_name == bindparam("room"), CALLS.c.status == IN_PROGRESS
)
PARTIES_IN_ROOM = select(CALLS.c.id, CALLS.c.caller_id, CALLS.c.callee_id).where(
    CALLS.c.room_name == bindparam("room"), CALLS.c.status == IN_PROGRESS
)
CALL_BY_REQUEST = select(CALLS).where(
    CALLS.c.caller_id == bindparam("user"), CALLS.c.request_id == bindparam("rid")
)
RINGING_FOR = select(CALLS).where(CALLS.c.callee_id == bindparam("user"), CALLS.c.status == RINGING)
ACTIVE_CALLS_OF = (
    select(CALLS)
    .where(
        CALLS.c.status.in_(ACTIVE),
        (CALLS.c.caller_id == bindparam("user")) | (CALLS.c.callee_id == bindparam("user")),
    )
    .order_by(CALLS.c.created_at.desc())
)
INSERT_CALL = insert(CALLS)
INSERT_EVENT = insert(EVENTS)
CLAIM_LINES = (
    update(USERS)
    .where(USERS.c.id.in_(bindparam("ids", expanding=True)), USERS.c.active_call_id.is_(None))
    .values(active_call_id=bindparam("call"))
)
RELEASE_LINES = (
    update(USERS)
    .where(
        USERS.c.id.in_(bindparam("ids", expanding=True)),
        USERS.c.active_call_id == bindparam("call"),
    )
    .values(active_call_id=None)
)
SET_ROOM_SID = (
    update(CALLS)
    .where(CALLS.c.id == bindparam("call"), CALLS.c.status == IN_PROGRESS)
    .values(room_sid=bindparam("room_sid"))
    .returning(CALLS.c.caller_sid)
)
"""Store the room's sid; returns the caller's socket as it stood when the call was answered
(it may have moved since the accept read the row, and never moves after)."""
_RINGING_FROM = and_(CALLS.c.status == RINGING, CALLS.c.caller_device == bindparam("device"))
FOLLOW_CALLER = (
    update(CALLS)
    .where(CALLS.c.caller_id == bindparam("user"), _RINGING_FROM)
    .values(caller_sid=bindparam("sid"))
)
"""A caller's device that reconnects takes over its ringing calls: ``accepted`` goes there."""
FOLLOW_RETRY = (
    update(CALLS)
    .where(
        CALLS.c.caller_id == bindparam("user"),
        CALLS.c.request_id == bindparam("rid"),
        _RINGING_FROM,
    )
    .values(caller_sid=bindparam("sid"))
)
"""A retried invite (same ``request_id``) from the calling device's new socket takes it over."""

# --- users -------------------------------------------------------------------------------------

USERS_BY_ID = select(
    USERS.c.id, USERS.c.tenant_id, USERS.c.display_name, USERS.c.active_call_id
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
TENANT_USERS_AMONG = select(USERS.c.id).where(
    USERS.c.tenant_id == bindparam("tenant"), USERS.c.id.in_(bindparam("ids", expanding=True))
)
"""Which of these ids are users of this tenant (``presence_watch`` ignores the others)."""
TENANT_SIZE = (
    select(func.count()).select_from(USERS).where(USERS.c.tenant_id == bindparam("tenant"))
)
TENANT_SLUG = select(TENANTS.c.slug).where(TENANTS.c.id == bindparam("tenant"))
INVITE_LOOKUP = select(
    USERS.c.id,
    USERS.c.tenant_id,
    USERS.c.display_name,
    USERS.c.active_call_id,
    select(CALLS.c.id)
    .where(CALLS.c.caller_id == bindparam("me"), CALLS.c.request_id == bindparam("rid"))
    .scalar_subquery(),
    select(func.count())
    .select_from(CALLS)
    .where(CALLS.c.caller_id == bindparam("me"), CALLS.c.created_at >= bindparam("since"))
    .scalar_subquery(),
    live_socket_of(bindparam("callee")),
    push_device_of(bindparam("callee")),
    select(TENANTS.c.recording_policy).where(TENANTS.c.id == USERS.c.tenant_id).scalar_subquery(),
    endpoints_of(USERS.c.tenant_id),
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
"""Everything an invite decides on, in one round trip: both users (and their lines), the call
this ``request_id`` already made, the caller's invites of the last minute, whether the callee
has a live socket on any node, whether it has a push device, and each user's tenant's own
recording policy and whether it has a webhook endpoint."""

# --- presence: sockets and nodes ---------------------------------------------------------------

PRESENCE = select(
    USERS.c.id,
    USERS.c.active_call_id.is_not(None),
    live_socket_of(USERS.c.id),
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
"""Each user's line and whether it has a live socket on any node: its presence, in one SELECT
(it runs for every presence change, and for every page of contacts)."""
PRESENCE_WITH_PUSH = select(
    USERS.c.id,
    USERS.c.active_call_id.is_not(None),
    or_(live_socket_of(USERS.c.id), push_device_of(USERS.c.id)),
).where(USERS.c.id.in_(bindparam("ids", expanding=True)))
""":data:`PRESENCE` with push on: a push device makes a user reachable (``online``) too."""
HAS_LIVE_SOCKET = select(live_socket_of(bindparam("user")))
LIVE_SOCKET_COUNT = (
    select(func.count())
    .select_from(CONNECTIONS)
    .join(NODES, NODES.c.id == CONNECTIONS.c.node_id)
    .where(CONNECTIONS.c.user_id == bindparam("user"), NODES.c.last_seen >= bindparam("live_since"))
)
"""How many sockets a user holds on live nodes (the per-user cap, checked at every connect)."""
_TOKEN_FACTS = (
    USERS.c.tenant_id,
    USERS.c.email,
    USERS.c.display_name,
    USERS.c.disabled_at.is_not(None) | USERS.c.deleted_at.is_not(None),
    select(AUTH_SESSIONS.c.user_id)
    .where(AUTH_SESSIONS.c.id == bindparam("session"), AUTH_SESSIONS.c.revoked_at.is_(None))
    .scalar_subquery(),
)
TOKEN_LOOKUP = select(*_TOKEN_FACTS).where(USERS.c.id == bindparam("user"))
"""What a token of ours is checked against, in one round trip: the token's user (and whether
it is disabled or deleted) and the user of the token's sign-in session if that is not
revoked."""
CONNECT_LOOKUP = select(*_TOKEN_FACTS, LIVE_SOCKET_COUNT.scalar_subquery()).where(
    USERS.c.id == bindparam("user")
)
""":data:`TOKEN_LOOKUP` for a socket's connect, and how many sockets the user holds on live
nodes (the per-user cap; none: it comes online)."""
INSERT_CONNECTION = insert(CONNECTIONS).returning(
    # the user as a parameter of its own: a RETURNING clause is no FROM to correlate with
    select(CALLS.c.id)
    .where(CALLS.c.callee_id == bindparam("ringing_for"), CALLS.c.status == RINGING)
    .exists()
)
"""A socket's row, returning whether a call rings for its user (then :data:`RINGING_FOR` reads
them): the connect's check for calls that rang before it, without a round trip of its own in
the usual case of none. In the INSERT's snapshot, taken after the socket joined its rooms, so
a call committed later reaches it through them."""
DELETE_CONNECTION = delete(CONNECTIONS).where(CONNECTIONS.c.sid == bindparam("sid"))
TOUCH_NODE = update(NODES).where(NODES.c.id == bindparam("node")).values(last_seen=bindparam("at"))
INSERT_NODE = insert(NODES)
DELETE_DEAD_NODES = delete(NODES).where(NODES.c.last_seen < bindparam("live_since"))
DELETE_ORPHAN_CONNECTIONS = delete(CONNECTIONS).where(
    CONNECTIONS.c.node_id.not_in(select(NODES.c.id))
)
DELETE_NODE_CONNECTIONS = delete(CONNECTIONS).where(CONNECTIONS.c.node_id == bindparam("node"))
