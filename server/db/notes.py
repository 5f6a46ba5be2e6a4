"""Data functions on calls' notes and tenants' outcome lists: keyword-only, no decisions; the
caller owns the session and its transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import statements as st
from server.db.models import Tenant
from voip_contract import CallStatus

FINAL = [s.value for s in CallStatus if s.is_final]


async def set_note(
    session: AsyncSession,
    *,
    call_id: str,
    outcome: str | None,
    text: str | None,
    by: str,
    at: datetime,
) -> bool:
    """Write the note on a finished call; whether the call was finished."""
    done = await session.execute(
        update(st.CALLS)
        .where(st.CALLS.c.id == call_id, st.CALLS.c.status.in_(FINAL))
        .values(outcome=outcome, note=text, note_by=by, note_at=at)
    )
    return bool(getattr(done, "rowcount", 0))


async def outcomes_of(session: AsyncSession, *, tenant_id: str) -> str | None:
    """The tenant's outcomes, comma-separated (``None``: it never set any)."""
    found = await session.scalar(select(Tenant.call_outcomes).where(Tenant.id == tenant_id))
    return None if found is None else str(found)


async def set_outcomes(session: AsyncSession, *, tenant_id: str, outcomes: str) -> None:
    await session.execute(
        update(Tenant).where(Tenant.id == tenant_id).values(call_outcomes=outcomes)
    )
