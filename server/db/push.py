"""Data functions on push devices and the push outbox: keyword-only, no decisions; the caller
owns the session and its transaction (nothing here commits).

A push is a ``push_outbox`` row written in the transaction that made it due: the invite that
rings (an ``incoming`` per device of the callee) and the step that stops the ringing (a
``cancel`` per device an ``incoming`` was tried on). Any node sends it after the commit, once it
has claimed it with a conditional UPDATE (:func:`claim`); a node that dies mid-send lets its
claim lapse and another node sends it again (FCM's collapse key and the app's call id make that
one harmless). The statements are :mod:`server.db.push_statements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import direct

# The rows' words (CANCEL ... SENT) are re-exported: the sender and the messages import them
# from here.
from server.db.push_statements import CANCEL as CANCEL
from server.db.push_statements import (
    CANCEL_AFTER_LATE_INCOMING,
    CLAIMED,
    DEVICES,
    DROP_UNSENT_INCOMING,
    ENQUEUE_CANCELS,
    ENQUEUE_INCOMING,
    OUTBOX,
    SENDABLE,
)
from server.db.push_statements import DROPPED as DROPPED
from server.db.push_statements import INCOMING as INCOMING
from server.db.push_statements import PENDING as PENDING
from server.db.push_statements import SENT as SENT
from server.db.transaction import Db

_ENQUEUE_INCOMING = direct.Prepared(ENQUEUE_INCOMING, sqlite_only=True)
_ENQUEUE_CANCELS = direct.Prepared(ENQUEUE_CANCELS, sqlite_only=True)
_DROP_UNSENT_INCOMING = direct.Prepared(DROP_UNSENT_INCOMING, sqlite_only=True)
"""What a ringing call's transactions write (push on): in a direct transaction on SQLite."""

CANCEL_WINDOW = timedelta(seconds=60)
"""A cancel is tried for this long after the call stopped ringing (a ring timeout stops it at
the very deadline an ``incoming`` had)."""


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed push, with what its message is made of."""

    id: int
    call_id: str
    user_id: str
    device_id: str
    kind: str
    status: str | None
    expires_at: datetime
    """An ``incoming``'s ring deadline; a ``cancel``'s end of tries."""
    attempts: int
    token: str | None
    """``None``: the device removed its registration since."""
    caller_id: str
    caller_name: str
    context_label: str | None = None
    """The call's CRM context, if the caller gave one."""


async def register_device(
    session: AsyncSession,
    *,
    user_id: str,
    tenant_id: str,
    device_id: str,
    provider: str,
    token: str,
    at: datetime,
) -> list[tuple[str, str]]:
    """``device_id`` of ``user_id`` is woken with ``token`` from now on: its old token goes, and
    so does ``token`` from any other device that had it (of any user); ``(user id, tenant id)``
    of the devices it was taken from."""
    mine = and_(DEVICES.c.user_id == user_id, DEVICES.c.device_id == device_id)
    taken = await session.execute(
        delete(DEVICES)
        .where(DEVICES.c.token == token, ~mine)
        .returning(DEVICES.c.user_id, DEVICES.c.tenant_id)
    )
    taken_from = [(str(uid), str(tid)) for uid, tid in taken]
    values = {"provider": provider, "token": token, "updated_at": at}
    updated = await session.execute(update(DEVICES).where(mine).values(**values))
    if not getattr(updated, "rowcount", 0):
        row = {"user_id": user_id, "device_id": device_id, "tenant_id": tenant_id, **values}
        await session.execute(insert(DEVICES).values(**row))
    return taken_from


async def remove_push_for_device(session: AsyncSession, *, user_id: str, device_id: str) -> bool:
    """Forget ``device_id``'s push registration (at sign-out); whether there was one."""
    gone = await session.execute(
        delete(DEVICES).where(DEVICES.c.user_id == user_id, DEVICES.c.device_id == device_id)
    )
    return bool(getattr(gone, "rowcount", 0))


async def drop_token(session: AsyncSession, *, token: str) -> None:
    """FCM says ``token`` is dead: forget it (a newer token of the same device stays)."""
    await session.execute(delete(DEVICES).where(DEVICES.c.token == token))


async def enqueue_incoming(
    session: Db, *, call_id: str, callee_id: str, at: datetime, expires_at: datetime
) -> int:
    """An ``incoming`` for every push device of ``callee_id``; how many."""
    params = {"call": call_id, "user": callee_id, "at": at, "expires": expires_at}
    return (await direct.execute(session, _ENQUEUE_INCOMING, params)).rowcount


async def enqueue_cancels(session: Db, *, call_id: str, status: str, at: datetime) -> None:
    """The call stopped ringing (it is ``status`` now): a cancel to every device an incoming was
    tried on; incomings not tried yet are dropped."""
    params = {"call": call_id, "status": status, "at": at, "expires": at + CANCEL_WINDOW}
    await direct.execute(session, _ENQUEUE_CANCELS, params)
    await direct.execute(session, _DROP_UNSENT_INCOMING, {"call": call_id, "at": at})


async def due_ids(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Up to ``limit`` pushes that may be sent at ``now``, the longest due first."""
    query = select(OUTBOX.c.id).where(OUTBOX.c.due_at <= now, SENDABLE).order_by(OUTBOX.c.due_at)
    return list(await session.scalars(query.limit(limit), {"now": now}))


async def claim(
    session: AsyncSession, *, push_id: int, node: str, now: datetime, until: datetime
) -> bool:
    """Claim one push for ``node`` until ``until`` (one conditional UPDATE: of nodes racing for
    it, one wins); whether this one did. Counts an attempt."""
    claimed = await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == push_id, SENDABLE)
        .values(claimed_by=node, claimed_until=until, attempts=OUTBOX.c.attempts + 1),
        {"now": now},
    )
    return bool(getattr(claimed, "rowcount", 0))


async def claimed_items(session: AsyncSession, *, ids: list[int]) -> list[OutboxItem]:
    """The claimed pushes with their tokens and callers."""
    if not ids:
        return []
    rows = await session.execute(CLAIMED, {"ids": ids})
    return [OutboxItem(*row) for row in rows]


async def settle_item(
    session: AsyncSession, *, push_id: int, state: str, retry_at: datetime | None = None
) -> None:
    """Sent (``sent``), given up (``dropped``) or, ``pending`` with ``retry_at``, tried again
    then; the claim ends."""
    values: dict[str, Any] = {"state": state, "claimed_until": None}
    if retry_at is not None:
        values["due_at"] = retry_at
    await session.execute(update(OUTBOX).where(OUTBOX.c.id == push_id).values(**values))


async def cancel_if_stopped(session: AsyncSession, *, item: OutboxItem, at: datetime) -> None:
    """See :data:`~server.db.push_statements.CANCEL_AFTER_LATE_INCOMING`."""
    params = {
        "call": item.call_id,
        "user": item.user_id,
        "device": item.device_id,
        "at": at,
        "expires": at + CANCEL_WINDOW,
    }
    await session.execute(CANCEL_AFTER_LATE_INCOMING, params)


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the earliest pending push comes due (a retry's backoff), if any is pending."""
    query = select(OUTBOX.c.due_at).where(SENDABLE).order_by(OUTBOX.c.due_at).limit(1)
    found = await session.scalar(query, {"now": now})
    return found if isinstance(found, datetime) else None


async def forget_old(session: AsyncSession, *, before: datetime) -> None:
    """Delete pushes whose call stopped ringing before ``before``."""
    await session.execute(delete(OUTBOX).where(OUTBOX.c.expires_at < before))
