"""The tenant-wide calls log for admins and the CRM's reporting (``/api/admin/calls``): one
keyset-paged SELECT with both parties' names; keyword-only, no decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import statements as st
from server.db.models import CallRow

CALLS = st.CALLS
_CALLER, _CALLEE = st.USERS.alias("caller"), st.USERS.alias("callee")


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls: of ``tenant_id``, with ``user_id`` as either party, in ``status``,
    created in ``[since, until)``; each unset filter lets every call through."""

    tenant_id: str
    user_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(f: CallFilter) -> list[Any]:
    conditions: list[Any] = [CALLS.c.tenant_id == f.tenant_id]
    if f.user_id is not None:
        conditions.append(or_(CALLS.c.caller_id == f.user_id, CALLS.c.callee_id == f.user_id))
    if f.status is not None:
        conditions.append(CALLS.c.status == f.status)
    if f.since is not None:
        conditions.append(CALLS.c.created_at >= f.since)
    if f.until is not None:
        conditions.append(CALLS.c.created_at < f.until)
    return conditions


async def calls_page(
    session: AsyncSession,
    *,
    where: CallFilter,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[CallRow, str, str]]:
    """Up to ``limit`` calls ``where`` picks, newest first, older than ``before``
    (``(created_at, id)`` of the last call of the previous page): each with its caller's and
    callee's display names."""
    conditions = _where(where)
    if before is not None:
        when, cid = before
        conditions.append(
            or_(CALLS.c.created_at < when, and_(CALLS.c.created_at == when, CALLS.c.id < cid))
        )
    query = (
        select(CALLS, _CALLER.c.display_name, _CALLEE.c.display_name)
        .join(_CALLER, _CALLER.c.id == CALLS.c.caller_id)
        .join(_CALLEE, _CALLEE.c.id == CALLS.c.callee_id)
        .where(*conditions)
        .order_by(CALLS.c.created_at.desc(), CALLS.c.id.desc())
        .limit(limit)
    )
    keys = CALLS.c.keys()
    found = []
    for row in await session.execute(query):
        *columns, caller_name, callee_name = row
        found.append((CallRow(**dict(zip(keys, columns, strict=True))), caller_name, callee_name))
    return found
