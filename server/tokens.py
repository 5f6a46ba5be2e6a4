"""The server's own access tokens (PyJWT, HS256): issued, and read back once per request.

A bearer token is ours when its (unverified) ``iss`` is this server's; then it must verify with
our key, audience and issuer, or it is refused. Reading one costs one verified decode: the
unverified look at ``iss`` is made only when that decode fails (to tell a bad token of ours,
refused, from an identity provider's, checked by :mod:`server.auth`). Every socket's connect and
every HTTP request reads a token, so this is on the connect's hot path.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from server.config import Settings
from server.db.models import User
from server.errors import ServiceError
from voip_contract import ErrorCode

ISSUER = "voip-server"
AUDIENCE = "voip"
MAX_TOKEN_CHARS = 4096


class _HS256OncePerKey(HMACAlgorithm):
    """HS256 that checks a key once, not once per token. PyJWT's ``prepare_key`` tries the
    secret as PEM, SSH, DER and JSON (to refuse an asymmetric key as an HMAC secret) at every
    decode: half the cost of verifying a token. The secret is fixed per process; the same
    checks still run, on its first use."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def prepare_key(self, key: str | bytes) -> bytes:
        return _prepared(key)


@functools.lru_cache(maxsize=8)
def _prepared(key: str | bytes) -> bytes:
    return HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(key)


def hs256_decoder() -> jwt.PyJWT:
    """A PyJWT of its own, HS256 with :class:`_HS256OncePerKey` (the global ``jwt.decode`` is
    left as it is for everyone else): what reads this server's tokens, and ``bench``'s floor."""
    decoder = jwt.PyJWT()
    jws = decoder._jws  # PyJWT exposes no other way to give its verifier an algorithm
    jws.unregister_algorithm("HS256")
    jws.register_algorithm("HS256", _HS256OncePerKey())
    return decoder


_DECODER = hs256_decoder()
_OPTIONS: Any = {
    "require": ["exp", "iat", "sub"],
    # PyJWT would check the times on the wall clock: check_times does, on the injected one
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


def issue_token(
    settings: Settings,
    user: User,
    *,
    now: datetime,
    auth_time: datetime | None = None,
    session_id: str | None = None,
) -> tuple[str, int]:
    """A signed access token for ``user``, issued at ``now``, and its lifetime in seconds.

    ``auth_time``: when the user proved who they are (now, for a password sign-in). A renewed
    token keeps it, so no chain of renewals outlives ``VOIP_SESSION_MAX_S``, and no token
    outlives that limit either.
    """
    auth_time = auth_time or now
    session_end = auth_time + timedelta(seconds=settings.session_max_s)
    expires = min(now + timedelta(seconds=settings.jwt_ttl_s), session_end)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user.id,
        "tid": user.tenant_id,
        "iat": now,
        "auth_time": int(auth_time.timestamp()),
        "exp": expires,
    }
    if session_id is not None:
        claims["sid"] = session_id
    ttl = max(0, int((expires - now).total_seconds()))
    return jwt.encode(claims, settings.jwt_key(), algorithm="HS256"), ttl


def unauthorized(message: str) -> ServiceError:
    return ServiceError(ErrorCode.UNAUTHORIZED, message)


def our_claims(settings: Settings, token: str | None, now: datetime) -> dict[str, Any] | None:
    """The verified claims of ``token`` if it is ours and valid at ``now``; ``None`` if it is
    well-formed but not ours (an identity provider's); ``unauthorized`` if it is missing,
    oversized or malformed, or ours and not valid."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise unauthorized("missing or oversized token")
    try:
        claims: dict[str, Any] = _DECODER.decode(
            token,
            settings.jwt_key(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options=_OPTIONS,
        )
    except jwt.PyJWTError as exc:
        if unverified(token).get("iss") != ISSUER:
            return None
        raise unauthorized(f"invalid token: {exc}") from exc
    try:
        check_times(claims, now)
    except jwt.PyJWTError as exc:
        raise unauthorized(f"invalid token: {exc}") from exc
    return claims


def unverified(token: str | None) -> dict[str, Any]:
    """The claims of a well-formed token, its signature not checked; ``unauthorized`` if it is
    missing, oversized or malformed."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise unauthorized("missing or oversized token")
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise unauthorized("malformed token") from exc
    return claims


def check_times(claims: dict[str, Any], now: datetime) -> None:
    """PyJWT's checks of ``iat``, ``nbf`` and ``exp`` (no leeway), made at ``now``: PyJWT itself
    would read the wall clock, so they are turned off there (``verify_exp`` etc.)."""
    at = now.timestamp()
    try:
        if "iat" in claims and int(claims["iat"]) > at:
            raise jwt.ImmatureSignatureError("The token is not yet valid (iat)")
        if "nbf" in claims and int(claims["nbf"]) > at:
            raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
        if "exp" in claims and int(claims["exp"]) <= at:
            raise jwt.ExpiredSignatureError("Signature has expired")
    except (ValueError, TypeError, OverflowError) as exc:
        raise jwt.DecodeError("iat, nbf and exp must be integers") from exc
