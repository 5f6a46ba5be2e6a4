"""Signing in (``/api/auth/*``): the credentials, the token and the user they give, and the
sign-in sessions of a user."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from voip_contract.base import ID_MAX, Inbound, Outbound


class LoginRequest(Inbound):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    device_id: str | None = Field(default=None, min_length=1, max_length=ID_MAX)
    """The device signing in (as named at connect): sign-out drops its push registration."""


class LogoutRequest(Inbound):
    """``POST /api/auth/logout`` (body optional): the device signing out, if not named at
    sign-in; its push registration goes too."""

    device_id: str | None = Field(default=None, min_length=1, max_length=ID_MAX)


class SignInSession(Outbound):
    """One of ``GET /api/auth/sessions``: a sign-in not revoked and not over."""

    id: str
    device_id: str | None
    created_at: datetime
    renewed_at: datetime
    expires_at: datetime
    current: bool
    """The session of the token that asked."""


class SignInSessionList(Outbound):
    items: list[SignInSession]


class User(Outbound):
    id: str
    tenant_id: str
    email: str
    display_name: str
    role: str = "member"
    """``member`` or ``admin`` (of the tenant: ``/api/admin/*``)."""


class LoginResponse(Outbound):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(ge=0)
    """Seconds the token is good for, from now."""
    user: User
