"""Payloads of ``/api/admin/*`` (a tenant's admins: users, webhooks, the calls log) and of a
call's CRM context and note."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from voip_contract.base import Inbound, Outbound
from voip_contract.models import CallContext, CallNote, CallStatus, Party

Role = Literal["member", "admin"]
EMAIL_MAX = 254
NAME_MAX = 200
PASSWORD_MAX = 200
SUBJECT_MAX = 200
URL_MAX = 2000
NOTE_MAX = 2000
OUTCOME_MAX = 64
WEBHOOK_EVENTS = ("call.ringing", "call.answered", "call.ended", "call.note", "recording.ready")
"""Event types an endpoint may subscribe to (``recording.ready`` comes with recordings)."""
WebhookEvent = Literal[
    "call.ringing", "call.answered", "call.ended", "call.note", "recording.ready"
]


class AdminUser(Outbound):
    """A user of the admin's tenant."""

    id: str
    email: str
    display_name: str
    role: Role
    disabled: bool
    external_subject: str | None = None
    created_at: datetime


class AdminUserCreate(Inbound):
    email: str = Field(min_length=3, max_length=EMAIL_MAX, pattern=r"^[^@\s]+@[^@\s]+$")
    display_name: str = Field(min_length=1, max_length=NAME_MAX)
    role: Role = "member"
    password: str | None = Field(default=None, min_length=8, max_length=PASSWORD_MAX)
    """``None``: the user signs in only through the CRM's identity provider."""
    external_subject: str | None = Field(default=None, min_length=1, max_length=SUBJECT_MAX)


class AdminUserUpdate(Inbound):
    display_name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    role: Role | None = None


class WebhookEndpointIn(Inbound):
    url: str = Field(min_length=8, max_length=URL_MAX)
    event_types: list[WebhookEvent] = Field(min_length=1, max_length=len(WEBHOOK_EVENTS))
    enabled: bool = True


class WebhookEndpointUpdate(Inbound):
    url: str | None = Field(default=None, min_length=8, max_length=URL_MAX)
    event_types: list[WebhookEvent] | None = Field(
        default=None, min_length=1, max_length=len(WEBHOOK_EVENTS)
    )
    enabled: bool | None = None


class WebhookEndpointOut(Outbound):
    id: str
    url: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = None
    """Why the server disabled it (failing for 24 h); cleared when an admin enables it."""
    failing_since: datetime | None = None
    created_at: datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str
    """Standard Webhooks signing secret (``whsec_...``): shown this once only."""


class WebhookDeliveryOut(Outbound):
    id: int
    event_id: str
    endpoint_id: str
    event_type: str
    call_id: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    response_code: int | None = None
    last_error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
    next_attempt_at: datetime | None = None


class AdminCall(Outbound):
    """A call of the tenant, as its admins and the CRM's reporting see it."""

    id: str
    caller: Party
    callee: Party
    status: CallStatus
    reason: str | None = None
    created_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    context: CallContext | None = None
    note: CallNote | None = None
