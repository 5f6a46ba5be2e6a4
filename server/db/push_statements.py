"""The push outbox's statements, built once at import with bind parameters (as
:mod:`server.db.statements`), and the words of its rows (kinds, states). The data functions in
:mod:`server.db.push` execute them."""

from __future__ import annotations

from sqlalchemy import (
    String,
    and_,
    bindparam,
    exists,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)

from server.db import statements as st
from server.db.models import UTCDateTime
from voip_contract import CallStatus

DEVICES, OUTBOX, CALLS, USERS = st.PUSH_DEVICES, st.PUSH_OUTBOX, st.CALLS, st.USERS
INCOMING, CANCEL = "incoming", "cancel"
PENDING, SENT, DROPPED = "pending", "sent", "dropped"
RINGING = CallStatus.RINGING.value

_CALL_RINGS = (
    select(CALLS.c.id).where(CALLS.c.id == OUTBOX.c.call_id, CALLS.c.status == RINGING).exists()
)
SENDABLE = and_(
    OUTBOX.c.state == PENDING,
    OUTBOX.c.expires_at > bindparam("now"),
    or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < bindparam("now")),
    or_(OUTBOX.c.kind == CANCEL, _CALL_RINGS),
)
"""Pending, not past its deadline, claimed by nobody alive, and (an ``incoming``) its call still
rings: retries stop when the ringing does."""

_COLUMNS = ["call_id", "user_id", "device_id", "kind", "status", "state", "due_at"]
_COLUMNS += ["expires_at", "attempts", "created_at"]
# Typed: in an INSERT ... SELECT list nothing tells the database (or the UTC column type) what
# a parameter is.
_AT = bindparam("at", type_=UTCDateTime())
_EXPIRES = bindparam("expires", type_=UTCDateTime())
_CALL, _USER = bindparam("call", type_=String()), bindparam("user", type_=String())
_DEVICE, _STATUS = bindparam("device", type_=String()), bindparam("status", type_=String())

ENQUEUE_INCOMING = insert(OUTBOX).from_select(
    _COLUMNS,
    select(
        _CALL,
        DEVICES.c.user_id,
        DEVICES.c.device_id,
        literal(INCOMING),
        null(),
        literal(PENDING),
        _AT,
        _EXPIRES,
        literal(0),
        _AT,
    ).where(DEVICES.c.user_id == bindparam("user")),
)
_TRIED = OUTBOX.alias("tried")
ENQUEUE_CANCELS = insert(OUTBOX).from_select(
    _COLUMNS,
    select(
        _TRIED.c.call_id,
        _TRIED.c.user_id,
        _TRIED.c.device_id,
        literal(CANCEL),
        _STATUS,
        literal(PENDING),
        _AT,
        _EXPIRES,
        literal(0),
        _AT,
    ).where(
        _TRIED.c.call_id == bindparam("call"),
        _TRIED.c.kind == INCOMING,
        _TRIED.c.attempts > 0,
    ),
)
"""A cancel to every device an ``incoming`` of the call was tried on (sent, in flight, or
failed: a failed request may still have been delivered)."""
DROP_UNSENT_INCOMING = (
    update(OUTBOX)
    .where(
        OUTBOX.c.call_id == bindparam("call"),
        OUTBOX.c.kind == INCOMING,
        OUTBOX.c.state == PENDING,
        or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < bindparam("at")),
    )
    .values(state=DROPPED)
)
CANCEL_AFTER_LATE_INCOMING = insert(OUTBOX).from_select(
    _COLUMNS,
    select(
        CALLS.c.id,
        _USER,
        _DEVICE,
        literal(CANCEL),
        CALLS.c.status,
        literal(PENDING),
        _AT,
        _EXPIRES,
        literal(0),
        _AT,
    ).where(
        CALLS.c.id == bindparam("call"),
        CALLS.c.status != RINGING,
        ~exists().where(
            OUTBOX.c.call_id == bindparam("call"),
            OUTBOX.c.device_id == bindparam("device"),
            OUTBOX.c.kind == CANCEL,
        ),
    ),
)
"""After an ``incoming`` went out: if the call stopped ringing meanwhile and no cancel was
written for that device (the step read the row before the claim), write it now."""

_CALLER = USERS.alias("caller")
CLAIMED = (
    select(
        OUTBOX.c.id,
        OUTBOX.c.call_id,
        OUTBOX.c.user_id,
        OUTBOX.c.device_id,
        OUTBOX.c.kind,
        OUTBOX.c.status,
        OUTBOX.c.expires_at,
        OUTBOX.c.attempts,
        DEVICES.c.token,
        CALLS.c.caller_id,
        _CALLER.c.display_name,
        CALLS.c.context_label,
    )
    .join(CALLS, CALLS.c.id == OUTBOX.c.call_id)
    .join(_CALLER, _CALLER.c.id == CALLS.c.caller_id)
    .outerjoin(
        DEVICES,
        and_(DEVICES.c.user_id == OUTBOX.c.user_id, DEVICES.c.device_id == OUTBOX.c.device_id),
    )
    .where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
)
"""What sending a claimed push needs: the device's token *now* (a rotated token is used, a
removed device is not pushed), the caller and the call's ring deadline."""
