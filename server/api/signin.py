"""``/api/auth``: sign in with a password, renew a token."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Request

from server import accounts, signin_guard
from server.api.deps import CallsDep, DbDep, bearer
from server.auth import issue_token, renew_token, verify_password
from server.db import users as user_data
from server.db.models import User
from server.errors import ServiceError
from voip_contract import ErrorCode, LoginRequest, LoginResponse
from voip_contract import User as UserOut

router = APIRouter(prefix="/auth")


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
    )


@router.post("/login", response_model=LoginResponse)
async def login(
    body: LoginRequest, request: Request, deps: CallsDep, session: DbDep
) -> LoginResponse:
    """Sign in with a password; guessing is slowed down by :mod:`server.signin_guard`."""
    email = body.email.lower()
    address = (request.client.host if request.client else "")[:64] or "unknown"
    now = deps.clock.now()
    await signin_guard.check(session, deps.settings, email, address, now=now)
    user = await user_data.user_by_email(session, email=email)
    # argon2 takes tens of milliseconds of CPU and releases the GIL: not on the event loop.
    known = user.password_hash if user else None
    if not await asyncio.to_thread(verify_password, known, body.password) or user is None:
        await signin_guard.failed(session, email, address, now=deps.clock.now())
        await session.commit()
        raise ServiceError(ErrorCode.UNAUTHORIZED, "wrong email or password")
    await signin_guard.succeeded(session, email, address)
    await session.commit()
    accounts.ensure_active(user)
    token, ttl = issue_token(deps.settings, user, now=deps.clock.now())
    return LoginResponse(access_token=token, expires_in=ttl, user=user_out(user))


@router.post("/refresh", response_model=LoginResponse)
async def refresh(
    deps: CallsDep, session: DbDep, authorization: Annotated[str | None, Header()] = None
) -> LoginResponse:
    """A fresh access token for a valid one, so a signed-in device stays reachable past one
    token's lifetime (within ``VOIP_SESSION_MAX_S`` of the password sign-in)."""
    now = deps.clock.now()
    user, token, ttl = await renew_token(session, deps.settings, bearer(authorization), now=now)
    return LoginResponse(access_token=token, expires_in=ttl, user=user_out(user))
