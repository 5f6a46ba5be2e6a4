"""What routes depend on (``Annotated`` aliases): the call deps, a database session, and the
authenticated identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Identity, authenticate
from server.calls.deps import CallDeps
from server.errors import ServiceError
from voip_contract import ErrorCode


def _calls(request: Request) -> CallDeps:
    deps: CallDeps = request.app.state.calls
    return deps


CallsDep = Annotated[CallDeps, Depends(_calls)]


async def _db(deps: CallsDep) -> AsyncIterator[AsyncSession]:
    async with deps.sessions() as session:
        yield session


DbDep = Annotated[AsyncSession, Depends(_db)]


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``unauthorized`` otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError(ErrorCode.UNAUTHORIZED, "Authorization: Bearer <token> needed")
    return token.strip()


async def _identity(
    deps: CallsDep, authorization: Annotated[str | None, Header()] = None
) -> Identity:
    # A session of its own, closed at once: routes that call the call operations open theirs.
    async with deps.sessions() as session:
        token = bearer(authorization)
        return await authenticate(session, deps.settings, token, now=deps.clock.now())


IdentityDep = Annotated[Identity, Depends(_identity)]
