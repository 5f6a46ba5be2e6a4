"""Data functions of call recordings (``recordings``) and the tenants' recording policy.

Every change of a recording's status is one conditional UPDATE (``... WHERE status IN (...)``),
so a webhook, a reconcile and a stop racing on two nodes change it once; a deletion is one
``DELETE`` whose row count says which node deletes the file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import RecordingRow, Tenant

RUNNING = ("starting", "active")


async def tenant_policy(session: AsyncSession, *, tenant_id: str) -> str | None:
    """The tenant's own policy (``None``: it follows ``VOIP_RECORDING_DEFAULT``)."""
    found = await session.scalar(select(Tenant.recording_policy).where(Tenant.id == tenant_id))
    return None if found is None else str(found)


async def set_tenant_policy(session: AsyncSession, *, slug: str, policy: str | None) -> bool:
    """Set (or, with ``None``, clear) a tenant's policy; whether the tenant exists."""
    result = await session.execute(
        update(Tenant).where(Tenant.slug == slug).values(recording_policy=policy)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def insert_recording(session: AsyncSession, *, values: Mapping[str, Any]) -> bool:
    """Insert a running recording; ``False`` (rolled back) if its call has one already."""
    try:
        await session.execute(insert(RecordingRow).values(**values))
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def by_id(session: AsyncSession, *, recording_id: str) -> RecordingRow | None:
    return await session.get(RecordingRow, recording_id)


async def running_for_call(session: AsyncSession, *, call_id: str) -> list[RecordingRow]:
    query = select(RecordingRow).where(
        RecordingRow.call_id == call_id, RecordingRow.status.in_(RUNNING)
    )
    return list(await session.scalars(query))


async def match_egress(
    session: AsyncSession, *, egress_id: str, filename: str | None
) -> RecordingRow | None:
    """The recording of this egress: by its id, or (before the id was written: a webhook that
    came first, a crash) by the file it was asked to write."""
    found = await session.scalar(select(RecordingRow).where(RecordingRow.egress_id == egress_id))
    if found is None and filename:
        query = select(RecordingRow).where(
            RecordingRow.filename == filename, RecordingRow.egress_id.is_(None)
        )
        found = await session.scalar(query)
    return found


async def latest_for_calls(
    session: AsyncSession, *, call_ids: Collection[str]
) -> dict[str, RecordingRow]:
    """Each call's newest recording (one SELECT)."""
    if not call_ids:
        return {}
    query = (
        select(RecordingRow)
        .where(RecordingRow.call_id.in_(sorted(call_ids)))
        .order_by(RecordingRow.created_at, RecordingRow.id)
    )
    return {r.call_id: r for r in await session.scalars(query)}  # the newest wins


async def unsettled(session: AsyncSession, *, limit: int = 1000) -> list[RecordingRow]:
    query = select(RecordingRow).where(RecordingRow.status.in_(RUNNING)).limit(limit)
    return list(await session.scalars(query))


async def change(
    session: AsyncSession,
    *,
    recording_id: str,
    from_statuses: Sequence[str],
    values: Mapping[str, Any],
) -> bool:
    """Write ``values`` if the recording is still in one of ``from_statuses``; whether it was."""
    result = await session.execute(
        update(RecordingRow)
        .where(RecordingRow.id == recording_id, RecordingRow.status.in_(list(from_statuses)))
        .values(**values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def older_than(session: AsyncSession, *, before: datetime, limit: int) -> list[RecordingRow]:
    """Ended recordings made before ``before`` (retention)."""
    query = (
        select(RecordingRow)
        .where(RecordingRow.created_at < before, RecordingRow.status.not_in(RUNNING))
        .order_by(RecordingRow.created_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def delete_recording(session: AsyncSession, *, recording_id: str) -> bool:
    """Delete the row; ``True`` for the one session whose DELETE removed it."""
    result = await session.execute(delete(RecordingRow).where(RecordingRow.id == recording_id))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
