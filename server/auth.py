"""Passwords (argon2), the server's own access tokens (PyJWT, HS256) and the CRM IdP's tokens.

Two kinds of bearer token are accepted, everywhere a token is:

- ours, from ``POST /api/auth/login``: ``iss=voip-server``, ``aud=voip``, ``sub`` = user id;
- the CRM identity provider's (Supabase-style HS256, ``VOIP_IDP_JWT_SECRET``), with its issuer
  and audience checked when configured; ``sub`` is looked up in ``users.external_subject``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.models import User
from server.errors import ServiceError
from voip_contract import ErrorCode

ISSUER = "voip-server"
AUDIENCE = "voip"
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, verified when the email is unknown so that both paths
    cost the same (no user enumeration by timing). Made on first use, not at import."""
    return _hasher.hash("not-a-password-of-anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: everything authorization decides on comes from here, never a payload."""

    user_id: str
    tenant_id: str
    email: str
    display_name: str


def issue_token(settings: Settings, user: User) -> tuple[str, int]:
    """A signed access token for ``user`` and its lifetime in seconds."""
    now = datetime.now(UTC)
    ttl = settings.jwt_ttl_s
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user.id,
        "tid": user.tenant_id,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    return jwt.encode(claims, settings.jwt_key(), algorithm="HS256"), ttl


def _unauthorized(message: str) -> ServiceError:
    return ServiceError(ErrorCode.UNAUTHORIZED, message)


async def authenticate(session: AsyncSession, settings: Settings, token: str | None) -> Identity:
    """The identity behind a bearer token, or ``ServiceError(UNAUTHORIZED)``."""
    if not token or len(token) > 4096:
        raise _unauthorized("missing or oversized token")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _unauthorized("malformed token") from exc
    if unverified.get("iss") == ISSUER:
        try:
            claims = jwt.decode(
                token,
                settings.jwt_key(),
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from exc
        user = await session.get(User, str(claims["sub"]))
    else:
        user = await _idp_user(session, settings, token)
    if user is None:
        raise _unauthorized("unknown user")
    return Identity(user.id, user.tenant_id, user.email, user.display_name)


async def _idp_user(session: AsyncSession, settings: Settings, token: str) -> User | None:
    if settings.idp_jwt_secret is None:
        raise _unauthorized("invalid token")
    try:
        claims = jwt.decode(
            token,
            settings.idp_jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.idp_audience,
            issuer=settings.idp_issuer,
            options={
                "require": ["exp", "sub"],
                "verify_aud": settings.idp_audience is not None,
                "verify_iss": settings.idp_issuer is not None,
            },
        )
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid identity-provider token: {exc}") from exc
    subject = str(claims["sub"])
    return await session.scalar(select(User).where(User.external_subject == subject))
