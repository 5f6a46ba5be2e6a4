"""``/api/calls``: my call history, one call, and a token to rejoin a call's room."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from server.api.cursors import Cursor, Limit, decode_time_cursor, split_page
from server.api.deps import CallsDep, DbDep, IdentityDep
from server.calls import answer
from server.calls.views import calls_seen_by
from server.db import calls as call_data
from server.errors import ServiceError
from voip_contract import Call, ErrorCode, Page, RoomToken
from voip_contract.base import ID_MAX

router = APIRouter(prefix="/calls")


@router.get("", response_model=Page[Call])
async def history(
    ident: IdentityDep, session: DbDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[Call]:
    """Only calls I am part of, newest first."""
    before = decode_time_cursor(cursor) if cursor else None
    rows = await call_data.calls_page(
        session, user_id=ident.user_id, before=before, limit=limit + 1
    )
    page, next_cursor = split_page(rows, limit, lambda c: (c.created_at.isoformat(), c.id))
    items = await calls_seen_by(session, page, ident.user_id)
    return Page[Call](items=items, next_cursor=next_cursor)


@router.get("/{call_id}", response_model=Call)
async def one_call(call_id: str, ident: IdentityDep, session: DbDep) -> Call:
    """A call I am part of (``not_found`` for any other, whether or not it exists)."""
    row = await call_data.load_call(session, call_id=call_id[:ID_MAX])
    if row is None or ident.user_id not in (row.caller_id, row.callee_id):
        raise ServiceError(ErrorCode.NOT_FOUND, "no such call")
    return (await calls_seen_by(session, [row], ident.user_id))[0]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str | None = Field(default=None, min_length=1, max_length=ID_MAX)


@router.post("/{call_id}/token", response_model=RoomToken)
async def room_token(
    call_id: str, ident: IdentityDep, deps: CallsDep, body: TokenRequest | None = None
) -> RoomToken:
    """A fresh room token for the device on an answered call, to rejoin after a network loss."""
    device = body.device_id if body else None
    return await answer.rejoin_token(deps, ident, call_id[:ID_MAX], device)
