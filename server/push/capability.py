"""The decline capability a push carries: a short-lived token that can do one thing, decline one
call for its callee, without the session's access token (the phone's notification declines with
the app killed; the native side never holds the session).

It is a JWT (HS256) under a key derived from ``VOIP_JWT_SECRET`` for this use alone, with its own
audience, so it is never an access token and an access token is never one; it names the call,
the callee and the device it was pushed to, and expires with the ring.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from server.config import Settings
from server.errors import ServiceError
from voip_contract import ErrorCode
from voip_contract.base import CAPABILITY_MAX

ISSUER = "voip-server"
AUDIENCE = "voip-push-decline"
SCOPE = "decline"


@dataclass(frozen=True, slots=True)
class DeclineGrant:
    """What a valid capability allows: ``callee_id`` declines ``call_id`` (from ``device_id``)."""

    call_id: str
    callee_id: str
    device_id: str


def _key(settings: Settings) -> bytes:
    secret = settings.jwt_key().encode()
    return hmac.new(secret, b"voip push decline capability v1", hashlib.sha256).digest()


def mint_decline(settings: Settings, grant: DeclineGrant, *, expires_at: datetime) -> str:
    """A capability for ``grant`` that stops working at ``expires_at`` (the ring deadline)."""
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "scope": SCOPE,
        "sub": grant.callee_id,
        "call": grant.call_id,
        "dev": grant.device_id,
        "exp": int(expires_at.timestamp()),  # never past the ring (rounded down)
    }
    return jwt.encode(claims, _key(settings), algorithm="HS256")


def verify_decline(
    settings: Settings, capability: str, *, call_id: str, now: datetime
) -> DeclineGrant:
    """The grant of a capability valid at ``now`` for ``call_id``: ``unauthorized`` when it is
    malformed, altered, expired or not a decline capability; ``forbidden`` for another call."""
    if not capability or len(capability) > CAPABILITY_MAX:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "missing or oversized capability")
    claims = _claims(settings, capability)
    if int(claims["exp"]) <= now.timestamp():
        raise ServiceError(ErrorCode.UNAUTHORIZED, "the capability expired with the ring")
    if claims["call"] != call_id:
        raise ServiceError(ErrorCode.FORBIDDEN, "this capability is for another call")
    return DeclineGrant(str(claims["call"]), str(claims["sub"]), str(claims["dev"]))


def _claims(settings: Settings, capability: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            capability,
            _key(settings),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            # exp is checked against the server's clock (not the wall clock PyJWT would read)
            options={"require": ["exp", "sub", "call", "dev", "scope"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise ServiceError(ErrorCode.UNAUTHORIZED, f"invalid capability: {exc}") from exc
    if claims.get("scope") != SCOPE or not isinstance(claims.get("exp"), int):
        raise ServiceError(ErrorCode.UNAUTHORIZED, "not a decline capability")
    return claims
