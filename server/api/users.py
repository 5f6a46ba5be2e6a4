"""``/api/me`` and ``/api/contacts``: who I am, and the users of my tenant with their presence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.cursors import Cursor, Limit, decode_cursor, split_page
from server.api.deps import CallsDep, DbDep, IdentityDep
from server.api.signin import user_out
from server.db import users as user_data
from server.db.presence import presence_of
from server.errors import ServiceError
from voip_contract import Contact, ErrorCode, Page
from voip_contract import User as UserOut

router = APIRouter()


@router.get("/me", response_model=UserOut)
async def me(ident: IdentityDep, session: DbDep) -> UserOut:
    user = await user_data.user_by_id(session, user_id=ident.user_id)
    if user is None:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "unknown user")
    return user_out(user)


@router.get("/contacts", response_model=Page[Contact])
async def contacts(
    ident: IdentityDep,
    deps: CallsDep,
    session: DbDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Contact]:
    """The caller's own tenant only, by display name, with each contact's presence."""
    after = decode_cursor(cursor, 2) if cursor else None
    rows = await user_data.contacts_page(
        session,
        tenant_id=ident.tenant_id,
        viewer_id=ident.user_id,
        search=q.strip(),
        after=(after[0], after[1]) if after else None,
        limit=limit + 1,
    )
    page, next_cursor = split_page(rows, limit, lambda u: (u.display_name, u.id))
    states = await presence_of(
        session,
        user_ids=[u.id for u in page],
        live_since=deps.live_since(),
        push=deps.push.enabled,
    )
    items = [
        Contact(id=u.id, display_name=u.display_name, email=u.email, presence=states[u.id])
        for u in page
    ]
    return Page[Contact](items=items, next_cursor=next_cursor)
