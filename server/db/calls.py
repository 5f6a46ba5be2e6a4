"""Data functions on calls and their ``call_events``: keyword-only, one statement each (mostly a
prebuilt one from :mod:`server.db.statements`), no decisions. The caller owns the session and
its transaction; nothing here commits.

Calls are read as plain (transient) :class:`CallRow` objects, never through the ORM identity
map, so a later autoflush can never write a stale status back. The two that every call's steps
run and that only execute a statement (:func:`insert_event`, :func:`release_lines`) return the
awaitable instead of awaiting it themselves: one coroutine less per step on the hot path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Update, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from server.db import direct
from server.db import statements as st
from server.db import webhooks as hook_data
from server.db.models import CallRow
from server.db.tables.calls import call_row as call_row
from server.db.transaction import Db
from server.db.users import PartyRow

_CALL_KEYS = tuple(st.CALLS.c.keys())
_CALL_WITH_NAMES = direct.Prepared(st.CALL_WITH_NAMES)
_INSERT_CALL = direct.Prepared(st.INSERT_CALL)
_INSERT_EVENT = direct.Prepared(st.INSERT_EVENT)
_FOLLOW_CALLER = direct.Prepared(st.FOLLOW_CALLER)
_CLAIM_LINES = direct.Prepared(st.CLAIM_LINES, lists=("ids",))
_RELEASE_LINES = direct.Prepared(st.RELEASE_LINES, lists=("ids",))
"""The statements every call set-up runs, on SQLite's connection directly
(:mod:`server.db.direct`)."""
_CALL_BY_ID = direct.Prepared(st.CALL_BY_ID, sqlite_only=True)
_CALL_IN_ROOM = direct.Prepared(st.CALL_IN_ROOM, sqlite_only=True)
"""What the other settling paths read (sweeps, webhooks), in a direct transaction on SQLite."""


def _call(found: Row[Any] | None) -> CallRow | None:
    return None if found is None else call_row(found._mapping)


def _call_of(found: direct.Row | None) -> CallRow | None:
    return None if found is None else call_row(dict(zip(_CALL_KEYS, found, strict=True)))


async def load_call(session: Db, *, call_id: str) -> CallRow | None:
    """The call, or ``None``."""
    return _call_of((await direct.execute(session, _CALL_BY_ID, {"id": call_id})).first())


async def load_call_with_parties(
    session: Db, *, call_id: str
) -> tuple[CallRow, dict[str, PartyRow]] | None:
    """The call and both parties (their names; their lines are not read) in one SELECT, which
    also notes whether the call's tenant has a webhook endpoint (:mod:`server.db.webhooks`)."""
    # a read before any write of its step: no transaction needed for it (PostgreSQL)
    found = (await direct.execute(session, _CALL_WITH_NAMES, {"id": call_id}, alone=True)).first()
    if found is None:
        return None
    *columns, caller_name, callee_name, hooked = found
    row = call_row(dict(zip(_CALL_KEYS, columns, strict=True)))
    hook_data.note_endpoints(session, tenant_id=row.tenant_id, any_enabled=bool(hooked))
    parties = {
        row.caller_id: PartyRow(row.caller_id, row.tenant_id, caller_name, None),
        row.callee_id: PartyRow(row.callee_id, row.tenant_id, callee_name, None),
    }
    return row, parties


async def answered_call_in_room(session: Db, *, room_name: str) -> CallRow | None:
    """The IN_PROGRESS call whose LiveKit room is ``room_name``."""
    return _call_of((await direct.execute(session, _CALL_IN_ROOM, {"room": room_name})).first())


async def parties_in_room(session: AsyncSession, *, room_name: str) -> tuple[str, str, str] | None:
    """``(call id, caller id, callee id)`` of the IN_PROGRESS call in ``room_name``."""
    found = (await session.execute(st.PARTIES_IN_ROOM, {"room": room_name})).first()
    return None if found is None else (found[0], found[1], found[2])


async def call_by_request(
    session: AsyncSession, *, caller_id: str, request_id: str
) -> CallRow | None:
    """The call ``caller_id``'s invite ``request_id`` made."""
    params = {"user": caller_id, "rid": request_id}
    return _call((await session.execute(st.CALL_BY_REQUEST, params)).first())


async def ringing_for(session: AsyncSession, *, callee_id: str) -> list[CallRow]:
    """Every call ringing for ``callee_id``."""
    rows = await session.execute(st.RINGING_FOR, {"user": callee_id})
    return [call_row(r._mapping) for r in rows]


async def active_calls_of(session: AsyncSession, *, user_id: str) -> list[CallRow]:
    """The ringing and answered calls ``user_id`` is a party of, newest first."""
    rows = await session.execute(st.ACTIVE_CALLS_OF, {"user": user_id})
    return [call_row(r._mapping) for r in rows]


async def calls_page(
    session: AsyncSession, *, user_id: str, before: tuple[datetime, str] | None, limit: int
) -> list[CallRow]:
    """Up to ``limit`` calls ``user_id`` is a party of, newest first, older than ``before``
    (``(created_at, id)`` of the last call of the previous page)."""
    mine = or_(CallRow.caller_id == user_id, CallRow.callee_id == user_id)
    query = select(CallRow).where(mine)
    if before is not None:
        when, cid = before
        query = query.where(
            or_(CallRow.created_at < when, and_(CallRow.created_at == when, CallRow.id < cid))
        )
    query = query.order_by(CallRow.created_at.desc(), CallRow.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def insert_call(session: Db, *, values: Mapping[str, Any]) -> bool:
    """INSERT the call; ``False`` (rolled back) when its ``request_id`` was used already."""
    try:
        await direct.execute(session, _INSERT_CALL, values)
    except IntegrityError:
        await session.rollback()
        return False
    return True


def insert_event(
    session: Db,
    *,
    call_id: str,
    at: datetime,
    event: str,
    from_status: str | None,
    to_status: str,
    reason: str | None,
    actor: str,
    device: str | None,
) -> Awaitable[direct.Rows]:
    """One ``call_events`` row (await it)."""
    return direct.execute(
        session,
        _INSERT_EVENT,
        {
            "call_id": call_id,
            "at": at,
            "event": event,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "actor": actor,
            "device": device,
        },
    )


async def update_status(
    session: Db,
    *,
    call_id: str,
    from_status: str,
    changes: Mapping[str, Any],
    guard: ColumnElement[bool] | None = None,
) -> bool:
    """``UPDATE calls SET changes WHERE id = :call_id AND status = :from_status [AND guard]``;
    whether it changed the row (``False``: someone moved the call first)."""
    statement, prepared = _status_update(tuple(sorted(changes)))
    params = {f"new_{name}": value for name, value in changes.items()}
    params.update(call=call_id, from_status=from_status)
    if guard is not None:  # (a sweep's: prepared for this one execution)
        prepared = direct.Prepared(statement.where(guard), sqlite_only=True)
    return (await direct.execute(session, prepared, params)).rowcount == 1


_STATUS_UPDATES: dict[tuple[str, ...], tuple[Update, direct.Prepared]] = {}
"""The conditional UPDATE of a step, built once per set of columns it sets (a step's columns
come from the call table, so there are a handful): building it per step cost more than
running it."""


def _status_update(columns: tuple[str, ...]) -> tuple[Update, direct.Prepared]:
    built = _STATUS_UPDATES.get(columns)
    if built is None:
        calls = st.CALLS.c
        statement = (
            update(st.CALLS)
            .where(calls.id == bindparam("call"), calls.status == bindparam("from_status"))
            .values({name: bindparam(f"new_{name}", type_=calls[name].type) for name in columns})
        )
        built = _STATUS_UPDATES[columns] = (statement, direct.Prepared(statement))
    return built


async def claim_lines(session: Db, *, call_id: str, user_ids: Sequence[str]) -> bool:
    """Claim these users' lines for ``call_id`` in one conditional UPDATE; ``True`` only if all
    were free. Rows are locked in key order, so crossed invites cannot deadlock."""
    params = {"ids": sorted(user_ids), "call": call_id}
    result = await direct.execute(session, _CLAIM_LINES, params)
    return result.rowcount == len(user_ids)


def release_lines(session: Db, *, call_id: str, user_ids: Sequence[str]) -> Awaitable[direct.Rows]:
    """Free the lines ``call_id`` holds among these users (await it)."""
    return direct.execute(session, _RELEASE_LINES, {"ids": sorted(user_ids), "call": call_id})


async def follow_caller(session: Db, *, user_id: str, device_id: str, sid: str) -> None:
    """Move the ringing calls ``device_id`` of ``user_id`` placed to its socket ``sid``."""
    params = {"user": user_id, "device": device_id, "sid": sid}
    await direct.execute(session, _FOLLOW_CALLER, params)


async def follow_retry(
    session: AsyncSession, *, user_id: str, request_id: str, device_id: str, sid: str
) -> None:
    """Move a retried invite's call to ``sid`` if it still rings and ``device_id`` placed it."""
    params = {"user": user_id, "rid": request_id, "device": device_id, "sid": sid}
    await session.execute(st.FOLLOW_RETRY, params)


async def set_room_sid(session: AsyncSession, *, call_id: str, room_sid: str) -> str | None:
    """Store the room's sid on the answered call; the caller's socket then, or ``None`` when the
    call is no longer IN_PROGRESS."""
    found = (
        await session.execute(st.SET_ROOM_SID, {"call": call_id, "room_sid": room_sid})
    ).first()
    return None if found is None else str(found[0])


def grace_passed(now: datetime) -> ColumnElement[bool]:
    """A party's rejoin grace ran out by ``now``."""
    return or_(CallRow.caller_grace_until <= now, CallRow.callee_grace_until <= now)


async def ids_where(
    session: AsyncSession, *, status: str, condition: ColumnElement[bool], limit: int
) -> list[str]:
    """Ids of up to ``limit`` calls in ``status`` that meet ``condition`` (the sweeps)."""
    query = select(CallRow.id).where(CallRow.status == status, condition).limit(limit)
    return list(await session.scalars(query))


async def rooms_answered_before(
    session: AsyncSession, *, before: datetime, limit: int
) -> list[tuple[str, str]]:
    """``(call id, room name)`` of up to ``limit`` calls answered before ``before`` and still
    IN_PROGRESS, oldest answer first."""
    query = (
        select(CallRow.id, CallRow.room_name)
        .where(
            CallRow.status == st.IN_PROGRESS,
            CallRow.answered_at <= before,
            CallRow.room_name.is_not(None),
        )
        .order_by(CallRow.answered_at)
        .limit(limit)
    )
    return [(str(cid), str(room)) for cid, room in (await session.execute(query)).all()]


async def set_grace(
    session: AsyncSession, *, call_id: str, party: str, deadline: datetime | None
) -> bool:
    """Start (``deadline``) or clear (``None``) the rejoin grace of ``party`` (``caller`` or
    ``callee``) on an IN_PROGRESS call. One conditional UPDATE: starting needs no grace
    running, clearing needs one; whether it changed the call."""
    grace = CallRow.caller_grace_until if party == "caller" else CallRow.callee_grace_until
    running = grace.is_(None) if deadline is not None else grace.is_not(None)
    result = await session.execute(
        update(CallRow)
        .where(CallRow.id == call_id, CallRow.status == st.IN_PROGRESS, running)
        .values({grace.key: deadline})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def rooms_of_tenant(
    session: AsyncSession, *, tenant_id: str, names: Sequence[str]
) -> set[str]:
    """Which of the room ``names`` belong to calls of ``tenant_id``."""
    if not names:
        return set()
    rows = await session.scalars(
        select(CallRow.room_name).where(
            CallRow.tenant_id == tenant_id, CallRow.room_name.in_(list(names)[:1000])
        )
    )
    return {name for name in rows if name is not None}
