"""``/api/auth``: sign in with a password, renew a token, sign out, list and revoke sessions."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Header, Request, Response

from server import accounts, signin_guard
from server.api.deps import CallsDep, DbDep, IdentityDep, bearer
from server.auth import issue_token, renew_token, verify_password
from server.calls import access, push_devices
from server.db import access as access_data
from server.db import users as user_data
from server.db.models import User
from server.errors import ServiceError
from voip_contract import (
    ErrorCode,
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    SignInSession,
    SignInSessionList,
)
from voip_contract import User as UserOut

router = APIRouter(prefix="/auth")
_CHECKS = asyncio.Semaphore(max(1, (os.cpu_count() or 2) - 1))
"""Password checks at once: argon2 takes all of a core, so more at once only make everything
on the machine slower (the event loop and the database thread included); the rest wait here,
holding no database connection."""


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
    )


@router.post("/login", response_model=LoginResponse)
async def login(body: LoginRequest, request: Request, deps: CallsDep) -> LoginResponse:
    """Sign in with a password; guessing is slowed down by :mod:`server.signin_guard`.

    No database connection is held while argon2 runs (tens of milliseconds of CPU): one
    short session reads, another writes the outcome.
    """
    email = body.email.lower()
    address = (request.client.host if request.client else "")[:64] or "unknown"
    async with deps.sessions() as session:
        now = deps.clock.now()
        reserved = await signin_guard.reserve(session, deps.settings, email, address, now=now)
        user = await user_data.user_by_email(session, email=email)
        await signin_guard.check_successes(
            session, deps.settings, user.id if user else None, address, now=now
        )
        await session.commit()
    known = user.password_hash if user else None
    # argon2 releases the GIL: off the event loop, and outside any transaction.
    async with _CHECKS:
        right = await asyncio.to_thread(verify_password, known, body.password)
    if not right or user is None:  # the reserved attempt stays counted as a failure
        raise ServiceError(ErrorCode.UNAUTHORIZED, "wrong email or password")
    async with deps.sessions() as session:
        now = deps.clock.now()
        await signin_guard.release(session, email, address, reserved)
        await session.commit()  # the released attempt stays released, disabled or not
        accounts.ensure_active(user)
        until = now + timedelta(seconds=deps.settings.session_max_s)
        sid = await access_data.open_session(
            session,
            user_id=user.id,
            device_id=body.device_id,
            now=now,
            until=until,
            address=address,
        )
        await session.commit()
    token, ttl = issue_token(deps.settings, user, now=now, session_id=sid)
    return LoginResponse(access_token=token, expires_in=ttl, user=user_out(user))


@router.post("/refresh", response_model=LoginResponse)
async def refresh(
    deps: CallsDep, session: DbDep, authorization: Annotated[str | None, Header()] = None
) -> LoginResponse:
    """A fresh access token for a valid one, so a signed-in device stays reachable past one
    token's lifetime (within ``VOIP_SESSION_MAX_S`` of the password sign-in), unless its
    session was revoked or its user disabled."""
    now = deps.clock.now()
    user, token, ttl = await renew_token(session, deps.settings, bearer(authorization), now=now)
    return LoginResponse(access_token=token, expires_in=ttl, user=user_out(user))


@router.post("/logout", status_code=204)
async def logout(
    ident: IdentityDep, deps: CallsDep, body: Annotated[LogoutRequest | None, Body()] = None
) -> Response:
    """Sign out: this token's session is revoked (no renewal, its sockets closed) and the
    device's push registration removed."""
    device_id = body.device_id if body else None
    if ident.session_id is not None:
        await access.revoke_session(
            deps, ident.tenant_id, ident.user_id, ident.session_id, device_id=device_id
        )
    elif device_id is not None:
        await push_devices.unregister(deps, ident, device_id)
    return Response(status_code=204)


@router.get("/sessions", response_model=SignInSessionList)
async def sessions(ident: IdentityDep, deps: CallsDep, session: DbDep) -> SignInSessionList:
    """The signed-in user's sessions neither revoked nor over."""
    rows = await access_data.sessions_of(session, user_id=ident.user_id, now=deps.clock.now())
    return SignInSessionList(
        items=[
            SignInSession(
                id=r.id,
                device_id=r.device_id,
                created_at=r.created_at,
                renewed_at=r.renewed_at,
                expires_at=r.expires_at,
                current=r.id == ident.session_id,
            )
            for r in rows
        ]
    )


@router.delete("/sessions/{session_id}", status_code=204)
async def revoke(session_id: str, ident: IdentityDep, deps: CallsDep) -> Response:
    """Revoke one of the user's own sessions (``not_found`` for any other id)."""
    if len(session_id) > 32 or not await access.revoke_session(
        deps, ident.tenant_id, ident.user_id, session_id
    ):
        raise ServiceError(ErrorCode.NOT_FOUND, "no such session")
    return Response(status_code=204)
