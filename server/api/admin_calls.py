"""``/api/admin/calls`` and ``/api/admin/calls.csv``: the tenant's whole calls log for its
admins and the CRM's reporting, with the same filters (``user``, ``status``, ``from``, ``to``).
The CSV is streamed, a page of rows at a time, so its size is not bounded by memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from server.api.admin import AdminDep
from server.api.cursors import Cursor, Limit, decode_time_cursor, split_page
from server.api.deps import CallsDep, DbDep
from server.calls.views import context_of, note_of
from server.db.admin_calls import CallFilter, calls_page
from server.db.models import CallRow
from server.errors import ServiceError
from voip_contract import CallStatus, ErrorCode, Page, Party
from voip_contract.admin import AdminCall

router = APIRouter(prefix="/admin")
CSV_BATCH = 500
CSV_COLUMNS = [  # attributes of the call row, but the parties' names (see _csv_values)
    "id",
    "created_at",
    "status",
    "reason",
    "caller_id",
    "caller_name",
    "callee_id",
    "callee_name",
    "answered_at",
    "ended_at",
    "duration_s",
    "context_type",
    "context_id",
    "context_label",
    "outcome",
    "note",
]


def _filter(
    admin: AdminDep,
    user: Annotated[str | None, Query(max_length=64)] = None,
    status: CallStatus | None = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> CallFilter:
    """The query's filters, always within the admin's own tenant."""
    for given in (since, until):
        if given is not None and given.tzinfo is None:
            raise ServiceError(ErrorCode.INVALID_PAYLOAD, "from/to: give a time zone (Z)")
    return CallFilter(
        tenant_id=admin.tenant_id,
        user_id=user,
        status=status.value if status else None,
        since=since,
        until=until,
    )


FilterDep = Annotated[CallFilter, Depends(_filter)]


def admin_call(row: CallRow, caller_name: str, callee_name: str) -> AdminCall:
    return AdminCall(
        id=row.id,
        caller=Party(id=row.caller_id, display_name=caller_name),
        callee=Party(id=row.callee_id, display_name=callee_name),
        status=CallStatus(row.status),
        reason=row.reason,
        created_at=row.created_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        duration_s=row.duration_s,
        context=context_of(row),
        note=note_of(row),
    )


@router.get("/calls", response_model=Page[AdminCall])
async def list_calls(
    where: FilterDep, session: DbDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[AdminCall]:
    """The tenant's calls, newest first."""
    before = decode_time_cursor(cursor) if cursor else None
    rows = await calls_page(session, where=where, before=before, limit=limit + 1)
    page, next_cursor = split_page(rows, limit, lambda r: (r[0].created_at.isoformat(), r[0].id))
    return Page[AdminCall](items=[admin_call(*r) for r in page], next_cursor=next_cursor)


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is quoted with ``'``."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _line(values: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([_cell(v) for v in values])
    return out.getvalue()


def _csv_values(row: CallRow, caller_name: str, callee_name: str) -> list[object]:
    """One call's cells in ``CSV_COLUMNS``' order: every column but the parties' names is the
    call row's attribute of that name."""
    names = {"caller_name": caller_name, "callee_name": callee_name}
    return [names[c] if c in names else getattr(row, c) for c in CSV_COLUMNS]


async def _csv_rows(deps: CallsDep, where: CallFilter) -> AsyncIterator[str]:
    yield _line(list(CSV_COLUMNS))
    before: tuple[datetime, str] | None = None
    while True:
        async with deps.sessions() as session:  # one short read per batch, none held between
            rows = await calls_page(session, where=where, before=before, limit=CSV_BATCH)
        for row, caller, callee in rows:
            yield _line(_csv_values(row, caller, callee))
        if len(rows) < CSV_BATCH:
            return
        before = (rows[-1][0].created_at, rows[-1][0].id)


@router.get("/calls.csv")
async def calls_csv(where: FilterDep, deps: CallsDep) -> StreamingResponse:
    """The same calls as ``/admin/calls``, all of them, as CSV (newest first)."""
    return StreamingResponse(
        _csv_rows(deps, where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )
