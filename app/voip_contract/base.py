"""What every payload of the contract shares: the limits, and the two kinds of model.

Models the server *receives* (:class:`Inbound`) forbid unknown fields and bound every string, so
a malformed or oversized payload is refused as ``invalid_payload`` before anything changes.
Models the app receives (:class:`Outbound`) ignore unknown fields, so the server can extend the
contract without breaking old apps.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

ID_MAX = 64
"""Longest id (user, call, request) the server accepts from a client."""
PUSH_TOKEN_MAX = 1024
"""Longest push token (FCM's are about 160 characters)."""
CAPABILITY_MAX = 2048
"""Longest decline capability a client may send back."""
PRESENCE_WATCH_MAX = 200
"""Most user ids one ``presence_watch`` may name (a page of contacts)."""


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Inbound(BaseModel):
    """A payload the server receives from a client: strict, closed, bounded, and without NUL
    characters anywhere (no database stores them; PostgreSQL refuses them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("NUL characters are not allowed")
        return data


class Outbound(BaseModel):
    """A payload the server sends: clients ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)
