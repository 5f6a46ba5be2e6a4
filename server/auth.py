"""Passwords (argon2), the server's own access tokens (PyJWT, HS256) and the CRM IdP's tokens.

Two kinds of bearer token are accepted, everywhere a token is:

- ours, from ``POST /api/auth/login``: ``iss=voip-server``, ``aud=voip``, ``sub`` = user id,
  ``auth_time`` = when the password was checked, ``sid`` = the sign-in session (revocable:
  ``auth_sessions``; a token without one predates sessions and is accepted until it expires).
  ``POST /api/auth/refresh`` trades a valid one for a fresh one with the same ``auth_time``,
  until ``VOIP_SESSION_MAX_S`` after it;
- the CRM identity provider's (Supabase-style HS256, ``VOIP_IDP_JWT_SECRET``), with its issuer
  and audience checked when configured; ``sub`` is looked up in ``users.external_subject``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from server import accounts
from server.config import Settings
from server.db import access as access_data
from server.db import users as user_data
from server.db.models import User
from server.db.transaction import Db
from server.errors import ServiceError
from server.tokens import AUDIENCE as AUDIENCE
from server.tokens import ISSUER as ISSUER
from server.tokens import check_times, our_claims
from server.tokens import issue_token as issue_token
from server.tokens import unauthorized as _unauthorized
from voip_contract import ErrorCode

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
    session_id: str | None = None
    """The sign-in session of the token (ours); ``None`` for identity-provider tokens."""
    expires_at: datetime | None = None
    """When the token presented expires."""


async def authenticate(
    session: AsyncSession, settings: Settings, token: str | None, *, now: datetime
) -> Identity:
    """The identity behind a bearer token valid at ``now``, or ``ServiceError(UNAUTHORIZED)``:
    also when its user is disabled or its session revoked."""
    bearer = decode_bearer(settings, token, now)
    if not bearer.ours:
        return await _idp_identity(session, settings, bearer.claims)
    user_id, session_id = _subject_and_session(bearer.claims)
    facts = await access_data.token_facts(session, user_id=user_id, session_id=session_id)
    return _checked(bearer.claims, facts)


@dataclass(frozen=True, slots=True)
class Bearer:
    """A bearer token, decoded once before any database work: its verified claims, and whether
    it is ours (else the identity provider's)."""

    claims: dict[str, Any]
    ours: bool


def decode_bearer(settings: Settings, token: str | None, now: datetime) -> Bearer:
    """``token``'s verified claims at ``now``, ours or the identity provider's; ``unauthorized``
    for any other (nothing is read for it)."""
    claims = our_claims(settings, token, now)
    if claims is not None:
        return Bearer(claims, ours=True)
    return Bearer(_idp_claims(settings, token, now), ours=False)


async def authenticate_socket(
    session: Db, settings: Settings, bearer: Bearer, *, live_since: datetime
) -> tuple[Identity, int]:
    """:func:`authenticate` for a socket's connect, and how many sockets the user holds on nodes
    alive since ``live_since``: for a token of ours in one round trip (columns, not an ORM
    object), with the same checks (:func:`_checked`), in any unit of work; an identity
    provider's user is found (or provisioned) through the ORM, so its token needs a session."""
    if not bearer.ours:
        if not isinstance(session, AsyncSession):
            raise TypeError("an identity provider's token is checked in a session")
        ident = await _idp_identity(session, settings, bearer.claims)
        facts = await access_data.connect_facts(
            session, user_id=ident.user_id, session_id=None, live_since=live_since
        )
        return ident, facts.live_sockets if facts else 0
    user_id, session_id = _subject_and_session(bearer.claims)
    facts = await access_data.connect_facts(
        session, user_id=user_id, session_id=session_id, live_since=live_since
    )
    ident = _checked(bearer.claims, facts)
    return ident, facts.live_sockets if facts else 0


def _subject_and_session(claims: dict[str, Any]) -> tuple[str, str | None]:
    """The user a token of ours names, and its sign-in session (``None``: none, or not a
    string, which :func:`_checked` refuses)."""
    sid = claims.get("sid")
    return str(claims["sub"]), sid if isinstance(sid, str) else None


def _checked(claims: dict[str, Any], facts: access_data.TokenFacts | None) -> Identity:
    """The checks of a token of ours against its user's row, for a request and a socket's
    connect alike, in this order: the user exists; the token's sign-in session (if it names
    one) is that user's and not revoked; the user is neither disabled nor deleted."""
    user_id, session_id = _subject_and_session(claims)
    if facts is None:
        raise _unauthorized("unknown user")
    if claims.get("sid") is not None and (session_id is None or facts.session_user_id != user_id):
        raise _unauthorized("this session was signed out")
    if facts.inactive:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "this account is disabled")
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return Identity(user_id, facts.tenant_id, facts.email, facts.display_name, session_id, expires)


async def renew_token(
    session: AsyncSession, settings: Settings, token: str | None, *, now: datetime
) -> tuple[User, str, int]:
    """A fresh token for ``token`` of ours, still valid at ``now``: ``(user, token, ttl)``.

    Refused with ``unauthorized`` when the token is not valid (expired included) or the session
    began more than ``VOIP_SESSION_MAX_S`` ago; with ``forbidden`` for an identity provider's
    token, which only the identity provider renews.
    """
    bearer = decode_bearer(settings, token, now)  # an invalid one is refused (401)
    if not bearer.ours:  # a valid one's user is found (or provisioned) first
        await _idp_user(session, settings, bearer.claims)
        raise ServiceError(
            ErrorCode.FORBIDDEN,
            "identity-provider tokens are renewed by the identity provider, not here",
        )
    claims = bearer.claims
    auth_time = datetime.fromtimestamp(int(claims.get("auth_time", claims["iat"])), UTC)
    if now - auth_time >= timedelta(seconds=settings.session_max_s):
        raise _unauthorized("this session is too old to renew; sign in again")
    user_id, sid = _subject_and_session(claims)
    _checked(claims, await access_data.token_facts(session, user_id=user_id, session_id=sid))
    user = await user_data.user_by_id(session, user_id=user_id)
    if user is None:  # (checked just above, in this transaction)
        raise _unauthorized("unknown user")
    if sid is None:  # a token from before sessions: from now on it is one, and revocable
        until = auth_time + timedelta(seconds=settings.session_max_s)
        sid = await access_data.open_session(
            session, user_id=user.id, device_id=None, now=now, until=until
        )
    await access_data.renewed(session, session_id=sid, at=now)
    await session.commit()
    fresh, ttl = issue_token(settings, user, now=now, auth_time=auth_time, session_id=sid)
    return user, fresh, ttl


def _idp_claims(settings: Settings, token: str | None, now: datetime) -> dict[str, Any]:
    """The verified claims of an identity provider's ``token`` valid at ``now``, or
    ``unauthorized`` (also when no identity provider is configured)."""
    if settings.idp_jwt_secret is None or token is None:
        raise _unauthorized("invalid token")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.idp_jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=settings.idp_audience,
            issuer=settings.idp_issuer,
            options={
                "require": ["exp", "sub"],
                "verify_aud": settings.idp_audience is not None,
                "verify_iss": settings.idp_issuer is not None,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        check_times(claims, now)
    except jwt.PyJWTError as exc:
        raise _unauthorized(f"invalid identity-provider token: {exc}") from exc
    return claims


async def _idp_user(session: AsyncSession, settings: Settings, claims: dict[str, Any]) -> User:
    """The user the identity provider's verified ``claims`` name (``sub``), provisioned on its
    first sign-in."""
    known = await user_data.user_by_subject(session, subject=str(claims["sub"]))
    return known if known is not None else await accounts.provision(session, settings, claims)


async def _idp_identity(
    session: AsyncSession, settings: Settings, claims: dict[str, Any]
) -> Identity:
    """The identity behind the identity provider's verified ``claims``; ``unauthorized`` when
    its user is disabled."""
    user = await _idp_user(session, settings, claims)
    accounts.ensure_active(user)
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return Identity(user.id, user.tenant_id, user.email, user.display_name, None, expires)
