"""``/api/admin/users``: a tenant's admins manage its users. The tenant is always the admin's
own (from the token); a user of another tenant is ``not_found``, exactly as none."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from server import accounts
from server.api.cursors import Cursor, Limit, decode_cursor, split_page
from server.api.deps import CallsDep, DbDep, IdentityDep
from server.auth import Identity, hash_password
from server.calls import access
from server.db import accounts as account_data
from server.db import users as user_data
from server.errors import ServiceError
from voip_contract import ErrorCode, Page
from voip_contract.admin import AdminUser, AdminUserCreate, AdminUserUpdate

router = APIRouter(prefix="/admin")


async def _admin(ident: IdentityDep, deps: CallsDep) -> Identity:
    """The caller, if an admin of its tenant; ``forbidden`` otherwise."""
    # A session of its own, closed at once (the CSV's stream opens its own sessions later).
    async with deps.sessions() as session:
        user = await user_data.user_by_id(session, user_id=ident.user_id)
    if user is None or not accounts.is_admin(user):
        raise ServiceError(ErrorCode.FORBIDDEN, "only the tenant's admins may do this")
    return ident


AdminDep = Annotated[Identity, Depends(_admin)]


@router.get("/users", response_model=Page[AdminUser])
async def list_users(
    admin: AdminDep,
    session: DbDep,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AdminUser]:
    """The tenant's users (disabled ones too) by email, whose name or email contains ``q``."""
    after = decode_cursor(cursor, 2) if cursor else None
    rows = await account_data.users_page(
        session,
        tenant_id=admin.tenant_id,
        search=q.strip(),
        after=(after[0], after[1]) if after else None,
        limit=limit + 1,
    )
    page, next_cursor = split_page(rows, limit, lambda u: (u.email, u.id))
    return Page[AdminUser](items=[accounts.admin_view(u) for u in page], next_cursor=next_cursor)


@router.post("/users", response_model=AdminUser, status_code=201)
async def create_user(admin: AdminDep, session: DbDep, body: AdminUserCreate) -> AdminUser:
    """A new user of the admin's tenant; no password: signs in through the identity provider."""
    hashed = await asyncio.to_thread(hash_password, body.password) if body.password else None
    user = await accounts.create(
        session, tenant_id=admin.tenant_id, body=body, password_hash=hashed
    )
    await session.commit()
    return accounts.admin_view(user)


@router.patch("/users/{user_id}", response_model=AdminUser)
async def update_user(
    user_id: str, admin: AdminDep, session: DbDep, body: AdminUserUpdate
) -> AdminUser:
    user = await accounts.update(session, tenant_id=admin.tenant_id, user_id=user_id, body=body)
    await session.commit()
    return accounts.admin_view(user)


async def _set_disabled(
    deps: CallsDep, session: DbDep, admin: Identity, user_id: str, disabled: bool
) -> AdminUser:
    user = await accounts.set_disabled(
        session,
        tenant_id=admin.tenant_id,
        user_id=user_id,
        disabled=disabled,
        at=deps.clock.now(),
    )
    await session.commit()
    if disabled:  # at once, on every node: sessions revoked, sockets closed, calls ended
        await access.disable_user(deps, admin.tenant_id, user.id)
    return accounts.admin_view(user)


@router.post("/users/{user_id}/disable", response_model=AdminUser)
async def disable_user(user_id: str, admin: AdminDep, deps: CallsDep, session: DbDep) -> AdminUser:
    """Refuses the user's tokens and password from now on."""
    return await _set_disabled(deps, session, admin, user_id, True)


@router.post("/users/{user_id}/enable", response_model=AdminUser)
async def enable_user(user_id: str, admin: AdminDep, deps: CallsDep, session: DbDep) -> AdminUser:
    return await _set_disabled(deps, session, admin, user_id, False)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: str, admin: AdminDep, deps: CallsDep, session: DbDep) -> Response:
    """The user is gone; its calls stay in everyone's history with its name."""
    await accounts.delete(session, tenant_id=admin.tenant_id, user_id=user_id, at=deps.clock.now())
    await session.commit()
    await access.disable_user(deps, admin.tenant_id, user_id[:64])  # its access ends at once too
    return Response(status_code=204)
