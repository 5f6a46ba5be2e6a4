"""Access tokens, checked the way LiveKit checks them.

A LiveKit token is a JWT signed with HS256 using the API secret; its issuer (``iss``) is the API
key, ``sub`` is the participant identity and the ``video`` claim carries the grants
(``roomJoin``, ``room``, ``roomCreate``, ``roomList``, ``roomAdmin``, ``canPublish``…). LiveKit
allows one minute of clock skew on ``exp``/``nbf``; so does devsfu.

Every refusal is a :class:`TokenError` carrying the HTTP status LiveKit answers with (401 for a
missing, malformed, wrongly signed or expired token and for a missing grant).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

LEEWAY_S = 60


class TokenError(Exception):
    """A token was refused; ``status`` is the HTTP status LiveKit uses for that refusal."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class VideoGrants:
    """The subset of LiveKit's ``video`` grant devsfu acts on."""

    room_join: bool = False
    room: str = ""
    room_create: bool = False
    room_list: bool = False
    room_admin: bool = False
    room_record: bool = False
    can_publish: bool = True
    can_subscribe: bool = True
    hidden: bool = False
    can_update_own_metadata: bool = False


@dataclass(frozen=True)
class Claims:
    """A verified token: who it names and what it grants."""

    identity: str
    name: str
    metadata: str
    video: VideoGrants
    expires_at: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    sha256: str = ""


def _grants(raw: object) -> VideoGrants:
    if not isinstance(raw, dict):
        return VideoGrants()

    def flag(key: str, default: bool = False) -> bool:
        value = raw.get(key, default)
        return value if isinstance(value, bool) else default

    room = raw.get("room", "")
    return VideoGrants(
        room_join=flag("roomJoin"),
        room=room if isinstance(room, str) else "",
        room_create=flag("roomCreate"),
        room_list=flag("roomList"),
        room_admin=flag("roomAdmin"),
        room_record=flag("roomRecord"),
        can_publish=flag("canPublish", True),
        can_subscribe=flag("canSubscribe", True),
        hidden=flag("hidden"),
        can_update_own_metadata=flag("canUpdateOwnMetadata"),
    )


class TokenAuthority:
    """Verifies (and, for webhooks, mints) tokens for one API key/secret pair."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret must be set")
        self.api_key = api_key
        self._secret = api_secret

    def verify(self, token: str) -> Claims:
        """Return the token's claims, or raise :class:`TokenError` (401) saying why not."""
        if not token:
            raise TokenError("no permissions to access the room")
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid authorization token: {exc}") from exc
        if unverified.get("iss") != self.api_key:
            raise TokenError("invalid API key")
        try:
            raw: dict[str, Any] = jwt.decode(
                token,
                key=self._secret,
                algorithms=["HS256"],
                issuer=self.api_key,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(f"invalid authorization token: {exc}") from exc
        attributes = raw.get("attributes")
        return Claims(
            identity=str(raw.get("sub", "")),
            name=str(raw.get("name", "")),
            metadata=str(raw.get("metadata", "")),
            video=_grants(raw.get("video")),
            expires_at=int(raw["exp"]),
            attributes=(
                {str(k): str(v) for k, v in attributes.items()}
                if isinstance(attributes, dict)
                else {}
            ),
            sha256=str(raw.get("sha256", "")),
        )

    def verify_bearer(self, header: str | None) -> Claims:
        """Verify an ``Authorization`` header value (``Bearer <jwt>``)."""
        if not header:
            raise TokenError("permissions denied")
        if not header.startswith("Bearer "):
            raise TokenError("invalid authorization header. Must start with Bearer ")
        return self.verify(header[len("Bearer ") :])

    def sign_body(self, body: bytes, *, ttl_s: int = 300) -> str:
        """A token whose ``sha256`` claim is the base64 SHA-256 of ``body`` (webhook signing)."""
        now = int(time.time())
        claims = {
            "iss": self.api_key,
            "nbf": now,
            "exp": now + ttl_s,
            "sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


def require_join(claims: Claims) -> str:
    """The room a join token grants, or :class:`TokenError` as LiveKit answers it."""
    if not claims.video.room_join:
        raise TokenError("no permissions to access the room")
    if not claims.identity:
        raise TokenError("identity cannot be empty", status=400)
    if not claims.video.room:
        raise TokenError("no room name", status=400)
    return claims.video.room
